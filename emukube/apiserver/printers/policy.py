"""The printers for PodDisruptionBudgets (printPodDisruptionBudget) and ResourceQuotas."""

from __future__ import annotations

from .format import since


def budget_cells(obj: dict, now: float) -> list:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    # IntOrString.String(): a number or a percentage as written; N/A when unset
    least, most = spec.get("minAvailable"), spec.get("maxUnavailable")
    return [meta.get("name", ""), "N/A" if least is None else str(least), "N/A" if most is None else str(most),
            int(status.get("disruptionsAllowed") or 0), since(meta.get("creationTimestamp"), now)]


def quota_cells(obj: dict, now: float) -> list:
    """printResourceQuota: each hard resource's used/hard, those named limits.* in LIMIT."""
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    request: list[str] = []
    limit: list[str] = []
    for name in sorted((obj.get("spec") or {}).get("hard") or {}):
        used, hard = (status.get("used") or {}).get(name, "0"), (status.get("hard") or {}).get(name, "0")
        (limit if name.split(".")[0] == "limits" and "." in name else request).append(f"{name}: {used}/{hard}")
    return [meta.get("name", ""), since(meta.get("creationTimestamp"), now), ", ".join(request), ", ".join(limit)]
