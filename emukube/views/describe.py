"""`emukube describe pod|svc|deploy|sts NAME`, laid out like kubectl describe: the object, its
live state from the controller's status report, and its events."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..errors import EmukubeError, NotFound
from ..k8s.keys import object_key
from ..k8s.names import LAST_APPLIED, kind_of
from ..k8s.times import age, parse_time
from ..plan import endpoints as ep
from ..plan.workloads import rollout_limits, template_hash

if TYPE_CHECKING:
    from ..client.events import Event
    from ..client.snapshot import Snapshot

DESCRIBED = ("Pod", "Service", "Deployment", "StatefulSet")
# Volume source -> kubectl's Type line and the one field it shows (row title, field).
VOLUME_TYPES: dict[str, tuple[str, tuple[str, str] | None]] = {
    "emptyDir": ("EmptyDir (a temporary directory that shares a pod's lifetime)", None),
    "configMap": ("ConfigMap (a volume populated by a ConfigMap)", ("Name", "name")),
    "secret": ("Secret (a volume populated by a Secret)", ("SecretName", "secretName")),
    "hostPath": ("HostPath (bare host directory volume)", ("Path", "path")),
    "persistentVolumeClaim": ("PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)",
                              ("ClaimName", "claimName")),
    "downwardAPI": ("DownwardAPI (a volume populated by information about the pod)", None),
    "projected": ("Projected (a volume that contains injected data from multiple sources)", None),
}
PLURAL = {"Pod": "pods", "Service": "services", "Deployment": "deployments.apps", "StatefulSet": "statefulsets.apps"}


class Text:
    """kubectl's describe layout: `Key:  value` rows, values aligned within each block."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.block: list[tuple[int, str, list[str]]] = []

    def row(self, key: str, value, indent: int = 0) -> None:
        values = value if isinstance(value, list) else [str(value)]
        self.block.append((indent, key, values or ["<none>"]))

    def head(self, text: str, indent: int = 0) -> None:
        """A line of its own (a section title); ends the current block."""
        self.flush()
        self.lines.append(" " * indent + text)

    def flush(self) -> None:
        width = max((len(k) + indent for indent, k, _ in self.block), default=0) + 3  # "key:" + 2 spaces
        for indent, key, values in self.block:
            start = " " * indent + f"{key}:"
            self.lines.append(f"{start:<{width}}{values[0]}".rstrip())
            self.lines.extend(" " * width + v for v in values[1:])
        self.block = []

    def table(self, rows: list[tuple[str, ...]], indent: int = 2) -> None:
        """Columns without colons (Conditions, Events)."""
        self.flush()
        widths = [max(len(r[i]) for r in rows) + 2 for i in range(len(rows[0]) - 1)]
        for r in rows:
            self.lines.append((" " * indent + "".join(c.ljust(w) for c, w in zip(r, widths)) + r[-1]).rstrip())

    def text(self) -> str:
        self.flush()
        return "\n".join(self.lines) + "\n"


def _pairs(mapping: dict | None, sep: str = "=") -> list[str]:
    return [f"{k}{sep}{v}" for k, v in sorted((mapping or {}).items())] or ["<none>"]


def _annotations(meta: dict) -> list[str]:
    """As kubectl describe shows them: without kubectl apply's copy of the whole object."""
    return _pairs({k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}, ": ")


def _when(stamp: str | float | None) -> str:
    """RFC 1123 like kubectl (Mon, 02 Jan 2006 15:04:05 +0000)."""
    if isinstance(stamp, str):
        parsed = parse_time(stamp)
        if parsed is None:
            return stamp or "<unknown>"
        stamp = parsed
    if not stamp:
        return "<unknown>"
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(stamp))


def probe_text(probe: dict) -> str:
    """kubectl's one-line probe: `http-get http://:http/readyz delay=0s timeout=1s period=1s ...`."""
    if "httpGet" in probe:
        h = probe["httpGet"]
        how = f"http-get {h.get('scheme', 'HTTP').lower()}://{h.get('host', '')}:{h.get('port')}{h.get('path', '/')}"
    elif "tcpSocket" in probe:
        how = f"tcp-socket {probe['tcpSocket'].get('host', '')}:{probe['tcpSocket'].get('port')}"
    elif "exec" in probe:
        how = f"exec [{' '.join(map(str, probe['exec'].get('command') or []))}]"
    elif "grpc" in probe:
        how = f"grpc <pod>:{probe['grpc'].get('port')} {probe['grpc'].get('service', '')}".rstrip()
    else:
        how = "unknown"
    return (f"{how} delay={probe.get('initialDelaySeconds', 0)}s timeout={probe.get('timeoutSeconds', 1)}s "
            f"period={probe.get('periodSeconds', 10)}s #success={probe.get('successThreshold', 1)} "
            f"#failure={probe.get('failureThreshold', 3)}")


def _env_lines(c: dict) -> list[str]:
    out = []
    for item in c.get("env") or []:
        src = item.get("valueFrom")
        if not src:
            out.append(f"{item['name']}:  {item.get('value', '')}")
        elif "configMapKeyRef" in src or "secretKeyRef" in src:
            ref = src.get("configMapKeyRef") or src.get("secretKeyRef")
            what = "config map" if "configMapKeyRef" in src else "secret"
            out.append(f"{item['name']}:  <set to the key '{ref.get('key')}' of {what} '{ref.get('name')}'>  "
                       f"Optional: {str(bool(ref.get('optional'))).lower()}")
        elif "fieldRef" in src:
            ref = src["fieldRef"]
            out.append(f"{item['name']}:   ({ref.get('apiVersion', 'v1')}:{ref.get('fieldPath')})")
        else:
            out.append(f"{item['name']}:  <set from resource field>")
    for source in c.get("envFrom") or []:
        for key, what in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            if key in source:
                prefix = f" with prefix '{source['prefix']}'" if source.get("prefix") else ""
                out.append(f"{source[key].get('name')}  {what}{prefix}  Optional: "
                           f"{str(bool(source[key].get('optional'))).lower()}")
    return out


def _state_rows(t: Text, label: str, state: dict) -> None:
    if "running" in state:
        t.row(label, "Running", 4)
        t.row("Started", _when(state["running"].get("startedAt")), 6)
    elif "waiting" in state:
        t.row(label, "Waiting", 4)
        t.row("Reason", state["waiting"].get("reason", ""), 6)
        if state["waiting"].get("message"):
            t.row("Message", state["waiting"]["message"], 6)
    elif "terminated" in state:
        s = state["terminated"]
        t.row(label, "Terminated", 4)
        t.row("Reason", s.get("reason", ""), 6)
        t.row("Exit Code", s.get("exitCode", ""), 6)
        t.row("Started", _when(s.get("startedAt")), 6)
        t.row("Finished", _when(s.get("finishedAt")), 6)


def _container(t: Text, c: dict, status: dict | None, init: bool = False, template: bool = False) -> None:
    t.head(f"  {c['name']}:")
    status = status or {}
    if status.get("containerID"):
        t.row("Container ID", status["containerID"], 4)
    t.row("Image", c.get("image", ""), 4)
    ports = [f"{p['containerPort']}/{p.get('protocol', 'TCP')}" + (f" ({p['name']})" if p.get("name") else "")
             for p in c.get("ports") or []]
    t.row("Port" + ("s" if len(ports) > 1 else ""), ", ".join(ports) or "<none>", 4)
    if c.get("command"):
        t.row("Command", [str(x) for x in c["command"]], 4)
    if c.get("args"):
        t.row("Args", [str(x) for x in c["args"]], 4)
    if status.get("state"):
        _state_rows(t, "State", status["state"])
    elif init:
        t.row("State", "Terminated (ran to completion before the app containers started)", 4)
    if status.get("lastState"):
        _state_rows(t, "Last State", status["lastState"])
    if not init and not template:
        t.row("Ready", str(bool(status.get("ready"))), 4)
        t.row("Restart Count", status.get("restarts", 0), 4)
    limits = (c.get("resources") or {}).get("limits")
    if limits:
        t.row("Limits", _pairs(limits, ": "), 4)
    for kind in ("liveness", "readiness", "startup"):
        if c.get(f"{kind}Probe"):
            t.row(kind.capitalize(), probe_text(c[f"{kind}Probe"]), 4)
    failures = status.get("probeFailures") or {}
    if failures:
        t.row("Last Probe Failure", [f"{k}: {v}" for k, v in sorted(failures.items())], 4)
    t.row("Environment", _env_lines(c) or ["<none>"], 4)
    mounts = [f"{m['mountPath']} from {m['name']} ({'ro' if m.get('readOnly') else 'rw'})"
              for m in c.get("volumeMounts") or []]
    t.row("Mounts", mounts or ["<none>"], 4)


def _volumes(t: Text, spec: dict) -> None:
    t.head("Volumes:" if spec.get("volumes") else "Volumes:  <none>")
    for v in spec.get("volumes") or []:
        t.head(f"  {v['name']}:")
        source = next((s for s in VOLUME_TYPES if s in v), None)
        if source is not None:
            title, field = VOLUME_TYPES[source]
            t.row("Type", title, 4)
            if field:
                t.row(field[0], v[source].get(field[1], ""), 4)


def for_object(events: list[Event], names: set[str], namespace: str | None = None) -> list[Event]:
    """The events of the given objects ("pod/web-x", "service/web" ...) in a namespace."""
    return [e for e in events if e.object in names and (namespace is None or e.namespace in ("", namespace))]


def _events(t: Text, events: list[Event]) -> None:
    if not events:
        t.head("Events:  <none>")
        return
    t.head("Events:")
    rows: list[tuple[str, ...]] = [("Type", "Reason", "Age", "From", "Message"),
                                   ("----", "------", "----", "----", "-------")]
    t.table(rows + [(e.type, e.reason, age(e.time), e.source or "emukube-controller", e.message) for e in events[-30:]])


def _find(snap: Snapshot, kind: str, name: str, namespace: str) -> dict:
    found = snap.find(kind, name, namespace)
    if found is None:
        raise NotFound(f'Error from server (NotFound): {PLURAL[kind]} "{name}" not found')
    return found


def describe_pod(snap: Snapshot, name: str, namespace: str, events: list[Event]) -> str:
    row = next((p for p in snap.pods if p.name == name and p.namespace == namespace), None)
    if row is None:
        raise NotFound(f'Error from server (NotFound): pods "{name}" not found')
    status = snap.status.pods.get(object_key(namespace, name), {})
    by_name = {c.get("name"): c for c in status.get("containers") or []}
    spec = row.spec
    t = Text()
    t.row("Name", name)
    t.row("Namespace", namespace)
    t.row("Service Account", spec.get("serviceAccountName", "default"))
    t.row("Node", status.get("node") or "node-1")
    t.row("Start Time", _when(row.created))
    t.row("Labels", _pairs(row.labels))
    t.row("Status", row.phase)
    t.row("IP", row.ip or "<none>")
    if row.owner:
        kind, owner = row.owner.split("/", 1)
        if kind == "Deployment":  # Deployments own pods through a ReplicaSet named by the template hash
            kind, owner = "ReplicaSet", f"{owner}-{row.labels.get('pod-template-hash', '')}"
        t.row("Controlled By", f"{kind}/{owner}")
    if spec.get("initContainers"):
        t.head("Init Containers:")
        for c in spec["initContainers"]:
            _container(t, c, None, init=True)
    t.head("Containers:")
    for c in spec.get("containers") or []:
        _container(t, c, by_name.get(c["name"]))
    t.head("Conditions:")
    ready = str(bool(row.ready))
    initialized = str(row.phase != "PodInitializing" and not row.phase.startswith("Init:"))
    t.table([("Type", "Status"), ("Initialized", initialized), ("Ready", ready), ("ContainersReady", ready),
             ("PodScheduled", "True")])
    _volumes(t, spec)
    _events(t, for_object(events, {f"pod/{name}"}, namespace))
    return t.text()


def describe_service(snap: Snapshot, name: str, namespace: str, events: list[Event]) -> str:
    svc = _find(snap, "Service", name, namespace)
    spec, meta = svc["spec"], svc["metadata"]
    t = Text()
    t.row("Name", name)
    t.row("Namespace", namespace)
    t.row("Labels", _pairs(meta.get("labels")))
    t.row("Annotations", _annotations(meta))
    t.row("Selector", ",".join(_pairs(spec.get("selector"))))
    t.row("Type", spec.get("type", "ClusterIP"))
    if spec.get("type") == "ExternalName":
        t.row("External Name", spec.get("externalName", ""))
    else:
        t.row("IP Family Policy", "SingleStack")
        t.row("IP Families", "IPv4")
        t.row("IP", spec.get("clusterIP") or "<none>")
        t.row("IPs", ",".join(spec.get("clusterIPs") or [spec.get("clusterIP") or "<none>"]))
    ingress = [i.get("ip") for i in svc.get("status", {}).get("loadBalancer", {}).get("ingress", []) if i.get("ip")]
    if ingress:
        t.row("LoadBalancer Ingress", ", ".join(ingress))
    backends = ep.backends(svc, snap.views()) if spec.get("type") != "ExternalName" else {}
    for port in ep.service_ports(svc):
        label = port.name or "<unset>"
        t.row("Port", f"{label}  {port.port}/{port.protocol}")
        t.row("TargetPort", f"{port.target_port}/{port.protocol}")
        if port.node_port:
            t.row("NodePort", f"{label}  {port.node_port}/{port.protocol}")
        found = [f"{b.ip}:{b.port}" for b in backends.get(port.key, ())]
        t.row("Endpoints", ",".join(found) or "<none>")
    affinity = spec.get("sessionAffinity", "None")
    if affinity == "ClientIP":
        timeout = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds", 10800)
        affinity = f"ClientIP (timeout {timeout}s)"
    t.row("Session Affinity", affinity)
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        t.row("External Traffic Policy", spec.get("externalTrafficPolicy", "Cluster"))
    if spec.get("publishNotReadyAddresses"):
        t.row("Publish Not Ready Addresses", "true")
    t.row("Internal Traffic Policy", spec.get("internalTrafficPolicy", "Cluster"))
    _events(t, for_object(events, {f"service/{name}"}, namespace))
    return t.text()


def describe_workload(snap: Snapshot, kind: str, name: str, namespace: str, events: list[Event]) -> str:
    # Long because: kubectl's describe of a Deployment or StatefulSet, top to bottom, in one place.
    obj = _find(snap, kind, name, namespace)
    spec, meta = obj["spec"], obj["metadata"]
    owner = f"{kind}/{name}"
    pods = [p for p in snap.pods if p.namespace == namespace and p.owner == owner]
    live = [p for p in pods if p.phase != "Terminating"]
    current = template_hash(spec["template"])
    updated = [p for p in live if current in (p.labels.get("pod-template-hash"),
                                              p.labels.get("controller-revision-hash", "").rsplit("-", 1)[-1])]
    ready = sum(1 for p in live if p.ready)
    want = spec.get("replicas", 1)
    t = Text()
    t.row("Name", name)
    t.row("Namespace", namespace)
    t.row("CreationTimestamp", _when(meta.get("creationTimestamp")))
    t.row("Selector", ",".join(_pairs((spec.get("selector") or {}).get("matchLabels"))))
    t.row("Labels", _pairs(meta.get("labels")))
    t.row("Annotations", _annotations(meta))
    if kind == "Deployment":
        # As the deployment controller wrote them (kubectl prints these); counted from pods before it did.
        status = obj.get("status") or {}
        replicas = [status.get(k, 0) for k in ("updatedReplicas", "replicas", "availableReplicas",
                                               "unavailableReplicas")] if status else \
            [len(updated), len(live), ready, max(0, len(live) - ready)]
        t.row("Replicas", "{} desired | {} updated | {} total | {} available | {} unavailable".format(want, *replicas))
        strategy = spec.get("strategy") or {}
        t.row("StrategyType", strategy.get("type", "RollingUpdate"))
        t.row("MinReadySeconds", spec.get("minReadySeconds", 0))
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            rolling = strategy.get("rollingUpdate") or {}
            surge, unavailable = rollout_limits(obj)
            t.row("RollingUpdateStrategy", f"{rolling.get('maxUnavailable', '25%')} max unavailable, "
                                           f"{rolling.get('maxSurge', '25%')} max surge "
                                           f"({unavailable} unavailable, {surge} surge for {want} replicas)")
    else:
        t.row("Replicas", f"{want} desired | {len(live)} total")
        t.row("Update Strategy", (spec.get("updateStrategy") or {}).get("type", "RollingUpdate"))
        t.row("Service Name", spec.get("serviceName") or "<none>")
        t.row("Pod Management Policy", spec.get("podManagementPolicy", "OrderedReady"))
        waiting = sum(1 for p in live if not p.ready)
        t.row("Pods Status", f"{ready} Running / {waiting} Waiting / 0 Succeeded / 0 Failed")
    template = spec["template"]
    t.head("Pod Template:")
    t.row("Labels", _pairs((template.get("metadata") or {}).get("labels")), 2)
    annotations = (template.get("metadata") or {}).get("annotations")
    if annotations:
        t.row("Annotations", _pairs(annotations, ": "), 2)
    t.head("  Containers:")
    for c in (template.get("spec") or {}).get("containers") or []:
        _container(t, c, None, template=True)
    if kind == "Deployment":
        t.head("Conditions:")
        written = (obj.get("status") or {}).get("conditions") or []
        if written:  # as the deployment controller wrote them: kubectl describe prints these
            rows = [(c.get("type", ""), c.get("status", ""), c.get("reason", "")) for c in written]
        else:
            available = ready >= want - rollout_limits(obj)[1]
            done = len(updated) == want and len(live) == want and ready == want
            rows = [("Available", str(available),
                     "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable"),
                    ("Progressing", "True", "NewReplicaSetAvailable" if done else "ReplicaSetUpdated")]
        t.table([("Type", "Status", "Reason"), ("----", "------", "------"), *rows])
        old = sorted({p.labels.get("pod-template-hash", "") for p in live} - {current})
        counts = {h: sum(1 for p in live if p.labels.get("pod-template-hash") == h) for h in old}
        t.row("OldReplicaSets", ", ".join(f"{name}-{h} ({counts[h]} replicas)" for h in old) or "<none>")
        # Paused with a changed template, the Deployment has no ReplicaSet of it yet.
        t.row("NewReplicaSet", "<none>" if spec.get("paused") and not updated else
              f"{name}-{current} ({len(updated)}/{want} replicas created)")
    prefix = f"{name}-"
    mine = {f"pod/{p.name}" for p in pods} | {e.object for e in events if e.object.startswith(f"pod/{prefix}")
                                              and _owned_name(e.object[4:], kind, name)}
    _events(t, for_object(events, mine | {f"{kind.lower()}/{name}"}, namespace))
    return t.text()


def _owned_name(pod: str, kind: str, owner: str) -> bool:
    """Whether a pod name is one the owner makes (web-<hash>-<5> / db-<ordinal>)."""
    rest = pod[len(owner) + 1:]
    if kind == "StatefulSet":
        return rest.isdigit()
    parts = rest.split("-")
    return len(parts) == 2 and len(parts[0]) == 10 and len(parts[1]) == 5


def describe(snap: Snapshot, kind: str, name: str | None, namespace: str, events: list[Event]) -> str:
    if name is None and "/" in kind:
        kind, name = kind.split("/", 1)
    real = kind_of(kind, DESCRIBED)
    if real is None:
        if kind_of(kind) is None:
            raise EmukubeError(f'error: the server doesn\'t have a resource type "{kind}"')
        # Served, but emukube's own describe does not lay it out: kubectl's does.
        served = str(kind_of(kind))
        article = "an" if served[:1] in "AEIOU" else "a"
        raise EmukubeError(f"error: emukube describe shows pods, services, deployments and statefulsets; for "
                           f"{article} {served}: emukube kubectl -- describe {kind} {name or ''}".rstrip())
    if not name:
        raise EmukubeError("error: you must specify the name of the resource to describe")
    if real == "Pod":
        return describe_pod(snap, name, namespace, events)
    if real == "Service":
        return describe_service(snap, name, namespace, events)
    return describe_workload(snap, real, name, namespace, events)
