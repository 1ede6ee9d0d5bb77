"""Printers for PersistentVolumeClaims, PersistentVolumes and StorageClasses
(printPersistentVolumeClaim, printPersistentVolume, printStorageClass)."""

from __future__ import annotations

from .format import since

_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


def access_modes(modes) -> str:
    """helper.GetAccessModesAsString: the short names, in the order RWO, ROX, RWX, RWOP."""
    given = set(modes or [])
    return ",".join(short for mode, short in _MODES.items() if mode in given)


def _storage(resources: dict | None) -> str:
    return str((resources or {}).get("storage", ""))


def _class_of(obj: dict) -> str:
    """GetPersistentVolume(Claim)Class: the beta annotation wins over the field."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    given = (obj.get("spec") or {}).get("storageClassName") or ""
    return annotations.get("volume.beta.kubernetes.io/storage-class", given)


def _phase(obj: dict) -> str:
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    return (obj.get("status") or {}).get("phase", "")


def claim_cells(pvc: dict, now: float) -> list:
    meta, spec, status = pvc.get("metadata") or {}, pvc.get("spec") or {}, pvc.get("status") or {}
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = access_modes(status.get("accessModes"))
        capacity = _storage(status.get("capacity"))
    return [meta.get("name", ""), _phase(pvc), spec.get("volumeName", ""), capacity, modes, _class_of(pvc),
            spec.get("volumeAttributesClassName") or "<unset>", since(meta.get("creationTimestamp"), now),
            spec.get("volumeMode") or "<unset>"]


def volume_cells(pv: dict, now: float) -> list:
    meta, spec, status = pv.get("metadata") or {}, pv.get("spec") or {}, pv.get("status") or {}
    ref = spec.get("claimRef")
    claim = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""
    return [meta.get("name", ""), _storage(spec.get("capacity")), access_modes(spec.get("accessModes")),
            spec.get("persistentVolumeReclaimPolicy", ""), _phase(pv), claim, _class_of(pv),
            spec.get("volumeAttributesClassName") or "<unset>", status.get("reason", ""),
            since(meta.get("creationTimestamp"), now), spec.get("volumeMode") or "<unset>"]


def is_default_class(sc: dict) -> bool:
    """storageutil.IsDefaultAnnotation (the beta annotation counts too)."""
    annotations = (sc.get("metadata") or {}).get("annotations") or {}
    beta = annotations.get("storageclass.beta.kubernetes.io/is-default-class")
    return "true" in (annotations.get(DEFAULT_CLASS), beta)


def storage_class_cells(sc: dict, now: float) -> list:
    meta = sc.get("metadata") or {}
    name = meta.get("name", "") + (" (default)" if is_default_class(sc) else "")
    return [name, sc.get("provisioner", ""), sc.get("reclaimPolicy") or "Delete",
            sc.get("volumeBindingMode") or "Immediate", bool(sc.get("allowVolumeExpansion")),
            since(meta.get("creationTimestamp"), now)]
