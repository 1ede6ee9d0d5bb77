"""Translating a Kubernetes container spec into Docker create options. Pure."""

from __future__ import annotations

import base64
import os
import re

from ..plan import config_volumes as cv
from ..plan.downward import field_value, resource_value
from ..plan.pod_dns import search_domains  # noqa: F401 - the kubelet's list, used here by others
from ..plan.quantity import quantity
from .machine import allocatable

_VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\$")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion in command, args and env values; $$ escapes a $."""
    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return _VAR_REF.sub(sub, text)


def data_of(obj: dict | None) -> dict[str, bytes]:
    """The payload of a ConfigMap or Secret as bytes per key."""
    if not obj:
        return {}
    out: dict[str, bytes] = {}
    for key, value in (obj.get("data") or {}).items():
        if obj["kind"] == "Secret":
            out[key] = base64.b64decode(value or "")
        else:
            out[key] = str(value).encode()
    for key, value in (obj.get("binaryData") or {}).items():
        out[key] = base64.b64decode(value or "")
    for key, value in (obj.get("stringData") or {}).items():
        out[key] = str(value).encode()
    return out


class Refs:
    """ConfigMaps and Secrets of the cluster, by namespace and name."""

    def __init__(self, objects: list[dict]):
        self._by = {
            (o["kind"], o["metadata"].get("namespace", "default"), o["metadata"]["name"]): o
            for o in objects
            if o.get("kind") in ("ConfigMap", "Secret")
        }

    def get(self, kind: str, namespace: str, name: str) -> dict | None:
        return self._by.get((kind, namespace, name))


def container_env(container: dict, pod_name: str, namespace: str, pod_ip: str, refs: Refs,
                  service_env: dict[str, str], missing: list[str],
                  node: tuple[str, str] = ("node-1", ""), meta: dict | None = None,
                  account: str = "default") -> dict[str, str]:
    """node: (name, in-cluster IP or "" when the node is the host itself); meta: the pod's labels
    and annotations; account: its serviceAccountName."""
    env = dict(service_env)
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key in source:
                ref = source[key]
                obj = refs.get(kind, namespace, ref.get("name", ""))
                if obj is None and not ref.get("optional"):
                    missing.append(f'{kind.lower()} "{ref.get("name")}" not found')
                for k, v in data_of(obj).items():
                    env[prefix + k] = v.decode(errors="replace")
    host_ip = node[1] or pod_ip
    # The kubelet's own fields; the metadata ones are downward.field_value's.
    fields = {"status.podIP": pod_ip, "status.podIPs": pod_ip, "spec.nodeName": node[0], "status.hostIP": host_ip,
              "status.hostIPs": host_ip, "spec.serviceAccountName": account}
    pod_meta = {**(meta or {}), "name": pod_name, "namespace": namespace}
    for item in container.get("env") or []:
        name = item["name"]
        src = item.get("valueFrom")
        if "value" in item or not src:  # `valueFrom: null` is no source, as the API server reads it
            value = item.get("value")
            env[name] = expand("" if value is None else str(value), env)
            continue
        if "fieldRef" in src:
            path = src["fieldRef"].get("fieldPath", "")
            value = fields.get(path)
            env[name] = value if value is not None else field_value(path, pod_meta) or ""
        if "resourceFieldRef" in src:  # of this container: the one a container's env may name
            value = resource_value(src["resourceFieldRef"] or {}, container, allocatable())
            if value is not None:
                env[name] = value
        for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            if key in src:
                ref = src[key]
                data = data_of(refs.get(kind, namespace, ref.get("name", "")))
                if ref.get("key") in data:
                    env[name] = data[ref["key"]].decode(errors="replace")
                elif not ref.get("optional"):
                    # the kubelet's words (kubelet_pods.go makeEnvironmentVariables)
                    missing.append(f'couldn\'t find key {ref.get("key")} in {kind} {namespace}/{ref.get("name")}')
    return env


def lookup_in(refs: Refs, namespace: str) -> cv.Lookup:
    """The data of a ConfigMap or Secret of the namespace by (kind, name); None when there is none."""
    def lookup(kind: str, name: str) -> dict[str, bytes] | None:
        obj = refs.get(kind, namespace, name)
        return None if obj is None else data_of(obj)
    return lookup


def volume_files(pod_spec: dict, container: dict, namespace: str, refs: Refs, missing: list[str],
                 side: cv.PodSide, whole: bool = True) -> dict[str, tuple[bytes, int]]:
    """configMap, secret, downwardAPI and projected volumes, as files to copy into the container
    before it starts; whole=False: only subPath mounts (the others are live volumes:
    runtime/config_volumes.py), though objects missing are named for all of them."""
    volumes = {v["name"]: v for v in pod_spec.get("volumes") or []}
    lookup = lookup_in(refs, namespace)
    files: dict[str, tuple[bytes, int]] = {}
    for mount in container.get("volumeMounts") or []:
        vol = volumes.get(mount["name"], {})
        if not any(kind in vol for kind in cv.KINDS):
            continue
        held = cv.volume_payload(vol, pod_spec, lookup, side, missing)
        sub = mount.get("subPath")
        if held is None or (not sub and not whole):
            continue
        base = mount["mountPath"].rstrip("/")
        for path, data in held.items():
            if not sub or path == sub:
                files[base if sub else f"{base}/{path}"] = data
    return files


def command_and_args(container: dict, env: dict[str, str]) -> tuple[list | None, list | None]:
    """Kubernetes command replaces the image ENTRYPOINT, args its CMD."""
    command = [expand(str(c), env) for c in container["command"]] if container.get("command") else None
    args = [expand(str(a), env) for a in container["args"]] if container.get("args") else None
    return command, args


def memory_bytes(value) -> int | None:
    amount = quantity(value)
    return int(amount) if amount is not None and 0 < amount < 2**62 else None


def nano_cpus(value) -> int | None:
    """Docker refuses limits below 0.01 CPU or above the machine's CPUs; Kubernetes runs them."""
    amount = quantity(value)
    if amount is None or amount <= 0:
        return None
    return int(min(max(amount, 0.01), os.cpu_count() or 1) * 1e9)


def resources(container: dict) -> dict:
    limits = (container.get("resources") or {}).get("limits") or {}
    out = {}
    if "memory" in limits and (mem := memory_bytes(limits["memory"])):
        out["mem_limit"] = mem
    if "cpu" in limits and (cpus := nano_cpus(limits["cpu"])):
        out["nano_cpus"] = cpus
    return out


def host_port_bindings(pod_spec: dict, addresses: list[str]) -> dict[str, list[tuple[str, int]]]:
    """The Docker port bindings of a pod's hostPorts, as the kubelet's portmap plugin opens them:
    on the node's addresses (or the port's hostIP alone), straight to the pod's port."""
    out: dict[str, list[tuple[str, int]]] = {}
    for c in pod_spec.get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                key = f"{int(p['containerPort'])}/{str(p.get('protocol') or 'TCP').lower()}"
                ips = [p["hostIP"]] if p.get("hostIP") else addresses
                out.setdefault(key, []).extend((ip, int(p["hostPort"])) for ip in ips)
    return out


def container_ports(pod_spec: dict) -> tuple[tuple[str, int, str], ...]:
    return tuple(
        (p.get("name", ""), int(p["containerPort"]), p.get("protocol", "TCP"))
        for c in pod_spec.get("containers") or []
        for p in c.get("ports") or []
    )
