"""`emukube logs` through the cluster's API, as `kubectl logs` reads them: the pod (a workload's
first, ready ones before others), its container (the `kubectl.kubernetes.io/default-container`
annotation's, else the first), then pods/NAME/log. So every pod the API lists has logs here,
CoreDNS's too, and the CLI reads them without the docker SDK."""

from __future__ import annotations

import queue
import threading
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
         follow: bool = False, **options: str | None) -> Iterator[bytes]:
    """The pod's container's output, in chunks; with follow, until the container ends or the
    caller stops reading. options: pods/log's other parameters (previous, sinceSeconds, timestamps)."""
    pod = pod_of(api, ref, namespace)
    yield from _stream(api, pod, container_of(pod, container), tail, follow, options)


def _stream(api, pod: dict, container: str, tail: int, follow: bool, options: dict) -> Iterator[bytes]:
    meta = pod["metadata"]
    query = {"container": container or None, "follow": "true" if follow else None,
             "tailLines": str(tail) if tail >= 0 else None, **options}
    with missing_is_not_found():  # a pod gone meanwhile
        yield from api.stream(path_of(PODS, meta["namespace"], meta["name"], "log"), query,
                              timeout=None if follow else 60)


def sources(api, namespace: str | None, selector: str, all_containers: bool) -> list[tuple[dict, str]]:
    """(pod, container) of every pod the selector picks ("" every pod), oldest name first; its
    default container, or all of them (init containers first, as kubectl's --all-containers)."""
    query = {"labelSelector": selector} if selector else {}
    pods = sorted(api.list(PODS, namespace, **query).get("items", []),
                  key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]))
    return [source for pod in pods for source in sources_of(pod, all_containers)]


def sources_of(pod: dict, all_containers: bool) -> list[tuple[dict, str]]:
    spec = pod.get("spec") or {}
    every = (spec.get("initContainers") or []) + (spec.get("containers") or [])
    names = [c["name"] for c in every] if all_containers else [container_of(pod, None)]
    return [(pod, name) for name in names]


def prefix(pod: dict, container: str) -> bytes:
    """kubectl logs --prefix: "[pod/NAME/CONTAINER] "."""
    return f"[pod/{pod['metadata']['name']}/{container}] ".encode()


def read_many(api, picked: list[tuple[dict, str]], tail: int, follow: bool, prefixed: bool,
              **options: str | None) -> Iterator[bytes]:
    """Their lines one after another, or with follow as they come (a thread each), each
    prefixed when asked. A container that cannot be read (not started yet) says so in a line of
    its own, as kubectl's does, and the others go on."""
    def each(pod: dict, container: str) -> Iterator[bytes]:
        head = prefix(pod, container) if prefixed else b""
        try:
            for line in _lines(_stream(api, pod, container, tail, follow, options)):
                yield head + line
        except (EmukubeError, OSError) as exc:
            yield f"{exc}\n".encode()

    if not follow:
        for pod, container in picked:
            yield from each(pod, container)
        return
    lines: queue.Queue = queue.Queue()

    def pump(pod: dict, container: str) -> None:
        try:
            for line in each(pod, container):
                lines.put(line)
        finally:
            lines.put(None)

    for pod, container in picked:
        threading.Thread(target=pump, args=(pod, container), daemon=True).start()
    running = len(picked)
    while running:
        line = lines.get()
        if line is None:
            running -= 1
        else:
            yield line


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Whole lines from the stream's chunks (a prefix goes before each), the last one ended."""
    rest = b""
    for chunk in chunks:
        rest += chunk
        *whole, rest = rest.split(b"\n")
        for line in whole:
            yield line + b"\n"
    if rest:
        yield rest + b"\n"
