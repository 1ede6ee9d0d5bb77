"""The cluster's Events, read from its API like `kubectl get events -A [-w]`: the controller
records what it does to objects there (controller/publisher.py). Following watches from a
resourceVersion, so it goes on across API server restarts and controller replacements (the
store keeps the Events and their resourceVersions)."""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from ..k8s.client import ApiError, KubeClient
from ..k8s.resources import BY_KEY

EVENTS = BY_KEY["events"]
HEADER = f"{'TIME':<22}{'TYPE':<9}{'REASON':<16}{'OBJECT':<40}MESSAGE"


@dataclass(frozen=True)
class Event:
    time: str
    type: str
    object: str  # "pod/web-x", "service/web", "deployment/web"
    reason: str
    message: str
    namespace: str = ""
    source: str = ""
    count: int = 1  # the same event again raises the count of one Event, as the event recorder does

    def line(self) -> str:
        again = f" (x{self.count})" if self.count > 1 else ""
        return f"{self.time:<22}{self.type:<9}{self.reason:<16}{self.object:<40}{self.message}{again}"


def from_api(item: dict) -> Event:
    involved = item.get("involvedObject") or {}
    source = item.get("source") or {}
    return Event(time=item.get("lastTimestamp") or item.get("eventTime") or item.get("firstTimestamp") or "",
                 type=item.get("type", ""),
                 object=f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
                 reason=item.get("reason", ""), message=item.get("message", ""),
                 namespace=involved.get("namespace") or (item.get("metadata") or {}).get("namespace", ""),
                 source=source.get("component") or item.get("reportingComponent") or "",
                 count=int(item.get("count") or 1))


def _order(item: dict) -> tuple:
    return (item.get("lastTimestamp") or "", int((item.get("metadata") or {}).get("resourceVersion") or 0))


def read(api: KubeClient) -> tuple[list[Event], str]:
    """Every Event, oldest first, and the resourceVersion to follow from."""
    found = api.list(EVENTS)
    items = sorted(found.get("items", []), key=_order)
    return [from_api(i) for i in items], (found.get("metadata") or {}).get("resourceVersion", "")


def follow(api_of: Callable[[], KubeClient | None], since: str, poll: float = 0.5,
           until: Callable[[], bool] = lambda: False) -> Iterator[Event]:
    """Events recorded after resourceVersion `since`, as they come, until the cluster is gone
    (api_of returns None) or until() is true. An Event whose count went up comes again."""
    rv = since
    while not until():
        api = api_of()
        if api is None:
            return
        try:
            for change in api.watch(EVENTS, rv, timeout=max(1, int(poll * 10))):
                obj = change.get("object") or {}
                rv = (obj.get("metadata") or {}).get("resourceVersion", rv)
                if change.get("type") in ("ADDED", "MODIFIED"):
                    yield from_api(obj)
                if until():
                    return
        except ApiError as exc:
            if exc.code != 410:
                raise
            rv = read(api)[1]  # compacted away: what is recorded from now on
        except (OSError, http.client.HTTPException):
            time.sleep(poll)  # the API server restarting with its controller
