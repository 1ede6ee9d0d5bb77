"""`scale` and `delete` of one object, through the API as kubectl does them: a PATCH of the scale
subresource, a DELETE of that object. Nothing else is read or written, so a change another
client makes meanwhile (`kubectl create configmap` beside `emukube scale`) is never undone.
API clients only: the CLI runs them without the docker SDK."""

from __future__ import annotations

from ..errors import EmukubeError
from ..k8s.client import missing_is_not_found
from ..k8s.names import kind_of
from ..k8s.resources import Resource, by_kind

OWNERS = ("Deployment", "StatefulSet", "ReplicaSet")
DELETABLE = ("Service", *OWNERS, "ConfigMap", "Secret", "Namespace", "Pod")


def resource_of(kind: str, among: tuple[str, ...]) -> Resource:
    """The resource of a kind as users type it (deploy, svc, statefulsets...), one of `among`."""
    found = kind_of(kind, among)
    res = by_kind("apps/v1" if found in OWNERS else "v1", found) if found else None
    if res is None:
        raise EmukubeError(f'error: the server doesn\'t have a resource type "{kind}"')
    return res


def scale(api, target: str, replicas: int, namespace: str = "default") -> dict:
    """deployment/NAME (statefulset/NAME, replicaset/NAME) to `replicas` pods; returns the Scale
    the API server answered (its resourceVersion is the workload's)."""
    if replicas < 0:
        raise EmukubeError("error: --replicas must be >= 0")
    kind, _, name = target.partition("/")
    res = resource_of(kind, OWNERS)
    with missing_is_not_found():
        return api.patch(res, namespace, name, {"spec": {"replicas": replicas}}, sub="scale",
                         fieldManager="emukube")


def delete(api, kind: str, name: str, namespace: str = "default") -> str:
    """Delete one object (not a pod: see Cluster.delete_pod); returns its kind."""
    res = resource_of(kind, DELETABLE)
    with missing_is_not_found():
        api.delete(res, namespace if res.namespaced else None, name)
    return res.kind
