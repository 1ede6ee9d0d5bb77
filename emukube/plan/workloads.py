"""Which pods the workload objects ask for. Pure: names, labels, identities; no Docker."""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
from dataclasses import dataclass, field

from .disruption import selector_matches

# Kubernetes' rand.SafeEncodeString alphabet: no vowels, no 0/1/3 (no accidental words).
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# The kinds whose controllers make pods from a template (Jobs' are in plan/jobs.py).
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "ReplicationController")
# The controllers that let go of a pod labelled out of their selector and make another. Not a
# StatefulSet: its replacement would need the name the released pod keeps.
RELEASING_KINDS = ("Deployment", "ReplicaSet", "ReplicationController", "DaemonSet")


def safe_encode(data: bytes, length: int) -> str:
    number = int.from_bytes(data, "big")
    out = []
    for _ in range(length):
        number, digit = divmod(number, len(SAFE_ALPHABET))
        out.append(SAFE_ALPHABET[digit])
    return "".join(out)


def canonical(value: object) -> object:
    """A template as Kubernetes hashes it, the Go struct: what JSON spells two ways counts once.
    kubectl writes `resources: {}` and `creationTimestamp: null` where a manifest has nothing
    (`rollout undo` sends the ReplicaSet's template so), and omits empty lists."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = canonical(item)
            if item is None or item == [] or (key == "resources" and item == {}):
                continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def releases(workload: dict, labels: dict, pod_template_hash: str) -> bool:
    """Whether the workload's controller releases a pod of its own with these (the API's)
    labels, as Kubernetes' controller ref manager does: they left its selector (for a
    Deployment's pod, its ReplicaSet's, which adds pod-template-hash). The pod then runs on as
    nobody's, and the controller makes another."""
    kind = workload.get("kind")
    if kind not in RELEASING_KINDS:
        return False
    if not selects(workload, labels):
        return True
    return kind == "Deployment" and str(labels.get("pod-template-hash", pod_template_hash)) != pod_template_hash


ADOPTING_KINDS = ("ReplicaSet", "ReplicationController")


def adopter(workloads: list[dict], namespace: str, stored: dict) -> str:
    """The owner ("ReplicaSet/herd") of a pod users made, from its object in the API: the
    controller its ownerReference names, or one that adopts it now as Kubernetes' controller ref
    manager does (an orphan whose labels a ReplicaSet's or ReplicationController's selector
    matches, the oldest first); "" for a pod that stays its own."""
    meta = stored.get("metadata") or {}
    mine = {(w["kind"], w["metadata"]["name"]): w for w in workloads
            if w["kind"] in ADOPTING_KINDS and w["metadata"].get("namespace", "default") == namespace}
    refs = meta.get("ownerReferences") or []
    ref = next((r for r in refs if r.get("controller")), None)
    if ref is not None:
        return f"{ref.get('kind')}/{ref.get('name')}" if (ref.get("kind"), ref.get("name")) in mine else ""
    if refs or meta.get("deletionTimestamp"):
        return ""
    labels = meta.get("labels") or {}
    for w in sorted(mine.values(), key=lambda w: (w["metadata"].get("creationTimestamp") or "", w["metadata"]["name"])):
        if not w["metadata"].get("deletionTimestamp") and selects(w, labels):
            return f"{w['kind']}/{w['metadata']['name']}"
    return ""


def selects(workload: dict, labels: dict) -> bool:
    """Whether the workload's selector matches these labels (a ReplicationController's is a
    plain map, its template's labels when left out)."""
    spec = workload.get("spec") or {}
    selector = spec.get("selector")
    if workload.get("kind") == "ReplicationController":
        selector = {"matchLabels": selector or ((spec.get("template") or {}).get("metadata") or {}).get("labels")}
    return selector_matches(selector, labels)


_HASHES: dict[str, str] = {}  # the template's JSON -> its hash: the loop asks every tick


def template_hash(template: dict) -> str:
    """pod-template-hash: changes exactly when the pod template changes."""
    raw = json.dumps(template, sort_keys=True)
    if (known := _HASHES.get(raw)) is not None:
        return known
    blob = json.dumps(canonical(template), sort_keys=True, separators=(",", ":")).encode()
    if len(_HASHES) >= 1024:
        _HASHES.clear()
    _HASHES[raw] = safe_encode(hashlib.sha256(blob).digest(), 10)
    return _HASHES[raw]


def owned_by(obj: dict, owner: dict) -> bool:
    """Whether an owner reference of obj names owner (by kind and name: the caller keeps to one
    namespace)."""
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(r.get("kind") == owner["kind"] and r.get("name") == owner["metadata"]["name"] for r in refs)


def as_rolled_out(deploy: dict, replica_sets: list[dict]) -> dict:
    """The Deployment as its controller acts on it. Paused (`kubectl rollout pause`), it makes
    pods from the template its newest ReplicaSet has, what was rolled out when it was paused: a
    template changed since waits for `kubectl rollout resume`. Paused before it had any
    ReplicaSet, it makes none (replicas 0 here)."""
    spec = deploy.get("spec") or {}
    if not spec.get("paused"):
        return deploy
    namespace = deploy["metadata"].get("namespace", "default")
    owned = [rs for rs in replica_sets
             if (rs.get("metadata") or {}).get("namespace", "default") == namespace and owned_by(rs, deploy)]
    if not owned:
        return {**deploy, "spec": {**spec, "replicas": 0}}
    newest = max(owned, key=lambda rs: int((rs["metadata"].get("annotations") or {}).get(
        "deployment.kubernetes.io/revision", "0") or 0))
    template = copy.deepcopy((newest.get("spec") or {}).get("template") or spec["template"])
    ((template.get("metadata") or {}).get("labels") or {}).pop("pod-template-hash", None)
    return {**deploy, "spec": {**spec, "template": template}}


def random_suffix() -> str:
    return "".join(secrets.choice(SAFE_ALPHABET) for _ in range(5))


def containers_of(spec: dict) -> list[dict]:
    """A pod spec's init containers, then its app containers: the order the kubelet starts them."""
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


@dataclass(frozen=True)
class PodPlan:
    """One pod to run: its identity and the pod spec it runs."""

    name: str
    namespace: str
    labels: dict = field(hash=False)
    spec: dict = field(hash=False)
    owner_kind: str = ""  # "" for a bare Pod
    owner_name: str = ""
    template_hash: str = ""
    ordinal: int | None = None  # StatefulSet pods only
    node: str = "node-1"  # the emulated node the scheduler chose
    annotations: dict = field(default_factory=dict, hash=False, compare=False)  # its template's, or a bare pod's
    uid: str = field(default="", compare=False)  # its object's, once the API holds one
    planned: float = field(default=0.0, compare=False)  # when its owner made it (epoch seconds)

    @property
    def metadata(self) -> dict:
        """Its labels, annotations and uid, as the API holds them (the downward API's)."""
        return {"labels": self.labels, "annotations": self.annotations, "uid": self.uid}

    @property
    def hostname(self) -> str:
        return self.spec.get("hostname") or self.name

    @property
    def subdomain(self) -> str:
        return self.spec.get("subdomain") or ""


def owner_key(obj: dict) -> str:
    return f"{obj['kind']}/{obj['metadata'].get('namespace', 'default')}/{obj['metadata']['name']}"


def bare_pod(obj: dict) -> PodPlan:
    meta = obj["metadata"]
    return PodPlan(
        name=meta["name"],
        namespace=meta.get("namespace", "default"),
        labels=dict(meta.get("labels") or {}),
        spec=copy.deepcopy(obj["spec"]),
        annotations=dict(meta.get("annotations") or {}),
        uid=str(meta.get("uid") or ""),
    )


def new_pod_for(workload: dict, ordinal: int | None = None) -> PodPlan:
    """A fresh pod for a Deployment/ReplicaSet/DaemonSet (random name) or StatefulSet (ordinal
    name)."""
    meta, spec = workload["metadata"], workload["spec"]
    template = spec["template"]
    pod_spec = copy.deepcopy(template.get("spec", {}))
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    thash = template_hash(template)
    kind, name = workload["kind"], meta["name"]
    if kind == "StatefulSet":
        pod_name = f"{name}-{ordinal}"
        labels["statefulset.kubernetes.io/pod-name"] = pod_name
        labels["controller-revision-hash"] = f"{name}-{thash}"
        pod_spec.setdefault("hostname", pod_name)
        if spec.get("serviceName"):
            pod_spec.setdefault("subdomain", spec["serviceName"])
        _claim_volumes(pod_spec, spec.get("volumeClaimTemplates") or [], pod_name)
    elif kind == "Deployment":
        pod_name = f"{name}-{thash}-{random_suffix()}"
        labels["pod-template-hash"] = thash
    else:
        pod_name = f"{name}-{random_suffix()}"
    return PodPlan(
        name=pod_name,
        namespace=meta.get("namespace", "default"),
        labels=labels,
        spec=pod_spec,
        owner_kind=kind,
        owner_name=name,
        template_hash=thash,
        ordinal=ordinal,
        annotations=dict((template.get("metadata") or {}).get("annotations") or {}),
    )


def _claim_volumes(pod_spec: dict, templates: list[dict], pod_name: str) -> None:
    """A StatefulSet pod's volume per volumeClaimTemplate, its claim <template>-<pod> (as the
    StatefulSet controller adds them): the same ordinal finds the same claim, hence its data."""
    volumes = pod_spec.setdefault("volumes", [])
    have = {v.get("name") for v in volumes}
    for template in templates:
        name = (template.get("metadata") or {}).get("name")
        if name and name not in have:
            volumes.append({"name": name, "persistentVolumeClaim": {"claimName": f"{name}-{pod_name}"}})
    if not volumes:
        del pod_spec["volumes"]


def percent_or_int(value: int | str, total: int, round_up: bool) -> int:
    """maxSurge / maxUnavailable: an int, or a percentage of replicas."""
    if isinstance(value, str) and value.endswith("%"):
        scaled = int(value[:-1]) * total
        return -(-scaled // 100) if round_up else scaled // 100
    return int(value)


def rollout_limits(deploy: dict) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as numbers of pods; never both zero."""
    spec = deploy["spec"]
    replicas = spec.get("replicas", 1)
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    surge = percent_or_int(rolling.get("maxSurge", "25%"), replicas, round_up=True)
    unavailable = percent_or_int(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable
