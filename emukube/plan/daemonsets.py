"""The DaemonSet controller's decisions: which nodes run a daemon pod, which pods it makes and
removes, and its rolling update. Pure: from the DaemonSet, the nodes and its pods as plain data.

Rules read from kubernetes' pkg/controller/daemon (daemon_controller.go manage,
NodeShouldRunDaemonPod; update.go rollingUpdate) and pkg/controller/daemon/util
(AddOrUpdateDaemonPodTolerations, ReplaceDaemonSetPodNodeNameNodeAffinity)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

from .nodes import Node, selected, untolerated
from .workloads import PodPlan, new_pod_for, percent_or_int

# The tolerations the controller adds to every daemon pod: a daemon stays on a node that is not
# ready, unreachable, under pressure or cordoned.
_TOLERATIONS = (("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
                ("node.kubernetes.io/disk-pressure", "NoSchedule"),
                ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                ("node.kubernetes.io/pid-pressure", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule"))
_HOST_NETWORK_TOLERATION = ("node.kubernetes.io/network-unavailable", "NoSchedule")


def with_daemon_tolerations(spec: dict) -> dict:
    """The pod spec with the controller's tolerations added (those already there kept)."""
    spec = copy.deepcopy(spec)
    tolerations = list(spec.get("tolerations") or [])
    wanted = list(_TOLERATIONS) + ([_HOST_NETWORK_TOLERATION] if spec.get("hostNetwork") else [])
    for key, effect in wanted:
        if not any(t.get("key") == key and t.get("effect") == effect and t.get("operator") == "Exists"
                   for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": effect})
    spec["tolerations"] = tolerations
    return spec


def pod_spec_for(template_spec: dict, node: str) -> dict:
    """A daemon pod's spec for the node: the tolerations, and its required node affinity
    replaced by one term that names the node, so that the scheduler puts it there."""
    spec = with_daemon_tolerations(template_spec)
    affinity = spec.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}
    return spec


def daemon_pod(ds: dict, node: str) -> PodPlan:
    """A new pod of the DaemonSet for the node: its labels (the revision's hash, the
    template's generation) and its spec as the controller makes them."""
    plan = new_pod_for(ds)
    labels = {**plan.labels, "controller-revision-hash": plan.template_hash,
              "pod-template-generation": str(ds["metadata"].get("generation") or 1)}
    return replace(plan, labels=labels, spec=pod_spec_for(plan.spec, node), node=node)


def should_run(template_spec: dict, node: Node) -> tuple[bool, bool]:
    """(should run, should continue running) a daemon pod on the node: its nodeSelector and
    node affinity, and the node's taints the daemon pod does not tolerate: NoSchedule keeps a
    new pod off, NoExecute removes one. A stopped node runs nothing (emukube stops its pods)."""
    if node.stopped:
        return False, False
    spec = with_daemon_tolerations(template_spec)
    if not selected(spec, node):
        return False, False
    if untolerated(spec, node.taints, ("NoExecute",)):
        return False, False
    return not untolerated(spec, node.taints, ("NoSchedule",)), True


def desired(ds: dict, nodes: list[Node]) -> int:
    """desiredNumberScheduled: how many nodes should run the daemon."""
    template_spec = (ds["spec"].get("template") or {}).get("spec") or {}
    return sum(should_run(template_spec, n)[0] for n in nodes)


@dataclass(frozen=True)
class DaemonPod:
    """One of the set's pods, as the decision needs it."""

    name: str
    node: str
    current: bool  # made from the set's current template
    available: bool  # ready (for minReadySeconds)
    created: str = ""  # sorts oldest first; a pod being made sorts last


@dataclass
class DaemonActions:
    create_on: list[str] = field(default_factory=list)  # node names
    delete: list[tuple[str, str]] = field(default_factory=list)  # (pod name, why)


def rollout_limits(ds: dict, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as numbers of nodes (percentages of the nodes that should
    run the daemon, rounded up); never both zero."""
    rolling = ((ds["spec"].get("updateStrategy") or {}).get("rollingUpdate")) or {}
    surge = percent_or_int(rolling.get("maxSurge", 0), desired, round_up=True)
    unavailable = percent_or_int(rolling.get("maxUnavailable", 1), desired, round_up=True)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def decide(ds: dict, nodes: list[Node], pods: list[DaemonPod]) -> DaemonActions:
    """manage, then rollingUpdate, of one sync: a pod for every node that should run one,
    none on the others, one per node (the oldest kept), and old pods replaced within
    maxUnavailable (or, with maxSurge, new pods made beside the old ones first)."""
    template_spec = (ds["spec"].get("template") or {}).get("spec") or {}
    by_node: dict[str, list[DaemonPod]] = {}
    for pod in sorted(pods, key=lambda p: (p.created or "~", p.name)):
        by_node.setdefault(pod.node, []).append(pod)
    verdicts = {n.name: should_run(template_spec, n) for n in nodes}
    out = DaemonActions()
    for node_name, mine in sorted(by_node.items()):
        if not verdicts.get(node_name, (False, False))[1]:
            out.delete += [(p.name, f"node {node_name} no longer runs the daemon") for p in mine]
    desired = [n.name for n in nodes if verdicts[n.name][0]]
    rolling = ((ds["spec"].get("updateStrategy") or {}).get("type") or "RollingUpdate") == "RollingUpdate"
    surge, unavailable = rollout_limits(ds, len(desired)) if rolling else (0, 0)
    for node_name in sorted(n.name for n in nodes if verdicts[n.name][1]):
        mine = by_node.get(node_name, [])
        if not mine:
            if verdicts[node_name][0]:
                out.create_on.append(node_name)
            continue
        # One pod per node, the oldest kept; while surging, the oldest old and the oldest new.
        keep = [mine[0]]
        if surge and not mine[0].current:
            keep += [p for p in mine[1:] if p.current][:1]
        out.delete += [(p.name, "more than one daemon pod on the node") for p in mine if p not in keep]
        by_node[node_name] = keep
    if rolling:
        _roll(by_node, [n for n in sorted(verdicts) if verdicts[n][1]], surge, unavailable, out)
    return out


def _roll(by_node: dict[str, list[DaemonPod]], nodes: list[str], surge: int, unavailable: int,
          out: DaemonActions) -> None:
    """rollingUpdate: old pods replaced, at most maxUnavailable nodes without an available
    daemon at a time; with maxSurge, a new pod made beside each old one (at most maxSurge at a
    time), the old one removed once the new one is available."""
    count = 0
    replace_now: list[str] = []
    candidates: list[str] = []
    for node in nodes:
        mine = by_node.get(node, [])
        old = next((p for p in mine if not p.current), None)
        new = next((p for p in mine if p.current), None)
        if surge:
            if old is None:
                continue
            if new is None:
                if not old.available:
                    replace_now.append(node)
                elif count < surge:
                    candidates.append(node)
            elif not new.available:
                count += 1
            else:
                out.delete.append((old.name, "rolling update: old template"))
            continue
        if old is None or new is not None:
            # No pod yet, or both being swapped by the manage step: unavailable; a new pod
            # counts as unavailable until it is available.
            count += 0 if old is None and new is not None and new.available else 1
        elif not old.available:  # an old pod that is not available anyway: replaced at once
            out.delete.append((old.name, "rolling update: old template"))
            count += 1
        elif count < unavailable:
            candidates.append(old.name)
    room = max(0, (surge or unavailable) - count)
    if surge:
        out.create_on += replace_now + candidates[:room]
    else:
        out.delete += [(name, "rolling update: old template") for name in candidates[:room]]
