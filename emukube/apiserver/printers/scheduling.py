"""The PriorityClass printer."""

from __future__ import annotations

from .format import since


def priorityclass_cells(obj: dict, now: float) -> list:
    meta = obj.get("metadata") or {}
    return [meta.get("name", ""), int(obj.get("value") or 0), bool(obj.get("globalDefault")),
            since(meta.get("creationTimestamp"), now), obj.get("preemptionPolicy") or ""]
