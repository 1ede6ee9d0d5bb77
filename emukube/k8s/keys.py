"""`namespace/name`: how emukube keys a namespaced object (a pod, a Service, an owner) in its maps,
its status report and its requests, as client-go's MetaNamespaceKeyFunc does. A distinct type,
so that a map of pods cannot be read with a bare name or a `kind/name` reference."""

from __future__ import annotations

from typing import NewType

ObjectKey = NewType("ObjectKey", str)
PodKey = ObjectKey  # the key of a pod: the controller's maps of pods are keyed by it


def object_key(namespace: str | None, name: str) -> ObjectKey:
    return ObjectKey(f"{namespace or 'default'}/{name}")


def key_of(obj: dict) -> ObjectKey:
    """An object's key from its metadata (an object without a namespace is in `default`)."""
    meta = obj.get("metadata") or {}
    return object_key(meta.get("namespace"), str(meta.get("name", "")))


def split(k: str) -> tuple[str, str]:
    """(namespace, name) of a key."""
    namespace, _, name = k.partition("/")
    return namespace, name
