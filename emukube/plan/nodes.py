"""Emulated nodes: names, addresses, state and where pods go. Pure.

Every node k has an address inside the cluster, its INTERNAL-IP (10.X.0.(20+k)), held by a node
proxy container that listens there on every NodePort and hostPort, the way kube-proxy and the
kubelet's portmap open them on every node: pods reach them as on Kubernetes. On the host, the
single node (the default) is the `--address` (NodePorts published there by the Services'
proxies); with `--nodes N` each node gets an address on the host's loopback (127.0.(2+i).k,
i = cluster index) where its node proxy publishes its NodePorts.

A node's desired state (labels, cordoned, stopped, taints) is its `Node` object in the API:
`kubectl label|cordon|taint` and `emukube node stop` write it there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .network import ClusterNet
from .selectors import holds

MAX_NODES = 50
STOPPED_ANNOTATION = "emukube.io/stopped"
UNSCHEDULABLE, UNREACHABLE = "node.kubernetes.io/unschedulable", "node.kubernetes.io/unreachable"
REPELS = ("NoSchedule", "NoExecute")  # the effects that keep new pods off (PreferNoSchedule only prefers)
NOT_READY = "node.kubernetes.io/not-ready"
DEFAULT_TOLERATION_SECONDS = 300


def with_default_tolerations(spec: dict) -> list:
    """The pod's tolerations after the DefaultTolerationSeconds admission plugin: one for 300 s
    of each of a not-ready and an unreachable node's NoExecute taint, where none tolerates it."""
    tolerations = list(spec.get("tolerations") or [])
    for key in (NOT_READY, UNREACHABLE):
        if not any(t.get("key") in (key, None, "") and t.get("effect") in ("NoExecute", None, "")
                   for t in tolerations if isinstance(t, dict)):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS})
    return tolerations


@dataclass(frozen=True)
class Node:
    name: str
    internal_ip: str  # in the cluster: its node proxy's address
    host_ip: str  # where its NodePorts listen on the host
    labels: dict = field(hash=False, default_factory=dict)
    unschedulable: bool = False  # cordoned
    stopped: bool = False  # `emukube node stop`: no pods, no NodePorts
    # users' taints (`kubectl taint`), as in spec.taints; those of the cordon and the stop are derived
    taints: tuple = field(hash=False, default=())

    @property
    def status(self) -> str:
        text = "NotReady" if self.stopped else "Ready"
        return text + (",SchedulingDisabled" if self.unschedulable else "")


def node_name(k: int) -> str:
    return f"node-{k}"


def plan_nodes(net: ClusterNet, count: int, objects: list[dict], address: str = "127.0.0.1") -> list[Node]:
    """The cluster's nodes, with what `cordon` / `node stop` recorded as Node objects."""
    declared = {o["metadata"]["name"]: o for o in objects if o.get("kind") == "Node"}
    nodes = []
    base = ".".join(net.gateway.split(".")[:3])
    for k in range(1, max(1, count) + 1):
        name = node_name(k)
        many = count > 1
        nodes.append(Node(
            name=name,
            internal_ip=f"{base}.{20 + k}",
            host_ip=f"127.0.{2 + net.index}.{k}" if many else address,
            **declared_state(name, declared.get(name, {})),
        ))
    return nodes


def declared_state(name: str, obj: dict) -> dict:
    """What users write on a Node object, as Node fields: its labels (over the defaults), the
    cordon (spec.unschedulable), `node stop` (the annotation) and their taints."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    return {"labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", **(meta.get("labels") or {})},
            "unschedulable": bool(spec.get("unschedulable")),
            "stopped": (meta.get("annotations") or {}).get(STOPPED_ANNOTATION) == "true",
            "taints": tuple(t for t in spec.get("taints") or []
                            if isinstance(t, dict) and t.get("key") not in (UNSCHEDULABLE, UNREACHABLE))}


def matching(tolerations: list[dict], taint: dict) -> list[dict]:
    """The pod's tolerations that match the taint (the scheduler's rule: an empty effect
    matches every effect, an empty key with Exists every key)."""
    out = []
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint.get("effect"):
            continue
        if t.get("key") and t["key"] != taint.get("key"):
            continue
        if not t.get("key") and t.get("operator") != "Exists":
            continue
        if t.get("operator") == "Exists" or (t.get("value") or "") == (taint.get("value") or ""):
            out.append(t)
    return out


def tolerates(tolerations: list[dict], taint: dict) -> bool:
    return bool(matching(tolerations, taint))


def taint_id(taint: dict) -> tuple[str, str, str]:
    return taint.get("key", ""), taint.get("value", "") or "", taint.get("effect", "")


def untolerated(spec: dict, taints: Iterable[dict], effects: tuple[str, ...] = REPELS) -> str:
    """"" when the pod tolerates every taint of these effects, else the first one it does not,
    as the scheduler writes it: {key: value}."""
    for taint in taints:
        if taint.get("effect") in effects and not tolerates(spec.get("tolerations") or [], taint):
            return f"{{{taint.get('key', '')}: {taint.get('value', '')}}}"
    return ""


def evicted(spec: dict, node: Node, ages: dict[tuple[str, str, str], float] | None = None) -> str:
    """Why a pod running on the node must leave it now, else "": what Kubernetes' taint
    eviction controller evicts. A NoExecute taint it does not tolerate; or one it tolerates
    for tolerationSeconds (the least of its matching tolerations'), which `ages` (seconds
    since each taint came, by taint_id) says have passed. No tolerationSeconds: for good."""
    taint = untolerated(spec, node.taints, ("NoExecute",))
    if taint:
        return f"untolerated taint {taint}"
    for t in node.taints:
        if t.get("effect") != "NoExecute":
            continue
        limits = [int(m["tolerationSeconds"]) for m in matching(spec.get("tolerations") or [], t)
                  if m.get("tolerationSeconds") is not None]
        if limits and (ages or {}).get(taint_id(t), 0.0) >= max(0, min(limits)):
            return f"taint {{{t.get('key', '')}: {t.get('value', '')}}} tolerated for {max(0, min(limits))}s"
    return ""


def fits(spec: dict, node: Node) -> str:
    """"" when a pod with this spec may run on the node, else why not (scheduler's wording)."""
    unreachable = "had untolerated taint {node.kubernetes.io/unreachable: }"
    if spec.get("nodeName"):  # bypasses the scheduler, so a cordon does not apply
        if spec["nodeName"] != node.name:
            return "didn't match Pod's node name"
        return unreachable if node.stopped else ""
    if node.stopped:  # tolerated or not: a stopped node runs nothing
        return unreachable
    cordon = [{"key": UNSCHEDULABLE, "effect": "NoSchedule"}] if node.unschedulable else []
    if taint := untolerated(spec, cordon + list(node.taints)):
        return f"had untolerated taint {taint}"
    if not selected(spec, node):
        return "didn't match Pod's node affinity/selector"
    return ""


def selected(spec: dict, node: Node) -> bool:
    """Whether the node passes the pod's nodeSelector and its required node affinity (the
    scheduler's NodeAffinity filter): every nodeSelector label, and one of the terms."""
    wanted = spec.get("nodeSelector") or {}
    if any(node.labels.get(k) != v for k, v in wanted.items()):
        return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if not isinstance(required, dict):
        return True
    return any(_term_matches(term, node) for term in required.get("nodeSelectorTerms") or [] if isinstance(term, dict))


def _term_matches(term: dict, node: Node) -> bool:
    """A NodeSelectorTerm: all its expressions on the node's labels and all its fields
    (metadata.name, the only field selectable) hold. A term with neither matches no node."""
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False
    return all(holds(r, node.labels) for r in expressions) and \
        all(r.get("key") == "metadata.name" and holds(r, {"metadata.name": node.name}) for r in fields)


def unschedulable_message(nodes: int, why: str) -> str:
    """The scheduler's FailedScheduling message when no node passes its filters: the reasons,
    then what its preemption found (none of these reasons goes away by removing a pod)."""
    return (f"0/{nodes} nodes are available: {why}. preemption: 0/{nodes} nodes are available: "
            f"{nodes} Preemption is not helpful for scheduling.")


def schedule(spec: dict, nodes: list[Node], owner_load: dict[str, int], load: dict[str, int]) -> tuple[str, str]:
    """(node name, "") for a new pod, or ("", the scheduler's FailedScheduling message).

    Spreads like the default scheduler: fewest pods of the same owner first, then fewest pods.
    A pod naming a stopped node with nodeName stays pending, as on a real cluster."""
    reasons: dict[str, int] = {}
    candidates = []
    for node in nodes:
        why = fits(spec, node)
        if why:
            reasons[why] = reasons.get(why, 0) + 1
        else:
            candidates.append(node)
    if not candidates:
        detail = ", ".join(f"{n} node(s) {why}" for why, n in sorted(reasons.items()))
        return "", unschedulable_message(len(nodes), detail)
    best = min(candidates, key=lambda n: (owner_load.get(n.name, 0), load.get(n.name, 0), n.name))
    return best.name, ""


def node_object(name: str) -> dict:
    """A Node object to record cordon/stop state in the applied objects."""
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {}}
