"""Which engine container a pods/log, exec or attach request means: the pod from the store, the
container name checked as the API server checks it, then the pod's containers found by their
labels (the controller's own lookup) on the event loop's engine session: one listing, then an
inspect of the one container meant (the docker SDK's listing inspects every container, in a
thread, and `kubectl exec` waits for it)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ...runtime import labels as L
from ...runtime.engine_stream import engine
from .. import errors


@dataclass
class Target:
    pod: dict
    container: str  # the name in the pod spec
    attrs: dict | None  # the engine's inspect of its container, None when it has none now
    init: bool
    sandbox: str = ""  # the id of the pod's sandbox container, if it has one

    @property
    def id(self) -> str:
        assert self.attrs is not None, "no container: check .running first"
        return self.attrs["Id"]

    @property
    def running(self) -> bool:
        return bool(self.attrs and (self.attrs.get("State") or {}).get("Running"))

    @property
    def tty(self) -> bool:
        return bool(self.attrs and (self.attrs.get("Config") or {}).get("Tty"))


def spec_names(pod: dict) -> tuple[list[str], list[str]]:
    spec = pod.get("spec") or {}
    return ([c.get("name") for c in spec.get("containers") or []],
            [c.get("name") for c in spec.get("initContainers") or []])


def choose_container(pod: dict, wanted: str) -> str:
    """The API server's validateContainer (pkg/registry/core/pod/strategy.go): its messages."""
    apps, inits = spec_names(pod)
    name = pod["metadata"]["name"]
    if not wanted:
        if len(apps) == 1:
            return apps[0]
        if not apps:
            raise errors.bad_request(f"a container name must be specified for pod {name}")
        raise errors.bad_request(f"a container name must be specified for pod {name}, "
                                 f"choose one of: [{' '.join(inits + apps)}]")
    ephemeral = [c.get("name") for c in (pod.get("spec") or {}).get("ephemeralContainers") or []]
    if wanted not in apps and wanted not in inits and wanted not in ephemeral:
        raise errors.bad_request(f"container {wanted} is not valid for pod {name}")
    return wanted


async def _find(namespace: str, name: str, container: str) -> tuple[dict | None, str]:
    """(the engine's inspect of the container, the pod's sandbox id or "")."""
    found, sandbox = "", ""
    filters = L.cluster_filter(os.environ.get("EMUKUBE_CLUSTER", ""), **{L.NAMESPACE: namespace, L.NAME: name})
    for c in await engine().containers(filters):
        labels = c.get("Labels") or {}
        role = labels.get(L.ROLE)
        if role == L.Role.SANDBOX:
            sandbox = c["Id"]
        elif labels.get(L.CONTAINER) == container and role in (L.Role.POD, L.Role.APP, L.Role.INIT,
                                                                 L.Role.EPHEMERAL, L.Role.DNS):
            found = c["Id"]
    return (await engine().inspect(found) if found else None), sandbox


async def find(registry, resource, namespace: str, name: str, wanted: str) -> Target:
    pod = registry.get(resource, namespace, name)
    if pod is None:
        raise errors.not_found(resource, name)
    container = choose_container(pod, wanted)
    attrs, sandbox = await _find(namespace, name, container)
    return Target(pod, container, attrs, container in spec_names(pod)[1], sandbox)


# validateContainerLogStatus's words for the most common pending failures
PULL_WORDS = {"ErrImagePull": "image can't be pulled", "ImagePullBackOff": "trying and failing to pull image"}


def unavailable(target: Target) -> errors.ApiError:
    """The kubelet's words for a container it has nothing of (validateContainerLogStatus)."""
    pod = target.pod["metadata"]["name"]
    status = target.pod.get("status") or {}
    key = "initContainerStatuses" if target.init else "containerStatuses"
    mine: dict = next((s for s in status.get(key) or [] if s.get("name") == target.container), {})
    waiting = (mine.get("state") or {}).get("waiting")
    if target.init and status.get("phase") in ("Running", "Succeeded", "Failed"):
        return errors.bad_request(f'container "{target.container}" in pod "{pod}" is terminated')
    reason = (waiting or {}).get("reason") or ("PodInitializing" if target.init else "ContainerCreating")
    reason = PULL_WORDS.get(reason, reason)
    return errors.bad_request(f'container "{target.container}" in pod "{pod}" is waiting to start: {reason}')


def restart_count(target: Target) -> int:
    status = target.pod.get("status") or {}
    key = "initContainerStatuses" if target.init else "containerStatuses"
    mine: dict = next((s for s in status.get(key) or [] if s.get("name") == target.container), {})
    return int(mine.get("restartCount") or 0)
