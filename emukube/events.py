"""The controller's events (/state/events.log in the cluster's state volume), like
`kubectl get events [-w]`. Following reads the file again rather than the controller's log
stream, so it goes on across controller replacements (every `apply` replaces it)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from docker.errors import DockerException

from . import cluster_ops as ops
from .runtime import engine

EVENTS_PATH = "/state/events.log"
HEADER = f"{'TIME':<22}{'TYPE':<9}{'REASON':<16}{'OBJECT':<40}MESSAGE"


@dataclass(frozen=True)
class Event:
    time: str
    type: str
    object: str
    reason: str
    message: str

    def line(self) -> str:
        return f"{self.time:<22}{self.type:<9}{self.reason:<16}{self.object:<40}{self.message}"


def parse(raw: bytes) -> tuple[list[Event], int]:
    """Events in complete lines, and how many bytes they took (a line being written is left)."""
    end = raw.rfind(b"\n") + 1
    events = []
    for line in raw[:end].decode(errors="replace").splitlines():
        try:
            e = json.loads(line)
            events.append(Event(e["time"], e["type"], e["object"], e["reason"], e["message"]))
        except (ValueError, KeyError, TypeError):
            continue
    return events, end


def _raw(client, cluster: str) -> bytes | None:
    """The whole log; None when the cluster (or, for a moment, its controller) is not there."""
    controller = engine.get_container(client, ops.controller_name(cluster))
    if controller is None:
        return None
    try:
        return engine.read_file(controller, EVENTS_PATH) or b""
    except DockerException:
        return None


def read(client, cluster: str) -> tuple[list[Event], int]:
    ops.require(ops.read_state(client, cluster))
    return parse(_raw(client, cluster) or b"")


def offset(client, cluster: str) -> int:
    """Where the log ends now (0 for a cluster that does not exist yet)."""
    return parse(_raw(client, cluster) or b"")[1]


def follow(client, cluster: str, since: int = 0, poll: float = 0.5,
           until: Callable[[], bool] = lambda: False) -> Iterator[Event]:
    """Events after byte `since`, as they come, until the cluster is gone or until() is true."""
    missing_since = None
    while not until():
        raw = _raw(client, cluster)
        if raw is None:
            # Between two controllers for a moment; gone for good when the network is gone.
            missing_since = missing_since or time.monotonic()
            if time.monotonic() - missing_since > 5 and not ops.read_state(client, cluster).exists:
                return
        else:
            missing_since = None
            if len(raw) < since:
                since = 0  # a new cluster of the same name started a new log
            events, used = parse(raw[since:])
            since += used
            yield from events
        time.sleep(poll)


def for_object(events: list[Event], names: set[str]) -> list[Event]:
    """The events of the given objects ("pod/web-x", "service/web" ...)."""
    return [e for e in events if e.object in names]
