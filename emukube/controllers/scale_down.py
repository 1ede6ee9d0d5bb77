"""The loop's side of scale-down: its pods as the ReplicaSet controller ranks them
(plan/scale_down.py), from the API's Pods (a pod-deletion-cost annotation set with `kubectl
annotate`, restarts, since when ready) and the loop's own, fresher, readiness."""

from __future__ import annotations

import time
from dataclasses import replace

from ..k8s.resources import BY_KEY
from ..plan.scale_down import Candidate, candidate, deletion_order


def _candidate(ctl, pod) -> Candidate:
    obj = ctl.informer.get(BY_KEY["pods"], pod.namespace, pod.name) if ctl.informer is not None else None
    if obj is None:  # not published yet
        return Candidate(name=pod.key, node=pod.node, phase="Running" if pod.running else "Pending",
                         ready=ctl.is_ready(pod))
    found = candidate(obj)
    return replace(found, name=pod.key, node=pod.node or found.node, ready=ctl.is_ready(pod))


def condemned(ctl, pods: list, related: list, count: int) -> list:
    """The `count` pods of `pods` to remove first; `related`: all the owner's live pods (their
    placement ranks pods on crowded nodes first)."""
    if count <= 0:
        return []
    by_key = {p.key: p for p in pods}
    order = deletion_order([_candidate(ctl, p) for p in pods], [_candidate(ctl, p) for p in related], time.time())
    return [by_key[c.name] for c in order[:count]]
