"""The downward API: a pod's own fields and its containers' resources, as the kubelet hands them
to env vars (fieldRef, resourceFieldRef) and writes them into downwardAPI volume files. Pure.

The values follow the kubelet's fieldpath.ExtractFieldPathAsString and
resource.ExtractContainerResourceValue: labels and annotations whole are `key="value"` lines
sorted by key; a resource is rounded up to a whole number of its divisor, and a limit the
container does not set is the node's allocatable amount."""

from __future__ import annotations

import math
import re

from .quantity import quantity

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f",
            "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
_ONE_KEY = re.compile(r"metadata\.(labels|annotations)\['(.*)'\]\Z", re.S)
RESOURCES = ("limits.cpu", "limits.memory", "limits.ephemeral-storage",
             "requests.cpu", "requests.memory", "requests.ephemeral-storage")


def quote(s: str) -> str:
    """Go's %q: printable characters kept, the rest escaped."""
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def format_map(values: dict) -> str:
    """fieldpath.FormatMap: `key="value"` per line, sorted, no newline after the last."""
    return "\n".join(f"{k}={quote(str(values[k]))}" for k in sorted(values))


def field_value(path: str, meta: dict) -> str | None:
    """The value of a metadata fieldPath of the pod whose metadata this is; None for a path
    that is not one (status.podIP and the other env-only paths are the caller's)."""
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    if path == "metadata.labels":
        return format_map(labels)
    if path == "metadata.annotations":
        return format_map(annotations)
    one = _ONE_KEY.match(path)
    if one:
        return str((labels if one[1] == "labels" else annotations).get(one[2], ""))
    if path in ("metadata.name", "metadata.namespace", "metadata.uid"):
        return str(meta.get(path.split(".", 1)[1]) or "")
    return None


def resource_value(ref: dict, container: dict, allocatable: dict) -> str | None:
    """A resourceFieldRef's value for this container; None for a resource not served."""
    resource = str(ref.get("resource") or "")
    if resource not in RESOURCES:
        return None
    kind, name = resource.split(".", 1)
    given = ((container.get("resources") or {}).get(kind) or {}).get(name)
    if given is None and kind == "limits":
        given = allocatable.get(name)
    amount = quantity(given if given is not None else 0) or 0.0
    divisor = quantity(ref.get("divisor") or "1") or 1.0
    if name == "cpu":  # in millicores, as the kubelet divides them
        return str(math.ceil(round(amount * 1000) / round(divisor * 1000 or 1)))
    return str(math.ceil(amount / divisor))


def env_has_uid(spec: dict) -> bool:
    """Whether a container's env takes the pod's uid (fieldRef metadata.uid)."""
    return any(((item.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath") == "metadata.uid"
               for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
               for item in c.get("env") or [])
