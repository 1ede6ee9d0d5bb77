"""What a pod's configMap and secret volumes hold, kept current while the pod runs. Pure.

The kubelet writes these volumes with its AtomicWriter and rewrites them when the ConfigMap or
Secret changes; a `subPath` mount is a copy made when the container starts, never updated."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from .workloads import containers_of

Payload = dict[str, tuple[bytes, int]]  # path inside the volume -> (content, file mode)
# kind -> name -> its data (None: there is no such object)
Lookup = Callable[[str, str], "dict[str, bytes] | None"]

SOURCES = (("configMap", "ConfigMap", "name"), ("secret", "Secret", "secretName"))


def source_of(volume: dict) -> tuple[str, str, dict] | None:
    """(kind, object name, source) of a configMap or secret volume; None for other volumes."""
    for key, kind, name_key in SOURCES:
        if key in volume:
            src = volume[key] or {}
            return kind, str(src.get(name_key, "")), src
    return None


def payload(src: dict, data: dict[str, bytes]) -> Payload:
    """The files of one volume: its items (or every key), with their modes."""
    mode = src.get("defaultMode", 0o644)
    items = src.get("items") or [{"key": k, "path": k} for k in sorted(data)]
    return {item["path"]: (data[item["key"]], item.get("mode", mode)) for item in items
            if item["key"] in data and safe_path(str(item["path"]))}


def safe_path(path: str) -> bool:
    """AtomicWriter's rule for a path in the volume: relative, no `..` component, not starting
    with `..` (its own `..data` and timestamped directories)."""
    return bool(path) and not path.startswith(("/", "..")) and ".." not in path.split("/")


def live_volumes(spec: dict, lookup: Lookup) -> dict[str, Payload]:
    """The pod's configMap and secret volumes some container mounts whole (not by subPath), by
    volume name, with what they should hold now. A volume whose object is gone and not optional
    is left out: the kubelet keeps the last content it wrote (an optional one is emptied)."""
    mounted = {m["name"] for c in containers_of(spec)
               for m in c.get("volumeMounts") or [] if not m.get("subPath") and not m.get("subPathExpr")}
    out: dict[str, Payload] = {}
    for vol in spec.get("volumes") or []:
        found = source_of(vol)
        if found is None or vol.get("name") not in mounted:
            continue
        kind, name, src = found
        data = lookup(kind, name)
        if data is None and not src.get("optional"):
            continue
        out[vol["name"]] = payload(src, data or {})
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
