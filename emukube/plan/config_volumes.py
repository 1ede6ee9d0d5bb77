"""What a pod's configMap, secret, downwardAPI and projected volumes hold, kept current while
the pod runs. Pure.

The kubelet writes these volumes with its AtomicWriter and rewrites them when the ConfigMap or
Secret changes, or the pod's labels or annotations; a `subPath` mount is a copy made when the
container starts, never updated. A projected volume puts several such sources, and
serviceAccountTokens, in one directory."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from .api_access import is_api_access
from .downward import field_value, resource_value
from .workloads import containers_of

Payload = dict[str, tuple[bytes, int]]  # path inside the volume -> (content, file mode)
# kind -> name -> its data (None: there is no such object)
Lookup = Callable[[str, str], "dict[str, bytes] | None"]

SOURCES = (("configMap", "ConfigMap", "name"), ("secret", "Secret", "secretName"))
KINDS = ("configMap", "secret", "downwardAPI", "projected")  # the volumes this module fills
DEFAULT_MODE = 0o644


@dataclass(frozen=True)
class PodSide:
    """What the pod's downward API and token sources read: its metadata (name, namespace, uid,
    labels, annotations), its node's allocatable resources, and a maker of its service
    account's tokens, (audience or None for the API server's, expirationSeconds) -> token."""

    meta: dict
    allocatable: dict = field(default_factory=dict)
    token: Callable[[str | None, int | None], bytes] | None = None


def source_of(volume: dict, projected: bool = False) -> tuple[str, str, dict] | None:
    """(kind, object name, source) of a configMap or secret volume, or of such a source of a
    projected volume (a secret there is named by `name`); None for anything else."""
    for key, kind, name_key in SOURCES:
        if key in volume:
            src = volume[key] or {}
            return kind, str(src.get("name" if projected else name_key, "")), src
    return None


def payload(src: dict, data: dict[str, bytes], mode: int | None = None) -> Payload:
    """The files of one configMap or secret (source): its items (or every key), with their modes."""
    mode = src.get("defaultMode", DEFAULT_MODE) if mode is None else mode
    items = src.get("items") or [{"key": k, "path": k} for k in sorted(data)]
    return {item["path"]: (data[item["key"]], item.get("mode", mode)) for item in items
            if item["key"] in data and safe_path(str(item["path"]))}


def volume_payload(volume: dict, spec: dict, lookup: Lookup, side: PodSide, missing: list[str]) -> Payload | None:
    """What one volume of the pod holds; None when it is none of KINDS, or when an object it
    needs is missing and not optional (named in `missing`, as the kubelet words it); None too for
    the kube-api-access volume, which the service-account folder serves (plan/api_access.py)."""
    if is_api_access(volume):
        return None
    if "projected" in volume:
        src = volume["projected"] or {}
        mode = src.get("defaultMode", DEFAULT_MODE)
        files: Payload = {}
        for source in src.get("sources") or []:
            part = _source_payload(source or {}, mode, spec, lookup, side, missing)
            if part is None:
                return None
            files.update(part)
        return files
    if "downwardAPI" in volume:
        src = volume["downwardAPI"] or {}
        return _downward(src.get("items") or [], src.get("defaultMode", DEFAULT_MODE), spec, side)
    return _source_payload(volume, None, spec, lookup, side, missing) if source_of(volume) else None


def _source_payload(source: dict, mode: int | None, spec: dict, lookup: Lookup, side: PodSide,
                    missing: list[str]) -> Payload | None:
    """One source of a projected volume, whose defaultMode is `mode`; or with mode None, a
    configMap or secret volume of its own."""
    found = source_of(source, projected=mode is not None)
    if found is not None:
        kind, name, src = found
        data = lookup(kind, name)
        if data is None and not src.get("optional"):
            missing.append(f'{kind.lower()} "{name}" not found')
            return None
        return payload(src, data or {}, mode)
    mode = DEFAULT_MODE if mode is None else mode
    if "downwardAPI" in source:
        return _downward((source["downwardAPI"] or {}).get("items") or [], mode, spec, side)
    token = source.get("serviceAccountToken")
    if token is not None and side.token is not None and safe_path(str(token.get("path") or "")):
        made = side.token(token.get("audience") or None, token.get("expirationSeconds"))
        return {str(token["path"]): (made, mode)}
    return {}  # clusterTrustBundle, podCertificate: nothing here serves them


def _downward(items: list, mode: int, spec: dict, side: PodSide) -> Payload:
    containers = {c.get("name"): c for c in containers_of(spec)}
    files: Payload = {}
    for item in items:
        path = str(item.get("path") or "")
        if not safe_path(path):
            continue
        if "fieldRef" in item:
            value = field_value(str((item["fieldRef"] or {}).get("fieldPath") or ""), side.meta)
        else:
            ref = item.get("resourceFieldRef") or {}
            value = resource_value(ref, containers.get(ref.get("containerName")) or {}, side.allocatable)
        if value is not None:
            files[path] = (value.encode(), item.get("mode", mode))
    return files


def safe_path(path: str) -> bool:
    """AtomicWriter's rule for a path in the volume: relative, no `..` component, not starting
    with `..` (its own `..data` and timestamped directories)."""
    return bool(path) and not path.startswith(("/", "..")) and ".." not in path.split("/")


def live_volumes(spec: dict, lookup: Lookup, side: PodSide) -> dict[str, Payload]:
    """The pod's volumes of KINDS some container mounts whole (not by subPath), by volume name,
    with what they should hold now. A volume whose object is gone and not optional is left out:
    the kubelet keeps the last content it wrote (an optional one is emptied)."""
    mounted = {m["name"] for c in containers_of(spec)
               for m in c.get("volumeMounts") or [] if not m.get("subPath") and not m.get("subPathExpr")}
    out: dict[str, Payload] = {}
    for vol in spec.get("volumes") or []:
        if vol.get("name") in mounted:
            files = volume_payload(vol, spec, lookup, side, [])
            if files is not None:
                out[vol["name"]] = files
    return out


def fs_group(spec: dict) -> int | None:
    """The group the kubelet gives a pod's volume files (securityContext.fsGroup)."""
    group = (spec.get("securityContext") or {}).get("fsGroup")
    return int(group) if group is not None else None


def digest(files: Payload, group: int | None = None) -> str:
    """Identifies a payload: the same digest, nothing to write."""
    h = hashlib.sha256(repr(group).encode())
    for path in sorted(files):
        content, mode = files[path]
        h.update(f"\0{path}\0{mode}\0{len(content)}\0".encode())
        h.update(content)
    return h.hexdigest()


def top_level(files: Payload) -> set[str]:
    """The names the volume's directory shows (each a symlink into `..data`)."""
    return {path.split("/", 1)[0] for path in files}
