"""What the API server refuses of kube-system's coredns Deployment (plan/system_pods.py).

Its one pod is the cluster's own CoreDNS container at kube-dns's address, not a pod made from
the template: a second replica, another image or any other change of what runs could never be
carried out, and a `kubectl rollout status` would wait for it forever. So a write that changes
its spec beyond the template's annotations (what `kubectl rollout restart` writes; the
container is then replaced) is refused, as is its deletion; its metadata and status may change
as any object's. The API server's own writes (an emukube upgrade's new image) pass."""

from __future__ import annotations

import copy

from ..k8s.resources import Resource
from ..plan import system_pods
from ..plan.workloads import canonical
from . import errors

RUNS = "emukube runs one CoreDNS, the cluster's own container at kube-dns's address"
WHY = f"{RUNS}: only its pod template's annotations may change (kubectl rollout restart)"


def _without_annotations(spec: dict | None) -> object:
    """The spec as compared: without the template's annotations, and as Go's structs hold it
    (`kubectl rollout undo` sends the ReplicaSet's template with `resources: {}`)."""
    spec = copy.deepcopy(spec or {})
    ((spec.get("template") or {}).get("metadata") or {}).pop("annotations", None)
    return canonical(spec)


def check_update(res: Resource, old: dict, new: dict) -> None:
    """Raise 422 for a change of the coredns Deployment's spec other than its template's
    annotations."""
    if res.key != "deployments.apps" or not system_pods.is_coredns(old):
        return
    if _without_annotations(old.get("spec")) == _without_annotations(new.get("spec")):
        return
    before, after = (old.get("spec") or {}).get("replicas"), (new.get("spec") or {}).get("replicas")
    field, value = ("spec.replicas", after) if before != after else ("spec", "")
    item = f"{field}: Forbidden: {WHY}" if field == "spec" else f"{field}: Invalid value: {value}: {WHY}"
    raise errors.ApiError(422, "Invalid", f'{res.group_kind} "{system_pods.DEPLOYMENT}" is invalid: {item}',
                          {"name": system_pods.DEPLOYMENT, "group": res.group, "kind": res.kind, "causes": [
                              {"reason": "FieldValueForbidden" if field == "spec" else "FieldValueInvalid",
                               "message": item.split(": ", 1)[1], "field": field}]})


def check_delete(res: Resource, old: dict) -> None:
    """Raise 403 for the coredns Deployment's deletion."""
    if res.key == "deployments.apps" and system_pods.is_coredns(old):
        raise errors.ApiError(403, "Forbidden", f'{res.key} "{system_pods.DEPLOYMENT}" is forbidden: {RUNS}, '
                              "which stays as long as the cluster",
                              {"name": system_pods.DEPLOYMENT, "group": res.group, "kind": res.plural})
