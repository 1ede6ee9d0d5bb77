"""What kube-apiserver's admission does to claims and volumes beyond validation: the
DefaultStorageClass plugin (a claim without storageClassName gets the default class), the
StorageObjectInUseProtection plugin (the pvc- and pv-protection finalizers), and the phase a
new claim or volume starts in. The default StorageClass itself is one of system.py's objects."""

from __future__ import annotations

from ..k8s.resources import BY_KEY
from . import errors
from .printers.storage import DEFAULT_CLASS, is_default_class

PVC_PROTECTION, PV_PROTECTION = "kubernetes.io/pvc-protection", "kubernetes.io/pv-protection"
STORAGE_CLASSES = BY_KEY["storageclasses.storage.k8s.io"]
BINDER_ANNOTATIONS = ("pv.kubernetes.io/", "volume.kubernetes.io/", "volume.beta.kubernetes.io/")
IMMUTABLE = "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"


def default_storage_class() -> dict:
    """Every cluster's: like kind's `standard`, but binding at once (a claim is bound before any
    pod asks for it) and backed by a Docker named volume per PersistentVolume."""
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "standard", "annotations": {DEFAULT_CLASS: "true"}},
            "provisioner": "emukube.io/docker-volume", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}


def admit_storage(op: str, kind: str, obj: dict, old: dict | None, store) -> list[str]:
    """Mutate `obj` as admission does; return field errors (an update changing a claim's spec)."""
    meta = obj.setdefault("metadata", {})
    finalizer = PVC_PROTECTION if kind == "PersistentVolumeClaim" else PV_PROTECTION
    if kind == "StorageClass":
        return []
    spec = obj.setdefault("spec", {})
    if op == "CREATE":
        obj["status"] = {"phase": "Pending"}
        if finalizer not in (meta.get("finalizers") or []):
            meta["finalizers"] = [*(meta.get("finalizers") or []), finalizer]
        if kind == "PersistentVolumeClaim" and "storageClassName" not in spec:
            default = _default_class(store)
            if default:
                spec["storageClassName"] = default
        return []
    if old is None or kind != "PersistentVolumeClaim":
        return []
    before = old.get("spec") or {}
    # A PUT of the manifest again (emukube up) leaves out what the binder and admission set.
    for key in ("volumeName", "storageClassName"):
        if key not in spec and key in before:
            spec[key] = before[key]
    kept = {k: v for k, v in (old["metadata"].get("annotations") or {}).items() if k.startswith(BINDER_ANNOTATIONS)}
    if kept and not any(k.startswith(BINDER_ANNOTATIONS) for k in meta.get("annotations") or {}):
        meta["annotations"] = {**(meta.get("annotations") or {}), **kept}
    # ... and its finalizer, which only the controller takes away, once the claim is being deleted.
    if finalizer in (old["metadata"].get("finalizers") or []) and not meta.get("finalizers") and \
            not old["metadata"].get("deletionTimestamp"):
        meta["finalizers"] = [finalizer]
    # The binder sets volumeName, once (ValidatePersistentVolumeClaimUpdate allows that).
    strip = ("resources", "volumeAttributesClassName", *(() if before.get("volumeName") else ("volumeName",)))
    if {k: v for k, v in spec.items() if k not in strip} != {k: v for k, v in before.items() if k not in strip}:
        return [f"spec: Forbidden: {IMMUTABLE}"]
    return _resize(meta.get("name", ""), spec, before, store)


def _resize(name: str, spec: dict, before: dict, store) -> list[str]:
    """A bound claim asking for more: only where its class allows expansion (and the
    PersistentVolumeClaimResize plugin's words otherwise); emukube never grows the volume."""
    def storage(s: dict):
        return ((s.get("resources") or {}).get("requests") or {}).get("storage")
    if not before.get("volumeName") or storage(spec) == storage(before):
        return []
    classes, _ = store.list(STORAGE_CLASSES.key)
    sc = next((c for c in classes if c["metadata"]["name"] == spec.get("storageClassName")), None)
    if sc is None or not sc.get("allowVolumeExpansion"):
        raise errors.ApiError(403, "Forbidden", f'persistentvolumeclaims "{name}" is forbidden: only dynamically '
                              "provisioned pvc can be resized and the storageclass that provisions the pvc must "
                              "support resize", {"name": name, "kind": "persistentvolumeclaims"})
    return []


def _default_class(store) -> str:
    """The newest default StorageClass, as the plugin picks among several."""
    classes, _ = store.list(STORAGE_CLASSES.key)
    defaults = sorted((c for c in classes if is_default_class(c)),
                      key=lambda c: (c["metadata"].get("creationTimestamp", ""), c["metadata"]["name"]))
    return defaults[-1]["metadata"]["name"] if defaults else ""
