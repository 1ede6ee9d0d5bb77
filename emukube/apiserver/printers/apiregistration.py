"""The APIService printer (kube-aggregator's REST ConvertToTable): the Service it delegates to, or
Local, and its Available condition, with the reason when it is not True."""

from __future__ import annotations

from .format import since

SERVICE_DOC = "The reference to the service that hosts this API endpoint."
AVAILABLE_DOC = "Whether this service is available."


def apiservice_cells(obj: dict, now: float) -> list:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    ref = spec.get("service")
    service = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if isinstance(ref, dict) else "Local"
    status = "Unknown"
    condition = next((c for c in (obj.get("status") or {}).get("conditions") or []
                      if c.get("type") == "Available"), None)
    if condition is not None:
        status = condition.get("status", "")
        if status != "True" and condition.get("reason"):
            status = f"{status} ({condition['reason']})"
    return [meta.get("name", ""), service, status, since(meta.get("creationTimestamp"), now)]
