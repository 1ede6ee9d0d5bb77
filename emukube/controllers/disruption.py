"""The disruption controller: each PodDisruptionBudget's status (currentHealthy, desiredHealthy,
expectedPods, disruptionsAllowed, DisruptionAllowed) from the API's Pods and their controllers'
scale, written through /status when it changed (the rules: plan/disruption.py)."""

from __future__ import annotations

import json
import time

from ..k8s.client import ApiError
from ..k8s.resources import BY_KEY
from ..plan.disruption import budget_status, selector_matches

BUDGETS = BY_KEY["poddisruptionbudgets.policy"]
_SCALED = ("ReplicaSet", "Deployment", "StatefulSet")


def _controller(obj: dict) -> tuple[str, str] | None:
    ref = next((r for r in (obj.get("metadata") or {}).get("ownerReferences") or [] if r.get("controller")), None)
    return (ref.get("kind", ""), ref.get("name", "")) if ref else None


def scale_finder(cached: list[dict]):
    """scale_of(pod) for budget_status: the finders of the disruption controller (a Deployment's
    through its ReplicaSet, a ReplicaSet, a StatefulSet)."""
    index = {(o["kind"], o["metadata"].get("namespace", "default"), o["metadata"]["name"]): o
             for o in cached if o.get("kind") in _SCALED}

    def scale_of(pod: dict) -> tuple[str, int] | None:
        ns = pod["metadata"].get("namespace", "default")
        ref = _controller(pod)
        owner = index.get((ref[0], ns, ref[1])) if ref else None
        if owner is not None and owner["kind"] == "ReplicaSet" and (up := _controller(owner)) is not None:
            owner = index.get((up[0], ns, up[1])) if up[0] == "Deployment" else owner
        if owner is None:
            return None
        return f"{owner['kind']}/{ns}/{owner['metadata']['name']}", int(owner["spec"].get("replicas", 1))

    return scale_of


def sync_budgets(ctl) -> None:
    if ctl.informer is None or ctl.api is None:
        return
    cached, _, _ = ctl.informer.objects()
    budgets = [o for o in cached if o.get("kind") == "PodDisruptionBudget"]
    if not budgets:
        return
    pods = [o for o in cached if o.get("kind") == "Pod"]
    scale_of, now = scale_finder(cached), time.time()
    for budget in budgets:
        meta = budget["metadata"]
        ns = meta.get("namespace", "default")
        selected = [p for p in pods if p["metadata"].get("namespace", "default") == ns and
                    selector_matches((budget.get("spec") or {}).get("selector"), p["metadata"].get("labels") or {})]
        status = budget_status(budget, selected, scale_of, now)
        if status == budget.get("status"):
            continue
        try:
            ctl.api.update(BUDGETS, {**budget, "status": status}, sub="status")
        except (ApiError, OSError) as exc:  # deleted or changed meanwhile (an eviction): the next tick sees it
            if getattr(exc, "code", None) not in (404, 409):
                ctl.out(json.dumps({"type": "Warning", "message": f"PodDisruptionBudget {meta['name']}: {exc}"}))
