"""The v1 Pod the API server holds for a pod the controller runs, as the kubelet would report it.
Pure: from plain facts (labels, spec, what pod_status() says) to a dict; no Docker, no HTTP.

Only `status` changes from tick to tick; every timestamp comes from the facts or from the
previously published pod, so an unchanged pod gives an equal dict (the caller writes only what
changed). Rules read from kubernetes' pkg/kubelet/kubelet_pods.go (getPhase,
generateAPIPodStatus), pkg/kubelet/status/generate.go (conditions) and
pkg/apis/core/v1/helper/qos (QoS class).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..k8s.times import epoch as _seconds
from ..k8s.times import timestamp as _stamp
from ..manifests.defaults import default_pod_spec
from ..plan.api_access import has_api_access, with_api_access
from ..plan.nodes import with_default_tolerations
from ..plan.quantity import quantity

ZERO_TIME = "0001-01-01T00:00:00Z"  # Docker's "never"
COND_ORDER = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


@dataclass(frozen=True)
class PodFacts:
    """What the controller knows of one pod (its Docker labels and the engine's view)."""

    namespace: str
    name: str
    labels: dict = field(default_factory=dict, hash=False)
    spec: dict = field(default_factory=dict, hash=False)  # the pod spec, API defaults applied
    owner: str = ""  # labels.OWNER: "Deployment/web", "StatefulSet/db", "ReplicaSet/rs", "Run/x", ""
    template_hash: str = ""
    ip: str = ""
    node: str = ""
    host_ip: str = ""
    created: str = ""  # RFC 3339: when its first container was made
    planned: float = 0.0  # epoch seconds: when its owner made it (0: not known)
    owner_uid: str = ""  # uid of its controller: the ReplicaSet for a Deployment's pod
    annotations: dict = field(default_factory=dict, hash=False)
    terminating_since: str = ""  # RFC 3339: when the controller began stopping it, "" if not
    released: bool = False  # labelled out of its owner's selector: no owner reference any more

    @property
    def owner_kind(self) -> str:
        return self.owner.partition("/")[0]

    @property
    def owner_name(self) -> str:
        return self.owner.partition("/")[2]


def rfc3339(text) -> str | None:
    """Docker's "2024-05-01T10:00:00.123456789Z" as the API's "2024-05-01T10:00:00Z"; None for
    empty or Docker's zero time."""
    if not text or str(text).startswith("0001-01-01"):
        return None
    text = str(text)
    return text[:19] + "Z" if len(text) >= 19 else text


def stored_labels(stored: dict | None, created: str | None, object_first: bool = False) -> dict | None:
    """The labels the API holds for a pod whose container was made at `created` (Docker's
    time): the user's to change (`kubectl label pod`). None when the store holds none, or holds
    an earlier pod of the same name (a StatefulSet's), written before this one's container.
    `object_first`: a pod users made, whose object is always written before its container (in
    the second before, now and then), so its age tells nothing."""
    meta = (stored or {}).get("metadata") or {}
    labels = meta.get("labels")
    if not isinstance(labels, dict):
        return None
    if not object_first and str(meta.get("creationTimestamp") or "") < (rfc3339(created) or ""):
        return None
    return labels


def made_at(planned: float, created: str | None) -> str | None:
    """When a pod was made, as stored_labels() compares it: when its owner made it, for a pod
    whose object the controller writes before its container (labels.PLANNED); else Docker's
    creation time of its container."""
    return _stamp(planned) if planned else created


def earlier_pod(stored: dict | None, planned: float) -> bool:
    """Whether `stored`, the API's pod of a name, is an earlier pod than the one planned then
    (epoch seconds): created before it (a StatefulSet's of the same name, being deleted). One
    created since is the planned pod's own, even once a user deleted it."""
    meta = (stored or {}).get("metadata") or {}
    return stored is not None and str(meta.get("creationTimestamp") or "") < _stamp(planned)


# ---- metadata ------------------------------------------------------------------------------
def owner_reference(facts: PodFacts) -> dict | None:
    """The controller reference Kubernetes' controllers put on the pods they make. A Deployment's
    pods belong to its ReplicaSet <deployment>-<pod-template-hash>."""
    kind, name = facts.owner_kind, facts.owner_name
    if kind == "Deployment":
        kind, name = "ReplicaSet", f"{name}-{facts.template_hash}"
    elif kind not in ("StatefulSet", "ReplicaSet", "DaemonSet", "ReplicationController", "Job"):
        return None  # a bare pod, or one `emukube run` made (kubectl run's pods have no owner)
    api_version = {"Job": "batch/v1", "ReplicationController": "v1"}.get(kind, "apps/v1")
    ref: dict = {"apiVersion": api_version, "kind": kind, "name": name}
    if facts.owner_uid:
        ref["uid"] = facts.owner_uid
    ref.update(controller=True, blockOwnerDeletion=True)
    return ref


def pod_labels(facts: PodFacts) -> dict:
    """The pod's labels with those Kubernetes' controllers add to the template's."""
    labels = dict(facts.labels)
    if facts.owner_kind == "Deployment" and facts.template_hash:
        labels["pod-template-hash"] = facts.template_hash
    elif facts.owner_kind == "StatefulSet":
        labels["controller-revision-hash"] = f"{facts.owner_name}-{facts.template_hash}"
        labels["statefulset.kubernetes.io/pod-name"] = facts.name
        ordinal = facts.name.rsplit("-", 1)[-1]
        if ordinal.isdigit():
            labels["apps.kubernetes.io/pod-index"] = ordinal
    return labels


def pod_metadata(facts: PodFacts) -> dict:
    meta: dict = {"name": facts.name, "namespace": facts.namespace}
    ref = owner_reference(facts)
    if ref and facts.owner_kind in ("Deployment", "ReplicaSet", "DaemonSet", "ReplicationController", "Job"):
        meta["generateName"] = f"{ref['name']}-"
    meta["labels"] = pod_labels(facts)
    if facts.annotations:
        meta["annotations"] = dict(facts.annotations)
    if ref and not facts.released:
        meta["ownerReferences"] = [ref]
    if rfc3339(facts.created):
        meta["creationTimestamp"] = rfc3339(facts.created)
    if facts.terminating_since:
        grace = int(facts.spec.get("terminationGracePeriodSeconds", 30))
        # The API server sets deletionTimestamp to when the grace period ends.
        meta["deletionTimestamp"] = _stamp(_seconds(facts.terminating_since) + grace)
        meta["deletionGracePeriodSeconds"] = grace
    return meta


# ---- QoS -----------------------------------------------------------------------------------
def _positive(resources: dict, kind: str) -> dict[str, float]:
    out = {}
    for name in ("cpu", "memory"):
        value = quantity((resources.get(kind) or {}).get(name))
        if value is not None and value > 0:
            out[name] = value
    return out


def qos_class(spec: dict) -> str:
    """ComputePodQOS: BestEffort without any cpu/memory request or limit; Guaranteed when every
    container limits cpu and memory and the sums of requests equal the sums of limits (requests
    default to limits); else Burstable. Pod-level resources, when set, decide alone."""
    pod_level = spec.get("resources") or {}
    if _positive(pod_level, "requests") or _positive(pod_level, "limits"):
        groups = [pod_level]
    else:
        groups = [c.get("resources") or {} for c in [*(spec.get("initContainers") or []),
                                                     *(spec.get("containers") or [])]]
    requests: dict[str, float] = {}
    limits: dict[str, float] = {}
    guaranteed = True
    for resources in groups:
        lim = _positive(resources, "limits")
        req = {**lim, **_positive(resources, "requests")}
        for name, value in req.items():
            requests[name] = requests.get(name, 0) + value
        for name, value in lim.items():
            limits[name] = limits.get(name, 0) + value
        if set(lim) != {"cpu", "memory"}:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and requests.keys() == limits.keys() and \
            all(abs(requests[k] - limits[k]) < 1e-12 for k in requests):
        return "Guaranteed"
    return "Burstable"


# ---- container statuses --------------------------------------------------------------------
def _state(state: dict, container_id: str = "") -> dict:
    """A v1 ContainerState from pod_status()'s, with the API's second-precision times."""
    if not state:
        return {}
    if "running" in state:
        started = rfc3339((state["running"] or {}).get("startedAt"))
        return {"running": {"startedAt": started} if started else {}}
    if "waiting" in state:
        waiting = state["waiting"] or {}
        return {"waiting": {k: waiting[k] for k in ("reason", "message") if waiting.get(k)}}
    ended = state.get("terminated") or {}
    out: dict = {"exitCode": int(ended.get("exitCode") or 0)}
    for key in ("reason", "message"):  # a message: what the runtime said of a start it refused
        if ended.get(key):
            out[key] = ended[key]
    for key in ("startedAt", "finishedAt"):
        if rfc3339(ended.get(key)):
            out[key] = rfc3339(ended.get(key))
    if container_id:
        out["containerID"] = container_id
    return {"terminated": out}


def _sidecar(spec_c: dict) -> bool:
    """An init container with restartPolicy Always: it runs beside the app containers."""
    return spec_c.get("restartPolicy") == "Always"


def _reported(spec_c: dict, r: dict, init: bool) -> dict:
    """A v1 ContainerStatus from one of pod_status()'s container entries."""
    cid = r.get("containerID", "")
    state = _state(r.get("state") or {}, cid)
    running = "running" in state
    if init and _sidecar(spec_c):
        ready = bool(r.get("ready")) and running
    elif init:
        # The prober marks a regular init container ready once it exited 0 (prober_manager).
        ready = state.get("terminated", {}).get("exitCode", 1) == 0 and "terminated" in state
    else:
        ready = bool(r.get("ready")) and running
    # started: running and past its startup probe; pod_status() does not say, so a container
    # with a startup probe counts as started once it is ready.
    started = r.get("started", running and (ready or spec_c.get("startupProbe") is None or _sidecar(spec_c)))
    out = {"name": spec_c.get("name") or r.get("name"), "image": r.get("image") or spec_c.get("image", ""),
           "imageID": r.get("imageID", ""), "ready": ready, "started": bool(started) and running,
           "restartCount": int(r.get("restarts", r.get("restartCount", 0)) or 0), "state": state,
           "lastState": _state(r.get("lastState") or {}, "")}
    if cid:
        out["containerID"] = cid
    return out


def _waiting(spec_c: dict, reason: str) -> dict:
    """A container with nothing running yet: the kubelet's default status for it."""
    return {"name": spec_c.get("name", ""), "image": spec_c.get("image", ""), "imageID": "", "ready": False,
            "started": False, "restartCount": 0, "state": {"waiting": {"reason": reason}}, "lastState": {}}


def init_statuses(spec: dict, status: dict) -> list[dict]:
    """initContainerStatuses in spec order. pod_status() names the running init container only
    through its word ("Init:N/M": N done, the N-th running); the controller removes an init
    container once it exited 0, so those before it are Completed with no times. Entries under
    status["initContainers"] (container_status() of pod.inits), when given, are used as they are."""
    inits = spec.get("initContainers") or []
    if not inits:
        return []
    reported = {r.get("name"): r for r in status.get("initContainers") or []}
    word = status.get("phase", "")
    counted = word.startswith("Init:") and word[5:].split("/")[0].isdigit()
    if counted:
        done = int(word[5:].split("/")[0])
    else:  # the app containers exist: every init container completed; else none has run yet
        done = len(inits) if status.get("containers") else 0
    out = []
    for i, c in enumerate(inits):
        if c.get("name") in reported:
            out.append(_reported(c, reported[c["name"]], init=True))
        elif i < done:
            out.append({**_waiting(c, ""), "ready": True,
                        "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}})
        elif i == done and counted:
            out.append({**_waiting(c, ""), "started": True, "state": {"running": {}}})
        else:
            out.append(_waiting(c, "PodInitializing"))
    return out


def container_statuses(spec: dict, status: dict) -> list[dict]:
    """containerStatuses, sorted by name as the kubelet sorts them; a container not made yet
    waits in ContainerCreating, or PodInitializing in a pod with init containers (the kubelet's
    default waiting state, convertToAPIContainerStatuses)."""
    reported = {r.get("name"): r for r in status.get("containers") or []}
    default = "PodInitializing" if spec.get("initContainers") else "ContainerCreating"
    out = []
    for c in spec.get("containers") or []:
        if c.get("name") in reported:
            out.append(_reported(c, reported[c["name"]], init=False))
        else:
            out.append(_waiting(c, default))
    return sorted(out, key=lambda s: s["name"])


def kubelet_phase(spec: dict, inits: list[dict], apps: list[dict]) -> str:
    """getPhase: Pending while init containers or containers wait; Running while one runs (or
    all stopped and will restart); Succeeded / Failed once all stopped for good."""
    policy = spec.get("restartPolicy", "Always")
    sidecars = {c.get("name") for c in spec.get("initContainers") or [] if _sidecar(c)}
    pending_init = failed_init = 0
    for s in inits:
        state, last = s["state"], (s.get("lastState") or {}).get("terminated")
        if s["name"] in sidecars and "running" in state:
            continue  # started: the pod goes on (a sidecar is never done)
        if "terminated" in state:
            failed_init += state["terminated"].get("exitCode", 0) != 0
        elif "waiting" in state and last:
            failed_init += last.get("exitCode", 0) != 0
        else:
            pending_init += 1
    running = waiting = stopped = succeeded = 0
    for s in apps:
        state = s["state"]
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"].get("exitCode", 0) == 0
        elif (s.get("lastState") or {}).get("terminated"):
            stopped += 1  # waiting to restart (CrashLoopBackOff)
        else:
            waiting += 1
    if failed_init and policy == "Never":
        return "Failed"
    if pending_init or waiting:
        return "Pending"
    if running:
        return "Running"
    if not stopped:
        return "Pending"
    if policy == "Always":
        return "Running"  # all restarting
    if stopped == succeeded:
        return "Succeeded"
    return "Failed" if policy == "Never" else "Running"


# ---- conditions ----------------------------------------------------------------------------
def _condition(kind: str, ok: bool, reason: str = "", message: str = "") -> dict:
    cond = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None}
    if not ok and reason:
        cond["reason"] = reason
    if not ok and message:
        cond["message"] = message
    return cond


def _unready_message(apps: list[dict], phase: str) -> tuple[str, str]:
    """GenerateContainersReadyCondition's reason and message, "" when all are ready. A pod
    that ended is not ready, whatever its containers say."""
    if phase in ("Succeeded", "Failed"):
        return ("PodCompleted" if phase == "Succeeded" else "PodFailed"), ""
    names = [s["name"] for s in apps if not s["ready"]]
    if not names:
        return "", ""
    return "ContainersNotReady", f"containers with unready status: [{' '.join(names)}]"


# Ready held while the Service proxies take the pod in (controllers/ready_gate.py): the kubelet's
# words for a Ready condition that waits on something besides the containers.
HELD = ("ReadinessGatesNotReady", "the Service proxies that send it traffic do not carry it yet (emukube)")


def pod_conditions(inits: list[dict], apps: list[dict], phase: str, sandbox: bool,
                   sidecars: frozenset[str] = frozenset(), held: bool = False) -> list[dict]:
    """The five conditions a 1.35 kubelet reports, in its order, without times. Sidecars count
    as initialized once started, and in ContainersReady as app containers do. held: Ready
    waits for the data plane (as for an unmet readiness gate)."""
    incomplete = [s["name"] for s in inits if not (s["started"] if s["name"] in sidecars else s["ready"])]
    reason, message = _unready_message([s for s in inits if s["name"] in sidecars] + apps, phase)
    ready = not reason
    return [
        _condition("PodReadyToStartContainers", sandbox),
        _condition("Initialized", not incomplete, "ContainersNotInitialized",
                   f"containers with incomplete status: [{' '.join(incomplete)}]"),
        _condition("Ready", ready and not held, *((reason, message) if not ready else HELD)),
        _condition("ContainersReady", ready, reason, message),
        _condition("PodScheduled", True),
    ]


def _first_time(cond: dict, facts: PodFacts, apps: list[dict], now: str) -> str:
    """lastTransitionTime for a pod published the first time: what the facts tell (made, or
    its containers started without a probe to wait for), else now."""
    created = rfc3339(facts.created) or now
    if cond["type"] not in ("Ready", "ContainersReady") or cond["status"] == "False":
        return created
    probed = any(c.get(k) is not None for c in facts.spec.get("containers") or []
                 for k in ("readinessProbe", "startupProbe"))
    started = [s["state"]["running"].get("startedAt") for s in apps if "running" in s["state"]]
    if probed or not all(started):
        return now
    return max([created, *started])


def stamp_conditions(conds: list[dict], previous: dict | None, facts: PodFacts, apps: list[dict],
                     now: str) -> list[dict]:
    """A condition keeps its lastTransitionTime while its status stays; a change is now."""
    before = {c.get("type"): c for c in ((previous or {}).get("status") or {}).get("conditions") or []}
    for cond in conds:
        old = before.get(cond["type"])
        if old is not None and old.get("status") == cond["status"] and old.get("lastTransitionTime"):
            cond["lastTransitionTime"] = old["lastTransitionTime"]
        elif old is not None:
            cond["lastTransitionTime"] = now
        else:
            cond["lastTransitionTime"] = _first_time(cond, facts, apps, now)
    return conds


# ---- the pod -------------------------------------------------------------------------------
def unscheduled_status(facts: PodFacts, message: str, now: str, previous: dict | None = None) -> dict:
    """What the scheduler writes on a pod no node fits: Pending, no IPs, no container statuses
    (no kubelet has seen it), PodScheduled False with its reason and message."""
    cond = _condition("PodScheduled", False, "Unschedulable", message)
    return {"phase": "Pending", "conditions": stamp_conditions([cond], previous, facts, [], now),
            "qosClass": qos_class(facts.spec)}


def pod_status_object(facts: PodFacts, status: dict, now: str, previous: dict | None = None) -> dict:
    """The v1 PodStatus from pod_status()'s report (see init_statuses for the optional
    "initContainers" entries it may carry)."""
    if status.get("unschedulable"):
        return unscheduled_status(facts, status["unschedulable"], now, previous)
    inits = init_statuses(facts.spec, status)
    apps = container_statuses(facts.spec, status)
    phase = kubelet_phase(facts.spec, inits, apps)
    sandbox = bool(facts.ip) or any("containerID" in s for s in apps)
    sidecars = frozenset(c.get("name", "") for c in facts.spec.get("initContainers") or [] if _sidecar(c))
    conds = stamp_conditions(pod_conditions(inits, apps, phase, sandbox, sidecars, bool(status.get("held"))),
                             previous, facts, apps, now)
    out: dict = {"phase": phase, "conditions": conds}
    if facts.host_ip:
        out.update(hostIP=facts.host_ip, hostIPs=[{"ip": facts.host_ip}])
    if facts.ip:
        out.update(podIP=facts.ip, podIPs=[{"ip": facts.ip}])
    if rfc3339(facts.created):
        out["startTime"] = rfc3339(facts.created)
    if inits:
        out["initContainerStatuses"] = inits
    out["containerStatuses"] = apps
    out["qosClass"] = qos_class(facts.spec)
    return out


def pod_object(facts: PodFacts, status: dict, now: str, previous: dict | None = None) -> dict:
    """A whole v1 Pod. `status` is pod_status()'s dict for the pod; `previous` the pod as last
    published (its conditions keep their times); `now` stamps only a condition that changed."""
    spec = default_pod_spec(facts.spec)  # as the API server stored it when the pod was created
    spec["tolerations"] = with_default_tolerations(spec)  # by its admission (DefaultTolerationSeconds)
    stored = (previous or {}).get("spec") or {}
    if has_api_access(stored):  # and the ServiceAccount plugin's volume, once the create it
        spec = with_api_access(spec, facts.namespace, facts.name)  # judged (with the account) gave one
    if stored.get("imagePullSecrets") and not spec.get("imagePullSecrets"):  # and its account's pull secrets
        spec["imagePullSecrets"] = list(stored["imagePullSecrets"])
    if facts.node:
        spec["nodeName"] = facts.node
    pod_status = pod_status_object(facts, status, now, previous)
    ephemeral = ((previous or {}).get("spec") or {}).get("ephemeralContainers")
    if ephemeral:  # added through pods/ephemeralcontainers: the API's, not the loop's
        spec["ephemeralContainers"] = ephemeral
        pod_status["ephemeralContainerStatuses"] = ephemeral_statuses(ephemeral, status)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_metadata(facts), "spec": spec, "status": pod_status}


def ephemeral_statuses(specs: list[dict], status: dict) -> list[dict]:
    """ephemeralContainerStatuses in spec order; one not made yet waits in ContainerCreating."""
    reported = {r.get("name"): r for r in status.get("ephemeral") or []}
    return [_reported(c, reported[c["name"]], init=False) if c.get("name") in reported
            else _waiting(c, "ContainerCreating") for c in specs]
