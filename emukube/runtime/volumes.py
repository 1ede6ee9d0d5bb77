"""A pod's volumes as Docker mounts, and the Docker named volumes behind PersistentVolumes.

emptyDir and claims are named volumes: an emptyDir goes with its pod (labelled with it), a
PersistentVolume's outlives every pod (labelled with its claim) until its claim is deleted
(reclaimPolicy Delete) or the cluster goes. `medium: Memory` is a tmpfs-backed named volume, so
the pod's containers share it as on Kubernetes. `subPath` (and `subPathExpr`) bind-mount a
directory inside the volume, made when missing as the kubelet makes it (the engine's API 1.41
has no volume subpath)."""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Literal

from docker.errors import DockerException, NotFound
from docker.types import Mount

from ..plan.quantity import quantity
from . import engine
from . import labels as L
from .podspec import expand

if TYPE_CHECKING:
    from ..plan.workloads import PodPlan
    from .pods import Context

DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
PROVISIONER = "emukube.io/docker-volume"  # the default StorageClass's, and the PVs' csi driver


class MountError(Exception):
    """A mount the pod cannot have (its start fails with this message)."""


def pv_volume_name(cluster: str, pv: str) -> str:
    return f"{cluster}_{pv}"


def exists(client, name: str) -> bool:
    """Exactly this volume (the engine's name filter matches parts of names)."""
    return engine.found(client.volumes.get, name)


def ensure_pv_volume(client, cluster: str, name: str, namespace: str, claim: str) -> str:
    """The Docker volume of a provisioned PersistentVolume, labelled for `down`; returns its name.
    A claim's volume from before claims were API objects (<cluster>_<namespace>_<claim>) is
    taken over, so a StatefulSet keeps its data across the upgrade."""
    legacy = f"{cluster}_{namespace}_{claim}"
    if exists(client, legacy):
        return legacy
    if not exists(client, name):
        client.volumes.create(name, labels={L.CLUSTER: cluster, L.NAMESPACE: namespace, L.CLAIM: claim})
    return name


def remove_volume(client, name: str) -> bool:
    """False while a container still holds it (tried again later)."""
    try:
        client.volumes.get(name).remove(force=True)
    except NotFound:
        pass
    except DockerException:
        return False
    return True


Kind = Literal["bind", "volume"]


def _claim_source(ctx: Context, pod: PodPlan, claim: str, objects: list[dict]) -> tuple[Kind, str]:
    """("volume", docker volume) or ("bind", host path) of the PersistentVolume bound to the claim."""
    by = {(o.get("kind"), (o.get("metadata") or {}).get("namespace", ""), (o.get("metadata") or {}).get("name")): o
          for o in objects if o.get("kind") in ("PersistentVolumeClaim", "PersistentVolume")}
    pvc = by.get(("PersistentVolumeClaim", pod.namespace, claim))
    pv_name = ((pvc or {}).get("spec") or {}).get("volumeName")
    pv = by.get(("PersistentVolume", "", pv_name)) or by.get(("PersistentVolume", "default", pv_name))
    if pv is None:  # a pod started by hand (emukube run) or a claim from before claims were served
        return "volume", f"{ctx.cluster}_{pod.namespace}_{claim}"
    spec = pv.get("spec") or {}
    for key in ("hostPath", "local"):
        if (spec.get(key) or {}).get("path"):
            return "bind", spec[key]["path"]
    return "volume", (spec.get("csi") or {}).get("volumeHandle") or pv_volume_name(ctx.cluster, pv_name or claim)


def _source(client, ctx: Context, pod: PodPlan, mount_name: str, vol: dict, objects: list[dict]) -> tuple[Kind, str]:
    if "persistentVolumeClaim" in vol:
        kind, source = _claim_source(ctx, pod, vol["persistentVolumeClaim"].get("claimName", ""), objects)
        if kind == "volume" and not exists(client, source):
            client.volumes.create(source, labels={L.CLUSTER: ctx.cluster, L.NAMESPACE: pod.namespace,
                                                  L.CLAIM: vol["persistentVolumeClaim"].get("claimName", "")})
        return kind, source
    if "hostPath" in vol:
        path = vol["hostPath"]["path"]
        if path in DOCKER_SOCKETS and not ctx.allow_privileged:
            raise MountError("a Docker socket mount needs --allow-privileged")
        return "bind", path
    name = f"{ctx.cluster}_{pod.namespace}_{pod.name}_{mount_name}"
    if not exists(client, name):
        empty = vol.get("emptyDir") or {}
        options = {}
        if empty.get("medium") == "Memory":
            size = quantity(empty.get("sizeLimit")) if empty.get("sizeLimit") is not None else None
            options = {"type": "tmpfs", "device": "tmpfs", "o": f"size={int(size)}" if size else ""}
            options = {k: v for k, v in options.items() if v}
        client.volumes.create(name, driver_opts=options or None,
                              labels={L.CLUSTER: ctx.cluster, L.NAMESPACE: pod.namespace, L.NAME: pod.name})
    return "volume", name


def _sub_path(m: dict, env: dict[str, str], container: str) -> str:
    """subPath, or subPathExpr with $(VAR) from the container's env; one leaving the volume (an
    expansion to an absolute path or through "..") fails as the kubelet fails it."""
    sub = expand(m["subPathExpr"], env) if m.get("subPathExpr") else m.get("subPath") or ""
    if posixpath.isabs(sub) or ".." in sub.split("/"):
        raise MountError(f'failed to prepare subPath for volumeMount "{m["name"]}" of container "{container}"')
    return sub


def container_mounts(client, ctx: Context, pod: PodPlan, container: dict, env: dict[str, str],
                     objects: list[dict]) -> tuple[list[Mount], list[str]]:
    """(mounts, binds) of the container's volumeMounts of emptyDir, hostPath and claims (configMap
    and secret volumes are files: podspec.volume_files). A subPath becomes a bind of the directory
    inside the volume: binds, unlike mounts, make a missing host directory."""
    volumes = {v["name"]: v for v in pod.spec.get("volumes") or []}
    mounts: list[Mount] = []
    binds: list[str] = []
    for m in container.get("volumeMounts") or []:
        vol = volumes.get(m["name"], {})
        if not any(k in vol for k in ("emptyDir", "persistentVolumeClaim", "hostPath")):
            continue
        ro = bool(m.get("readOnly")) or bool((vol.get("persistentVolumeClaim") or {}).get("readOnly"))
        kind, source = _source(client, ctx, pod, m["name"], vol, objects)
        sub = _sub_path(m, env, container.get("name", ""))
        if sub:
            base = client.volumes.get(source).attrs["Mountpoint"] if kind == "volume" else source
            binds.append(f"{posixpath.join(base, sub)}:{m['mountPath']}:{'ro' if ro else 'rw'}")
        else:
            mounts.append(Mount(target=m["mountPath"], source=source, type=kind, read_only=ro))
    return mounts, binds
