"""The printer for PodDisruptionBudgets (printPodDisruptionBudget)."""

from __future__ import annotations

from .format import since


def budget_cells(obj: dict, now: float) -> list:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    # IntOrString.String(): a number or a percentage as written; N/A when unset
    least, most = spec.get("minAvailable"), spec.get("maxUnavailable")
    return [meta.get("name", ""), "N/A" if least is None else str(least), "N/A" if most is None else str(most),
            int(status.get("disruptionsAllowed") or 0), since(meta.get("creationTimestamp"), now)]
