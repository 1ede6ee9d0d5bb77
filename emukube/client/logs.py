"""`emukube logs` through the cluster's API, as `kubectl logs` reads them: the pod (a workload's
first, ready ones before others), its container (the `kubectl.kubernetes.io/default-container`
annotation's, else the first), then pods/NAME/log. So every pod the API lists has logs here,
CoreDNS's too, and the CLI reads them without the docker SDK."""

from __future__ import annotations

from typing import Iterator

from ..errors import EmukubeError, NotFound
from ..k8s.client import missing_is_not_found, path_of
from ..k8s.names import kind_of
from ..k8s.resources import BY_KEY, of_workload
from ..plan.disruption import is_ready
from ..plan.workloads import selects
from .edits import OWNERS

PODS = BY_KEY["pods"]
DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"


def _get(api, res, namespace: str, name: str) -> dict:
    with missing_is_not_found():
        return api.get(res, namespace, name)


def pod_of(api, ref: str, namespace: str = "default") -> dict:
    """POD, pod/POD, or a workload's first pod (deploy/NAME, sts/NAME, rs/NAME): one its selector
    matches and not being deleted, ready ones first."""
    kind, _, name = ref.rpartition("/")
    if not kind or kind_of(kind, ("Pod",)):
        return _get(api, PODS, namespace, name)
    owner_kind = kind_of(kind, OWNERS)
    if owner_kind is None:
        raise EmukubeError(f'error: cannot use "{kind}" here; use POD, deploy/NAME or sts/NAME')
    workload = _get(api, of_workload(owner_kind), namespace, name)
    pods = [p for p in api.list(PODS, namespace).get("items", [])
            if not p["metadata"].get("deletionTimestamp") and selects(workload, p["metadata"].get("labels") or {})]
    if not pods:
        raise NotFound(f'Error from server (NotFound): {kind} "{name}" has no pods')
    return sorted(pods, key=lambda p: (not is_ready(p), p["metadata"]["name"]))[0]


def container_of(pod: dict, container: str | None) -> str:
    """The container asked for, or the pod's default one; an unknown name is refused as kubectl does."""
    spec, meta = pod.get("spec") or {}, pod["metadata"]

    def named(field: str) -> list[str]:
        return [str(c.get("name", "")) for c in spec.get(field) or []]

    names = named("containers")
    if container is None:
        chosen = (meta.get("annotations") or {}).get(DEFAULT_CONTAINER)
        return str(chosen) if chosen in names else (names[0] if names else "")
    if container not in names + named("initContainers") + named("ephemeralContainers"):
        raise EmukubeError(f"error: container {container} is not valid for pod {meta['name']}")
    return container


def read(api, ref: str, namespace: str = "default", container: str | None = None, tail: int = -1,
         follow: bool = False) -> Iterator[bytes]:
    """The pod's container's output, in chunks; with follow, until the container ends or the
    caller stops reading."""
    pod = pod_of(api, ref, namespace)
    query = {"container": container_of(pod, container) or None, "follow": "true" if follow else None,
             "tailLines": str(tail) if tail >= 0 else None}
    with missing_is_not_found():  # a pod gone meanwhile
        yield from api.stream(path_of(PODS, namespace, pod["metadata"]["name"], "log"), query,
                              timeout=None if follow else 60)
