"""Which pods a ReplicaSet removes first when it has too many: the ReplicaSet controller's
ranking (kubernetes pkg/controller/controller_utils.go, ActivePodsWithRanks.Less, with the
PodDeletionCost and LogarithmicScaleDown features on, as they are by default). Pure: from the
v1 Pods' fields to an order.

Ready times and creation times are compared on a logarithmic scale (powers of two of the
nanoseconds since then): pods made within the same doubling are alike, and the uid decides,
as in Kubernetes, so that scale-down spreads over equivalent pods.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from ..k8s.times import epoch

DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


@dataclass(frozen=True)
class Candidate:
    """What the ranking reads of one pod."""

    name: str
    node: str = ""  # spec.nodeName; "" = not scheduled
    phase: str = "Running"
    ready: bool = False
    ready_since: float | None = None  # the Ready condition's lastTransitionTime (epoch seconds)
    restarts: int = 0  # the highest restartCount of its containers
    created: float | None = None  # creationTimestamp (epoch seconds)
    uid: str = ""
    deletion_cost: int = 0


def deletion_cost(annotations: dict | None) -> int:
    """GetDeletionCostFromPodAnnotations: an int32, 0 when absent or not a number."""
    text = (annotations or {}).get(DELETION_COST)
    try:
        value = int(str(text).strip()) if text is not None else 0
    except ValueError:
        return 0
    return value if -2**31 <= value < 2**31 else 0


def candidate(pod: dict) -> Candidate:
    """A v1 Pod as the ranking sees it."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    ready_cond: dict = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    ready = ready_cond.get("status") == "True"
    restarts = max((int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or []), default=0)
    return Candidate(name=meta.get("name", ""), node=spec.get("nodeName") or "", phase=status.get("phase") or "",
                     ready=ready, ready_since=epoch(ready_cond.get("lastTransitionTime")) if ready else None,
                     restarts=restarts, created=epoch(meta.get("creationTimestamp")), uid=meta.get("uid", ""),
                     deletion_cost=deletion_cost(meta.get("annotations")))


def _after_or_zero(t1: float | None, t2: float | None) -> bool:
    if not t1 or not t2:
        return not t1
    return t1 > t2


def _log_rank_diff(t1: float, t2: float, now: float) -> int:
    def rank(t: float) -> int:
        nanos = (now - t) * 1e9
        return int(math.log2(nanos)) if nanos > 0 else -1
    return rank(t1) - rank(t2)


def _by_time(t1: float | None, t2: float | None, a: Candidate, b: Candidate, now: float | None) -> bool:
    """Rules 6 and 8: more recent first; alike on the logarithmic scale: by uid."""
    if not now or not t1 or not t2:
        return _after_or_zero(t1, t2)
    diff = _log_rank_diff(t1, t2, now)
    return a.uid < b.uid if diff == 0 else diff < 0


def less(a: Candidate, b: Candidate, rank_a: int, rank_b: int, now: float | None) -> bool:
    """ActivePodsWithRanks.Less: whether `a` goes before `b`."""
    if a.node != b.node and (not a.node or not b.node):  # 1. unassigned first
        return not a.node
    pa, pb = _PHASE_ORDINAL.get(a.phase, 0), _PHASE_ORDINAL.get(b.phase, 0)
    if pa != pb:  # 2. Pending < Unknown < Running
        return pa < pb
    if a.ready != b.ready:  # 3. not ready first
        return not a.ready
    if a.deletion_cost != b.deletion_cost:  # 4. lower pod-deletion-cost first
        return a.deletion_cost < b.deletion_cost
    if rank_a != rank_b:  # 5. more ready pods of the owner on its node first
        return rank_a > rank_b
    if a.ready and b.ready and a.ready_since != b.ready_since:  # 6. ready for less time first
        return _by_time(a.ready_since, b.ready_since, a, b, now)
    if a.restarts != b.restarts:  # 7. more restarts first
        return a.restarts > b.restarts
    if a.created != b.created:  # 8. newer first
        return _by_time(a.created, b.created, a, b, now)
    return False


def colocated(pods: list[Candidate], related: list[Candidate]) -> list[int]:
    """getPodsRankedByRelatedPodsOnSameNode: for each pod, its owner's active pods on its node."""
    on_node: dict[str, int] = {}
    for p in related:
        on_node[p.node] = on_node.get(p.node, 0) + 1
    return [on_node.get(p.node, 0) for p in pods]


def deletion_order(pods: list[Candidate], related: list[Candidate] | None = None,
                   now: float | None = None) -> list[Candidate]:
    """The pods, those to remove first at the front (a stable sort, as sort.Sort is not, but
    Less decides every pair the controller could tell apart)."""
    ranks = dict(zip((id(p) for p in pods), colocated(pods, pods if related is None else related)))

    def compare(a: Candidate, b: Candidate) -> int:
        if less(a, b, ranks[id(a)], ranks[id(b)], now):
            return -1
        return 1 if less(b, a, ranks[id(b)], ranks[id(a)], now) else 0

    return sorted(pods, key=functools.cmp_to_key(compare))
