"""`rollout restart` and `rollout status` for Deployments and StatefulSets, with kubectl's words
(kubectl/pkg/polymorphichelpers/rollout_status.go)."""

from __future__ import annotations

import time

from .errors import EmukubeError, NotFound
from .plan.workloads import template_hash
from .runtime import labels as L
from .snapshot import Snapshot

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
KINDS = {"deploy": "Deployment", "deployment": "Deployment", "deployments": "Deployment",
         "deployment.apps": "Deployment", "sts": "StatefulSet", "statefulset": "StatefulSet",
         "statefulsets": "StatefulSet", "statefulset.apps": "StatefulSet"}


def parse_target(target: str, name: str | None = None) -> tuple[str, str]:
    """deployment/NAME, sts/NAME, or TYPE NAME as two arguments -> (Kind, name)."""
    kind, _, rest = target.partition("/")
    if not rest:
        rest = name or ""
    elif name:
        raise EmukubeError("error: there is no need to specify a resource type as a separate argument "
                           "when passing arguments in resource/name form")
    if kind.lower() not in KINDS:
        raise EmukubeError(f'error: no rollout for resource type "{kind}" (use deployment/NAME or statefulset/NAME)')
    if not rest:
        raise EmukubeError("error: required resource not specified")
    return KINDS[kind.lower()], rest


def find(objects: list[dict], kind: str, name: str, namespace: str) -> dict:
    for o in objects:
        if o["kind"] == kind and o["metadata"]["name"] == name and o["metadata"].get("namespace", "default") == namespace:
            return o
    raise NotFound(f'Error from server (NotFound): {kind.lower()}s.apps "{name}" not found')


def mark_restarted(obj: dict, now: float | None = None) -> None:
    """What `kubectl rollout restart` changes: a template annotation, hence the pod-template hash."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now if now is not None else time.time()))
    meta = obj["spec"]["template"].setdefault("metadata", {})
    annotations = meta.get("annotations") or {}
    if annotations.get(RESTARTED_AT) == stamp:  # twice in one second must still roll
        stamp = stamp[:-1] + f".{int((now or time.time()) * 1000) % 1000:03d}Z"
    meta["annotations"] = {**annotations, RESTARTED_AT: stamp}


def status_line(snap: Snapshot, kind: str, name: str, namespace: str) -> tuple[str, bool]:
    """One kubectl status message and whether the rollout is done."""
    obj = find(snap.objects, kind, name, namespace)
    observed = snap.status.get("generation") == snap.state.controller.labels.get(L.GENERATION)
    owner = f"{kind}/{name}"
    pods = [p for p in snap.pods if p.namespace == namespace and p.owner == owner and p.phase != "Terminating"]
    current = template_hash(obj["spec"]["template"])
    updated = [p for p in pods if _hash_of(p) == current]
    want = obj["spec"].get("replicas", 1)
    ready = sum(1 for p in pods if p.ready)
    if kind == "Deployment":
        if not observed:
            return "Waiting for deployment spec update to be observed...", False
        if len(updated) < want:
            return (f'Waiting for deployment "{name}" rollout to finish: {len(updated)} out of {want} '
                    "new replicas have been updated..."), False
        if len(pods) > len(updated):
            return (f'Waiting for deployment "{name}" rollout to finish: {len(pods) - len(updated)} '
                    "old replicas are pending termination..."), False
        if ready < len(updated):
            return (f'Waiting for deployment "{name}" rollout to finish: {ready} of {len(updated)} '
                    "updated replicas are available..."), False
        return f'deployment "{name}" successfully rolled out', True
    strategy = obj["spec"].get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        raise EmukubeError("error: rollout status is only available for RollingUpdate strategy type")
    if not observed:
        return "Waiting for statefulset spec update to be observed...", False
    if ready < want:
        return f"Waiting for {want - ready} pods to be ready...", False
    partition = (strategy.get("rollingUpdate") or {}).get("partition")
    if partition is not None:
        if len(updated) < want - partition:
            return (f"Waiting for partitioned roll out to finish: {len(updated)} out of {want - partition} "
                    "new pods have been updated..."), False
        return f"partitioned roll out complete: {len(updated)} new pods have been updated...", True
    revision = f"{name}-{current}"
    if len(updated) < len(pods):
        return f"waiting for statefulset rolling update to complete {len(updated)} pods at revision {revision}...", False
    return f"statefulset rolling update complete {len(pods)} pods at revision {revision}...", True


def _hash_of(pod) -> str:
    """The template hash a pod was made from (its pod-template-hash / controller-revision-hash)."""
    if "pod-template-hash" in pod.labels:
        return pod.labels["pod-template-hash"]
    return pod.labels.get("controller-revision-hash", "").rsplit("-", 1)[-1]
