"""What the controller writes back to the API server, decided by pure functions: Pods
(publish_pods), workload status and ReplicaSets (publish_workloads), Nodes and Events (here),
and which writes a tick needs (diff). No Docker, no HTTP: the caller does the I/O.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import uuid
from collections import namedtuple

from ..k8s import reasons
from ..k8s.times import epoch as _seconds
from ..k8s.times import timestamp
from ..plan.nodes import STOPPED_ANNOTATION, declared_state

KUBELET_VERSION = "v1.35.0"
CONTROL_PLANE = "node-1"  # kind labels its first node control-plane; emukube schedules there too


# ---- nodes ---------------------------------------------------------------------------------
def _node_conditions(stopped: bool, previous: dict | None, created: str, now: str) -> list[dict]:
    """The kubelet's four conditions; a stopped node's kubelet posts nothing, so the node
    lifecycle controller makes them all Unknown. A condition keeps its times while its status
    stays (the heartbeat is not refreshed: an unchanged node gives an equal dict)."""
    kubelet = [("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
               ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
               ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
               ("Ready", "True", "KubeletReady", "kubelet is posting ready status")]
    before = {c.get("type"): c for c in ((previous or {}).get("status") or {}).get("conditions") or []}
    out = []
    for kind, status, reason, message in kubelet:
        if stopped:
            status, reason, message = "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."
        old = before.get(kind)
        if old is not None and old.get("status") == status:
            beat, since = old.get("lastHeartbeatTime", now), old.get("lastTransitionTime", now)
        elif old is not None:
            beat, since = (old.get("lastHeartbeatTime", now) if stopped else now), now
        else:
            beat = since = created
        out.append({"type": kind, "status": status, "lastHeartbeatTime": beat, "lastTransitionTime": since,
                    "reason": reason, "message": message})
    return out


def _node_labels(node) -> dict:
    labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": node.name, "kubernetes.io/os": "linux"}
    if node.name == CONTROL_PLANE:
        labels.update({"node-role.kubernetes.io/control-plane": "",
                       "node.kubernetes.io/exclude-from-external-load-balancers": ""})
    return {**labels, **(node.labels or {})}


def _addresses(node) -> list[dict]:
    """Each node has a cluster address (its node proxy's) and a host address (its NodePorts;
    --address for the single node)."""
    if node.internal_ip:
        found = [("InternalIP", node.internal_ip), ("ExternalIP", node.host_ip)]
    else:
        found = [("InternalIP", node.host_ip)]
    return [{"type": t, "address": a} for t, a in found if a] + [{"type": "Hostname", "address": node.name}]


def as_stored(node, stored: dict | None):
    """The node with the labels, cordon (spec.unschedulable), `node stop` (the annotation) and
    taints of its stored object: users write those. The tick's plan was read from the objects before the
    tick; written back over a newer object (its resourceVersion taken from the cache, so no
    conflict), it undid a `node start`, an uncordon or a removed label made meanwhile (a node
    stayed stopped for good)."""
    return node if stored is None else dataclasses.replace(node, **declared_state(node.name, stored))


NODE_LEASE_NAMESPACE = "kube-node-lease"
NODE_LEASE_SECONDS = 40  # the kubelet's nodeLeaseDurationSeconds; it renews every quarter of it


def node_lease(node: str, node_uid: str, renew_time: str) -> dict:
    """The Lease a kubelet keeps for its node (what `kubectl describe node` shows under Lease),
    owned by the Node so that it goes with it."""
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": node, "namespace": NODE_LEASE_NAMESPACE,
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node, "uid": node_uid}]},
            "spec": {"holderIdentity": node, "leaseDurationSeconds": NODE_LEASE_SECONDS, "renewTime": renew_time}}


def node_object(node, *, created: str, now: str, previous: dict | None = None, docker_version: str = "",
                os_image: str = "Debian GNU/Linux 12 (bookworm)", kernel_version: str = "", cpu="",
                memory: str = "", pods: int = 110, ephemeral_storage: str = "") -> dict:
    """A v1 Node for a plan.nodes.Node (name, internal_ip, host_ip, labels, unschedulable,
    stopped). Capacity and versions are the machine's, from the caller."""
    conditions = _node_conditions(node.stopped, previous, created, now)
    spec: dict = {}
    taints = []
    if node.unschedulable:
        spec["unschedulable"] = True
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    if node.stopped:
        since = conditions[-1]["lastTransitionTime"]
        taints += [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
                   {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": since}]
    taints += [dict(t) for t in node.taints]  # `kubectl taint`'s, kept as written
    if taints:
        spec["taints"] = taints
    capacity = {k: str(v) for k, v in (("cpu", cpu), ("ephemeral-storage", ephemeral_storage),
                                       ("memory", memory), ("pods", pods)) if v not in ("", None)}
    ids = hashlib.sha256(f"emukube-node/{node.name}".encode()).hexdigest()
    annotations = {"node.alpha.kubernetes.io/ttl": "0",
                   "volumes.kubernetes.io/controller-managed-attach-detach": "true"}
    if node.stopped:
        annotations[STOPPED_ANNOTATION] = "true"
    info = {"architecture": "amd64", "bootID": str(uuid.UUID(ids[32:64])),
            "containerRuntimeVersion": f"docker://{docker_version}" if docker_version else "docker://",
            "kernelVersion": kernel_version, "kubeletVersion": KUBELET_VERSION, "machineID": ids[:32],
            "operatingSystem": "linux", "osImage": os_image, "systemUUID": str(uuid.UUID(ids[:32]))}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node.name, "labels": _node_labels(node), "annotations": annotations,
                         "creationTimestamp": created},
            "spec": spec,
            "status": {"addresses": _addresses(node), "allocatable": dict(capacity), "capacity": capacity,
                       "conditions": conditions, "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                       "nodeInfo": info}}


# ---- events --------------------------------------------------------------------------------
# The controller's object prefixes and the kinds they name (apiVersion, kind, namespaced).
EVENT_KINDS = {"pod": ("v1", "Pod", True), "service": ("v1", "Service", True), "node": ("v1", "Node", False),
               "deployment": ("apps/v1", "Deployment", True), "statefulset": ("apps/v1", "StatefulSet", True),
               "daemonset": ("apps/v1", "DaemonSet", True),
               "replicationcontroller": ("v1", "ReplicationController", True),
               "replicaset": ("apps/v1", "ReplicaSet", True), "namespace": ("v1", "Namespace", False),
               "job": ("batch/v1", "Job", True), "cronjob": ("batch/v1", "CronJob", True),
               "persistentvolumeclaim": ("v1", "PersistentVolumeClaim", True),
               "persistentvolume": ("v1", "PersistentVolume", False),
               "horizontalpodautoscaler": ("autoscaling/v2", "HorizontalPodAutoscaler", True),
               "ingress": ("networking.k8s.io/v1", "Ingress", True)}
CONTROLLER = "emukube-controller"  # emukube's own events: its proxies, node proxies and CoreDNS
# The kube-controller-manager controller that reports a kind's events.
KIND_CONTROLLERS = {"Deployment": "deployment-controller", "ReplicaSet": "replicaset-controller",
                    "StatefulSet": "statefulset-controller", "DaemonSet": "daemonset-controller",
                    "ReplicationController": "replication-controller",
                    "Job": "job-controller",
                    "CronJob": "cronjob-controller", "PersistentVolumeClaim": "persistentvolume-controller",
                    "PersistentVolume": "persistentvolume-controller",
                    "HorizontalPodAutoscaler": "horizontal-pod-autoscaler",
                    "Ingress": "emukube-ingress-controller"}


def event_source(kind: str, reason: str) -> str:
    """The component Kubernetes names as an event's source: kubelet or scheduler for a pod's
    (the taint eviction controller for an eviction), the workload's controller, else emukube."""
    if kind == "Pod" and reason in reasons.KUBELET:
        return "kubelet"
    if kind == "Pod" and reason in reasons.SCHEDULER:
        return "default-scheduler"
    if kind == "Pod" and reason == reasons.Reason.TAINT_MANAGER_EVICTION:
        return "taint-eviction-controller"
    return KIND_CONTROLLERS.get(kind, CONTROLLER)


def event_line(type_: str, obj: str, reason: str, message: str) -> dict:
    """One of the controller's event lines ({"time", "type", "object", "reason", "message",
    "ns"}), stamped now; "ns" orders the Events' names (event_name)."""
    now = time.time_ns()
    return {"time": timestamp(now / 1e9), "type": type_, "object": obj,
            "reason": reason, "message": message, "ns": now}


def event_name(line: dict, first_time: str) -> str:
    """<object name>.<hex>: the event recorder's <name>.<UnixNano in hex>, from the line's "ns"
    (when it happened): names sort as the events happened, and kubectl lists a pod's events of
    one second (Scheduled, Pulled, Created, Started) in that order. A line without it (an older
    controller's) gets nanoseconds from a hash of what it says, within its whole second."""
    name = str(line.get("object", "")).partition("/")[2]
    if line.get("ns"):
        return f"{name}.{int(line['ns']):x}"
    what = "\x00".join(str(line.get(k, "")) for k in ("type", "object", "reason", "message"))
    nanos = int(_seconds(first_time)) * 10**9 + int(hashlib.sha256(what.encode()).hexdigest()[:12], 16) % 10**9
    return f"{name}.{nanos:x}"


def event_object(line: dict, namespace: str = "default", *, count: int = 1, first_time: str = "", uid: str = "",
                 host: str = "") -> dict | None:
    """A v1 Event from one of the controller's event lines ({"time", "type", "object":
    "pod/web-x", "reason", "message"}); None for objects with no API kind ("controller",
    "dns/coredns"). `host` is the pod's node (the kubelet that reports it); `count` and
    `first_time` come from aggregate_events."""
    prefix, _, name = str(line.get("object", "")).partition("/")
    if prefix not in EVENT_KINDS or not name:
        return None
    api_version, kind, namespaced = EVENT_KINDS[prefix]
    reason = line.get("reason", "")
    component = event_source(kind, reason)
    first = first_time or line.get("time", "")
    involved = {"apiVersion": api_version, "kind": kind, "name": name}
    if namespaced:
        involved["namespace"] = namespace
    if uid:
        involved["uid"] = uid
    source = {"component": component}
    if host and component == "kubelet":
        source["host"] = host
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": event_name(line, first), "namespace": namespace if namespaced else "default"},
            "involvedObject": involved, "reason": reason, "message": line.get("message", ""),
            "source": source, "firstTimestamp": first, "lastTimestamp": line.get("time", first),
            "count": count, "type": line.get("type", "Normal"), "eventTime": None,
            "reportingComponent": component, "reportingInstance": source.get("host", "")}


def aggregate_events(lines: list[dict]) -> list[tuple[dict, int, str]]:
    """(latest line, count, first time) per distinct event, as the event recorder counts
    repeats of the same type, object, reason and message; in order of latest occurrence."""
    found: dict[tuple, tuple[dict, int, str]] = {}
    for line in lines:
        key = tuple(line.get(k) for k in ("type", "object", "reason", "message"))
        _, count, first = found.pop(key, (None, 0, line.get("time", "")))
        found[key] = (line, count + 1, first)
    return list(found.values())


# ---- what to write -------------------------------------------------------------------------
Action = namedtuple("Action", "verb key obj")  # verb: "create" | "update" | "delete"
SERVER_FIELDS = ("resourceVersion", "uid", "managedFields", "creationTimestamp", "generation", "selfLink")


def _pruned(value):
    """The object without nulls (the server may write them out or leave them away)."""
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def comparable(obj: dict) -> dict:
    """The object as the controller decides it: no server-managed metadata. A deletion
    counts by being there, not by its time (the API server sets that on DELETE).
    Server fields go before pruning: managedFields is most of a published pod."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_FIELDS}
    if meta.get("deletionTimestamp") is not None:
        meta["deletionTimestamp"] = True
        meta.pop("deletionGracePeriodSeconds", None)
    return _pruned({**obj, "metadata": meta})


def diff(desired: dict, published: dict, same: dict | None = None) -> list[Action]:
    """The writes that make `published` (key -> object as the API server holds it) what
    `desired` says: creates and updates in desired's order, then deletes. An update carries
    the published server-managed metadata (resourceVersion for the optimistic write).

    `same`, kept by the caller between calls, remembers each key found already published: the
    desired object (as JSON) and the published resourceVersion. The loop builds the same
    objects tick after tick, and comparing their JSON (in C) spares pruning both again."""
    actions = []
    seen = {}
    for key, obj in desired.items():
        old = published.get(key)
        if old is None:
            actions.append(Action("create", key, obj))
            continue
        rv = (old.get("metadata") or {}).get("resourceVersion")
        text = json.dumps(obj) if same is not None else ""
        if same is not None and same.get(key) == (text, rv):
            seen[key] = (text, rv)
        elif comparable(obj) != comparable(old):
            old_meta = old.get("metadata") or {}
            kept = {k: old_meta[k] for k in (*SERVER_FIELDS, "deletionTimestamp", "deletionGracePeriodSeconds")
                    if k in old_meta and k != "managedFields"}
            actions.append(Action("update", key, {**obj, "metadata": {**(obj.get("metadata") or {}), **kept}}))
        else:
            seen[key] = (text, rv)
    actions += [Action("delete", key, old) for key, old in published.items() if key not in desired]
    if same is not None:
        same.clear()
        same.update(seen)
    return actions


def status_left_behind(desired: dict, stored: dict) -> dict | None:
    """The status a full PUT did not write: the API server keeps the stored status when the
    main resource is written (it changes only through /status), so a write that changed the
    spec and the status together needs a second one for the status."""
    wanted = desired.get("status")
    return wanted if wanted is not None and wanted != stored.get("status") else None


def status_only(desired: dict, published: dict) -> bool:
    """Whether an update changes nothing but status (a write to the status subresource)."""
    a, b = comparable(desired), comparable(published)
    return {k: v for k, v in a.items() if k != "status"} == {k: v for k, v in b.items() if k != "status"}
