"""`scale` and `delete` of one object, through the API as kubectl does them: a PATCH of the scale
subresource, a DELETE of that object (then, as `kubectl delete --wait`, until it is gone).
Nothing else is read or written, so a change another client makes meanwhile (`kubectl create
configmap` beside `emukube scale`) is never undone. API clients only: the CLI runs them without
the docker SDK."""

from __future__ import annotations

import time

from ..errors import EmukubeError
from ..k8s.client import ApiError, missing_is_not_found
from ..k8s.names import kind_of, resolve
from ..k8s.resources import Resource, by_kind

OWNERS = ("Deployment", "StatefulSet", "ReplicaSet")


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


def delete(api, kind: str, name: str, namespace: str = "default", wait: bool = True,
           timeout: float = 120) -> Resource:
    """Delete one object and, with `wait`, return once it is gone, as kubectl does: a pod once
    its containers stopped (the controller drains it, sends SIGTERM, then removes the object), a
    namespace once what it held is. Any resource kubectl names (`sa`, `rolebinding`,
    `ingresses.networking.k8s.io`, ...). Returns the object's resource."""
    res = resolve(kind)
    ns = namespace if res.namespaced else None
    with missing_is_not_found():
        answer = api.delete(res, ns, name)
    uid = (answer.get("metadata") or {}).get("uid") if answer.get("kind") == res.kind else None
    if wait and uid:  # still there (a grace period, finalizers): until no object of that uid is
        deadline = time.monotonic() + timeout
        while not _gone(api, res, ns, name, uid):
            if time.monotonic() > deadline:
                raise EmukubeError(f"error: timed out waiting for the condition on {res.key}/{name}")
            time.sleep(0.1)
    return res


def deleted_line(res: Resource, name: str, namespace: str) -> str:
    """What kubectl 1.35 prints for a deletion: `deployment.apps "web" deleted from default namespace`."""
    kind = f"{res.kind.lower()}.{res.group}" if res.group else res.kind.lower()
    return f'{kind} "{name}" deleted' + (f" from {namespace} namespace" if res.namespaced else "")


def _gone(api, res: Resource, namespace: str | None, name: str, uid: str) -> bool:
    """No object of that name, or another one (a StatefulSet's pod made again under its name)."""
    try:
        return api.get(res, namespace, name)["metadata"].get("uid") != uid
    except ApiError as exc:
        if exc.code == 404:
            return True
        raise
