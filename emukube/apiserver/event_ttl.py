"""Events expire an hour after they were last written, as the API server's `--event-ttl`
(default 1h) has etcd expire them. Without it a cluster left running (a CronJob a minute,
rollouts, restarts) kept every Event it ever had: the store grew, and `kubectl get events`
listed more each time.

The hour runs from the object's last write: its creationTimestamp or the latest time in its
managedFields (both set by this server), not the Event's own timestamps, which a client writes."""

from __future__ import annotations

import asyncio
import logging
import time

from ..k8s.resources import BY_KEY
from ..k8s.times import epoch
from . import errors
from .objects import DeleteOpts, Registry

EVENT_TTL = 3600.0
SWEEP_EVERY = 60.0
# Deletions per sweep: each is a store write on the server's event loop; thousands at once
# (an hour after a large scale-up) would hold every request for a second or more.
SWEEP_LIMIT, NEXT_SWEEP_SOON = 200, 0.5
log = logging.getLogger("emukube.apiserver.event_ttl")


def last_written(event: dict) -> float:
    meta = event.get("metadata") or {}
    times = [meta.get("creationTimestamp"), *(m.get("time") for m in meta.get("managedFields") or [])]
    return max((epoch(t) for t in times), default=0.0)


def expire_events(registry: Registry, now: float, ttl: float = EVENT_TTL, limit: int = SWEEP_LIMIT) -> int:
    """Delete up to `limit` Events last written more than `ttl` seconds before `now`; returns how many."""
    res = BY_KEY["events"]
    gone = 0
    for event in registry.list(res, None)[0]:
        written = last_written(event)
        if gone < limit and written and now - written > ttl:
            try:
                registry.delete(res, event["metadata"].get("namespace"), event["metadata"]["name"], DeleteOpts())
                gone += 1
            except errors.ApiError as exc:
                if exc.code != 404:  # deleted meanwhile: gone either way
                    raise
    return gone


async def keep_expiring(registry: Registry) -> None:
    """The server's background task (apiserver/tasks.py): a sweep at start, then every minute.
    At start too: a server restarted after a while holds old Events."""
    while True:
        gone = 0
        try:
            gone = expire_events(registry, time.time())
        except Exception:  # one failed sweep must not stop the next
            log.exception("expiring events failed")
        await asyncio.sleep(NEXT_SWEEP_SOON if gone >= SWEEP_LIMIT else SWEEP_EVERY)
