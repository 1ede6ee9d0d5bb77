"""A container restart as the kubelet makes one: a new container from the image, so a fresh
writable layer, in the same pod (its address, sandbox, volumes and hostname). Starting the stopped
Docker container again would keep what the previous run wrote, which Kubernetes never does.

The old container is renamed out of the way, the new one made under its name and started (a
stopped container holds no address, so the new one takes it), then the old one is removed, its
output handed over first for `kubectl logs --previous`."""

from __future__ import annotations

import json
from typing import Callable

from docker.errors import DockerException

from ..plan.hooks import pod_ref
from ..plan.workloads import PodPlan
from . import engine
from . import labels as L
from .hooks import post_start
from .pods import Context, PodStartError, _create_container, host_addresses, pod_net_args
from .podspec import host_port_bindings

PREVIOUS_SUFFIX = "-previous"


def holder_of(client, container):
    """The container holding the pod's network and its spec's labels: its sandbox, or itself."""
    mode = (container.attrs.get("HostConfig") or {}).get("NetworkMode", "")
    return client.containers.get(mode.split(":", 1)[1]) if mode.startswith("container:") else container


def plan_of(holder) -> PodPlan:
    """The pod, from the labels of the container holding it (holder_of)."""
    labels = holder.labels
    kind, _, owner = (labels.get(L.OWNER) or "").partition("/")
    ordinal = labels.get(L.ORDINAL)
    return PodPlan(name=labels.get(L.NAME, ""), namespace=labels.get(L.NAMESPACE, "default"),
                   labels=L.pod_labels_of(labels), spec=json.loads(labels.get(L.POD_SPEC) or "{}"),
                   owner_kind=kind, owner_name=owner, template_hash=labels.get(L.TEMPLATE_HASH, ""),
                   ordinal=int(ordinal) if ordinal and ordinal.isdigit() else None, node=labels.get(L.NODE, "node-1"),
                   uid=labels.get(L.UID, ""), planned=L.planned_of(labels))


def pod_address(ctx: Context, holder) -> str:
    """The pod's IP, reserved by the container holding it (holder_of) even while stopped."""
    net = (holder.attrs.get("NetworkSettings") or {}).get("Networks", {}).get(ctx.net.network_name) or {}
    return (net.get("IPAMConfig") or {}).get("IPv4Address", "") or net.get("IPAddress", "")


def restart_fresh(client, ctx: Context, old, objects: list[dict], keep_log: Callable[[bytes], None]):
    """Replace the stopped container `old` by a new one, started; returns it. Raises
    DockerException or pods.PodStartError (the old container is then left as it was)."""
    holder = holder_of(client, old)
    pod = plan_of(holder)
    role, name = old.labels.get(L.ROLE), old.name.removesuffix(PREVIOUS_SUFFIX)
    if name != old.name:  # left by a controller replaced in the middle of a restart
        current = engine.get_container(client, name)
        if current is not None:  # the new one was made: only the old one is left to remove
            engine.remove(old)
            return current
    specs = [*(pod.spec.get("containers") or []), *(pod.spec.get("initContainers") or [])]  # sidecars restart too
    spec = next((c for c in specs if c.get("name") == old.labels.get(L.CONTAINER)), None)
    if spec is None:
        raise PodStartError(f"container {old.labels.get(L.CONTAINER)} is not in its pod's spec")
    sandbox_id = holder.id if holder is not old else None
    ip = pod_address(ctx, holder)
    keep_log(old.logs(timestamps=True))
    if name == old.name:
        stale = engine.get_container(client, name + PREVIOUS_SUFFIX)
        if stale is not None:  # from a restart a replaced controller did not finish
            engine.remove(stale)
        old.rename(name + PREVIOUS_SUFFIX)
    try:
        ports = None if sandbox_id else host_port_bindings(pod.spec, host_addresses(ctx, pod.node or "node-1"))
        new = _create_container(client, ctx, pod, spec, name, role, ip, objects,
                                {} if sandbox_id else pod_net_args(ctx, pod), sandbox_id, ports)
        try:
            post_start(new, pod.spec, pod_ref(pod.name, pod.namespace), ip, ctx.post_start)
        except DockerException:
            engine.remove(new)
            raise
    except Exception:
        old.rename(name)  # as it was: the next restart tries again
        raise
    engine.remove(old)
    return new
