"""`rollout restart` and `rollout status` for Deployments, StatefulSets and DaemonSets, with kubectl's words
(kubectl/pkg/polymorphichelpers/rollout_status.go)."""

from __future__ import annotations

import time
from typing import Callable

from ..errors import EmukubeError, WorkloadFailed
from ..k8s.client import missing_is_not_found
from ..k8s.names import kind_of
from ..k8s.resources import of_workload
from ..k8s.times import timestamp

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
ROLLED = ("Deployment", "StatefulSet", "DaemonSet")


def parse_target(target: str, name: str | None = None) -> tuple[str, str]:
    """deployment/NAME, sts/NAME, or TYPE NAME as two arguments -> (Kind, name)."""
    kind, _, rest = target.partition("/")
    if not rest:
        rest = name or ""
    elif name:
        raise EmukubeError("error: there is no need to specify a resource type as a separate argument "
                           "when passing arguments in resource/name form")
    real = kind_of(kind, ROLLED)
    if real is None:
        raise EmukubeError(f'error: no rollout for resource type "{kind}" '
                           "(use deployment/NAME, statefulset/NAME or daemonset/NAME)")
    if not rest:
        raise EmukubeError("error: required resource not specified")
    return real, rest


def mark_restarted(obj: dict, now: float | None = None) -> None:
    """What `kubectl rollout restart` changes: a template annotation, hence the pod-template hash."""
    stamp = timestamp(now if now is not None else time.time())
    meta = obj["spec"]["template"].setdefault("metadata", {})
    annotations = meta.get("annotations") or {}
    if annotations.get(RESTARTED_AT) == stamp:  # twice in one second must still roll
        stamp = stamp[:-1] + f".{int((now or time.time()) * 1000) % 1000:03d}Z"
    meta["annotations"] = {**annotations, RESTARTED_AT: stamp}


def restart(api, target: str, namespace: str = "default") -> str:
    """kubectl rollout restart deployment/NAME (or statefulset/NAME, daemonset/NAME) through the
    API client `api`: a template annotation changes the pod-template hash, so the controller
    rolls every pod. Returns the kind."""
    kind, name = parse_target(target)
    res = of_workload(kind)
    with missing_is_not_found():
        obj = api.get(res, namespace, name)
        mark_restarted(obj)
        annotations = obj["spec"]["template"]["metadata"]["annotations"]
        api.patch(res, namespace, name, {"spec": {"template": {"metadata": {"annotations": {
            RESTARTED_AT: annotations[RESTARTED_AT]}}}}},
            content_type="application/strategic-merge-patch+json", fieldManager="kubectl-rollout")
    return kind


def wait(api, target: str, namespace: str = "default", timeout: float | None = None, watch: bool = True,
         progress: Callable[[str], None] | None = None) -> str:
    """kubectl rollout status through the API client `api`: until the rollout is done
    (kubectl's messages go to progress as they change); returns the last message. Raises
    WorkloadFailed when `timeout` seconds pass first."""
    kind, name = parse_target(target)
    res = of_workload(kind)
    deadline = time.monotonic() + timeout if timeout else None
    last = None
    while True:
        with missing_is_not_found():
            obj = api.get(res, namespace, name)
        line, done = status_line({**obj, "kind": kind})
        if line != last and progress:
            progress(line)
        last = line
        if done or not watch:
            return line
        if deadline is not None and time.monotonic() > deadline:
            raise WorkloadFailed("error: timed out waiting for the condition")
        time.sleep(0.5)


def status_line(obj: dict) -> tuple[str, bool]:
    """One kubectl status message for a Deployment or StatefulSet as the API serves it, and
    whether the rollout is done: kubectl's status viewers, from the object's status alone."""
    name, kind = obj["metadata"]["name"], obj["kind"]
    generation = obj["metadata"].get("generation", 0)
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    want = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0)
    if kind == "Deployment":
        if generation > status.get("observedGeneration", 0):
            return "Waiting for deployment spec update to be observed...", False
        progressing: dict = next((c for c in status.get("conditions") or [] if c.get("type") == "Progressing"), {})
        if progressing.get("reason") == "ProgressDeadlineExceeded":
            raise WorkloadFailed(f'error: deployment "{name}" exceeded its progress deadline')
        if updated < want:
            return (f'Waiting for deployment "{name}" rollout to finish: {updated} out of {want} '
                    "new replicas have been updated..."), False
        if status.get("replicas", 0) > updated:
            return (f'Waiting for deployment "{name}" rollout to finish: {status.get("replicas", 0) - updated} '
                    "old replicas are pending termination..."), False
        if status.get("availableReplicas", 0) < updated:
            return (f'Waiting for deployment "{name}" rollout to finish: {status.get("availableReplicas", 0)} of '
                    f"{updated} updated replicas are available..."), False
        return f'deployment "{name}" successfully rolled out', True
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        raise EmukubeError("error: rollout status is only available for RollingUpdate strategy type")
    if kind == "DaemonSet":
        return _daemonset_line(name, generation, status)
    if not status.get("observedGeneration") or generation > status["observedGeneration"]:
        return "Waiting for statefulset spec update to be observed...", False
    if status.get("readyReplicas", 0) < want:
        return f"Waiting for {want - status.get('readyReplicas', 0)} pods to be ready...", False
    rolling = strategy.get("rollingUpdate")
    if rolling is not None:  # the API server defaults it (partition 0): kubectl then says "partitioned"
        partition = rolling.get("partition")
        if partition is not None and updated < want - partition:
            return (f"Waiting for partitioned roll out to finish: {updated} out of {want - partition} "
                    "new pods have been updated..."), False
        return f"partitioned roll out complete: {updated} new pods have been updated...", True
    if status.get("updateRevision") != status.get("currentRevision"):
        return (f"waiting for statefulset rolling update to complete {updated} pods at revision "
                f"{status.get('updateRevision')}..."), False
    return (f"statefulset rolling update complete {status.get('currentReplicas', 0)} pods at revision "
            f"{status.get('currentRevision')}..."), True


def _daemonset_line(name: str, generation: int, status: dict) -> tuple[str, bool]:
    """DaemonSetStatusViewer: every node's pod updated, then available."""
    if generation > status.get("observedGeneration", 0):
        return "Waiting for daemon set spec update to be observed...", False
    desired, updated = status.get("desiredNumberScheduled", 0), status.get("updatedNumberScheduled", 0)
    if updated < desired:
        return f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} new pods have been ' \
               "updated...", False
    if status.get("numberAvailable", 0) < desired:
        return (f'Waiting for daemon set "{name}" rollout to finish: {status.get("numberAvailable", 0)} of {desired} '
                "updated pods are available..."), False
    return f'daemon set "{name}" successfully rolled out', True
