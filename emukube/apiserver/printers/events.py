"""printEvent, for core/v1 Events and for events.k8s.io/v1 Events, which the real API server
stores as the same internal Event (regarding -> involvedObject, note -> message, deprecated*)."""

from __future__ import annotations

from .format import parse_time, since

# events.k8s.io/v1 field -> the core/v1 field it converts to.
_FROM_EVENTS_V1 = {
    "regarding": "involvedObject", "note": "message", "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp", "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
}


def as_core_event(obj: dict) -> dict:
    """A core/v1-shaped view of either kind of Event."""
    if not str(obj.get("apiVersion", "")).startswith("events.k8s.io/") and \
            not any(k in obj for k in _FROM_EVENTS_V1):
        return obj
    out = {k: v for k, v in obj.items() if k not in _FROM_EVENTS_V1}
    for new, old in _FROM_EVENTS_V1.items():
        if new in obj:
            out[old] = obj[new]
    return out


def _source(event: dict) -> str:
    """formatEventSource: component (or reportingController), then ", host" (or reportingInstance)."""
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingController") or ""
    instance = source.get("host") or event.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else component


def event_cells(obj: dict, now: float) -> list:
    event = as_core_event(obj)
    involved = event.get("involvedObject") or {}
    # A zero (unset) firstTimestamp falls back to eventTime, a zero lastTimestamp to the first.
    first = since(event.get("firstTimestamp"), now) if parse_time(event.get("firstTimestamp")) is not None \
        else since(event.get("eventTime"), now)
    last = since(event.get("lastTimestamp"), now) if parse_time(event.get("lastTimestamp")) is not None \
        else first
    count = int(event.get("count") or 0)
    series = event.get("series")
    if series is not None:
        last = since(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:  # singleton events of the new API carry no count
        count = 1
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [last, event.get("type", ""), event.get("reason", ""), target, involved.get("fieldPath", ""),
            _source(event), str(event.get("message", "")).strip(), first, count,
            (event.get("metadata") or {}).get("name", "")]
