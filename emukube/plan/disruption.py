"""PodDisruptionBudgets: the status the disruption controller keeps (kubernetes
pkg/controller/disruption/disruption.go) and the eviction subresource's verdict
(pkg/registry/core/pod/storage/eviction.go). Pure: from v1 objects and a time to dicts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..k8s.times import epoch
from ..k8s.times import timestamp as _stamp
from .selectors import label_selector

DELETION_TIMEOUT = 120.0  # DeletionTimeout: an approved eviction counts as done this long
REFUSED = "Cannot evict pod as it would violate the pod's disruption budget."
MANY = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
CONDITION = "DisruptionAllowed"


def selector_matches(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector; a missing or empty one matches nothing (as for PDBs, not everything)."""
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return False
    return label_selector(selector, labels)


def budgets_of(pod: dict, budgets: list[dict]) -> list[dict]:
    """The PDBs of the pod's namespace whose selector matches it."""
    meta = pod.get("metadata") or {}
    ns, labels = meta.get("namespace", "default"), meta.get("labels") or {}
    return [b for b in budgets if (b.get("metadata") or {}).get("namespace", "default") == ns
            and selector_matches((b.get("spec") or {}).get("selector"), labels)]


def is_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def scaled(value: int | str, total: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent, rounding up."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


class NoController(Exception):
    """A pod the budget needs the scale of has no controller with one."""


def expected(budget: dict, pods: list[dict], scale_of: Callable[[dict], tuple[str, int] | None]
             ) -> tuple[int, int]:
    """getExpectedPodCount: (expectedPods, desiredHealthy). `scale_of(pod)`: (its controller's
    key, replicas), None for a pod without a controller."""
    spec = budget.get("spec") or {}

    def total() -> int:
        scales: dict[str, int] = {}
        for pod in pods:
            found = scale_of(pod)
            if found is None:
                if (pod.get("metadata") or {}).get("ownerReferences"):
                    raise NoController(f'found no controllers for pod "{pod["metadata"].get("name", "")}"')
                continue  # unmanaged: left out
            scales[found[0]] = found[1]
        return sum(scales.values())

    if spec.get("maxUnavailable") is not None:
        count = total()
        return count, max(0, count - scaled(spec["maxUnavailable"], count))
    least = spec.get("minAvailable")
    if isinstance(least, int):
        return len(pods), least
    if least is not None:
        count = total()
        return count, scaled(least, count)
    return 0, 0


def _disrupted(budget: dict, pods: list[dict], now: float) -> dict[str, str]:
    """buildDisruptedPodMap: approved evictions still expected, of pods not yet being deleted."""
    given = (budget.get("status") or {}).get("disruptedPods") or {}
    kept = {}
    for pod in pods:
        meta = pod.get("metadata") or {}
        name = meta.get("name", "")
        if meta.get("deletionTimestamp") or name not in given:
            continue
        if epoch(given[name]) + DELETION_TIMEOUT >= now:
            kept[name] = given[name]
    return kept


def _healthy(pods: list[dict], disrupted: dict[str, str], now: float) -> int:
    count = 0
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        when = disrupted.get(meta.get("name", ""))
        if when is not None and epoch(when) + DELETION_TIMEOUT > now:
            continue
        count += is_ready(pod)
    return count


def set_condition(status: dict, generation: int, now: float, reason: str = "", message: str = "") -> None:
    """UpdateDisruptionAllowedCondition (apimeta.SetStatusCondition: the transition time moves
    only when the status does)."""
    allowed = (status.get("disruptionsAllowed") or 0) > 0
    value = "True" if allowed and not reason else "False"
    reason = reason or ("SufficientPods" if allowed else "InsufficientPods")
    conditions = [dict(c) for c in status.get("conditions") or []]
    old = next((c for c in conditions if c.get("type") == CONDITION), None)
    since = old["lastTransitionTime"] if old and old.get("status") == value and old.get("lastTransitionTime") \
        else _stamp(now)
    new = {"type": CONDITION, "status": value, "observedGeneration": generation, "lastTransitionTime": since,
           "reason": reason, "message": message}
    status["conditions"] = [new if c is old else c for c in conditions] if old else [*conditions, new]


def budget_status(budget: dict, pods: list[dict], scale_of: Callable[[dict], tuple[str, int] | None],
                  now: float) -> dict:
    """The disruption controller's status of one PDB over the pods its selector matches (trySync,
    updatePdbStatus; failSafe when a pod's controller cannot be found)."""
    generation = (budget.get("metadata") or {}).get("generation") or 1
    previous = budget.get("status") or {}
    try:
        count, desired = expected(budget, pods, scale_of)
    except NoController as exc:
        status = {**previous, "disruptionsAllowed": 0}
        status.setdefault("observedGeneration", previous.get("observedGeneration", 0))
        set_condition(status, status["observedGeneration"], now, "SyncFailed", str(exc))
        return status
    disrupted = _disrupted(budget, pods, now)
    healthy = _healthy(pods, disrupted, now)
    allowed = healthy - desired if count > 0 and healthy - desired > 0 else 0
    status = {"observedGeneration": generation, "disruptionsAllowed": allowed, "currentHealthy": healthy,
              "desiredHealthy": desired, "expectedPods": count,
              "conditions": previous.get("conditions") or []}
    if disrupted:
        status["disruptedPods"] = disrupted
    set_condition(status, generation, now)
    return status


@dataclass(frozen=True)
class Verdict:
    """What the eviction subresource does: delete the pod (`budget`: with this PDB status
    written first), or refuse (`code`, `reason`, `message`, `cause`)."""

    delete: bool
    budget: dict | None = None
    code: int = 0
    reason: str = ""
    message: str = ""
    cause: str = ""
    retry_after: int = 0


def evict(pod: dict, budgets: list[dict], now: float) -> Verdict:
    """EvictionREST.Create's decision for a pod and the PDBs of its namespace."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    if status.get("phase") in ("Succeeded", "Failed", "Pending") or meta.get("deletionTimestamp"):
        return Verdict(delete=True)  # canIgnorePDB: it disrupts nothing any more
    mine = budgets_of(pod, budgets)
    if len(mine) > 1:
        return Verdict(delete=False, code=500, reason="", message=MANY)
    if not mine:
        return Verdict(delete=True)
    budget = mine[0]
    name = budget["metadata"]["name"]
    st = budget.get("status") or {}
    if not is_ready(pod) and st.get("currentHealthy", 0) >= st.get("desiredHealthy", 0) > 0:
        return Verdict(delete=True)  # not counted as healthy: taking it costs the budget nothing
    if (st.get("observedGeneration") or 0) < ((budget.get("metadata") or {}).get("generation") or 1):
        return Verdict(delete=False, code=429, reason="TooManyRequests", message=REFUSED, retry_after=10,
                       cause=f"The disruption budget {name} is still being processed by the server.")
    allowed = st.get("disruptionsAllowed") or 0
    if allowed < 0:
        return Verdict(delete=False, code=403, reason="Forbidden",
                       message=f'poddisruptionbudgets.policy "{name}" is forbidden: '
                               "pdb disruptions allowed is negative")
    if allowed == 0:
        return Verdict(delete=False, code=429, reason="TooManyRequests", message=REFUSED,
                       cause=f"The disruption budget {name} needs {st.get('desiredHealthy', 0)} healthy pods "
                             f"and has {st.get('currentHealthy', 0)} currently")
    new = {**st, "disruptionsAllowed": allowed - 1,
           "disruptedPods": {**(st.get("disruptedPods") or {}), meta.get("name", ""): _stamp(now)}}
    if allowed - 1 == 0:
        set_condition(new, new.get("observedGeneration") or 0, now)
    return Verdict(delete=True, budget={**budget, "status": new})
