"""The RuntimeClass printer (printRuntimeClass)."""

from __future__ import annotations

from .format import since


def runtime_class_cells(obj: dict, now: float) -> list:
    meta = obj.get("metadata") or {}
    return [meta.get("name", ""), obj.get("handler") or "", since(meta.get("creationTimestamp"), now)]
