"""PersistentVolumeClaims, PersistentVolumes and StorageClasses, validated and defaulted as
the API server does (ValidatePersistentVolumeClaimSpec and its kin), in its words."""

from __future__ import annotations

from ..plan.quantity import FORMAT_ERROR, quantity
from .fielderrors import FieldErrors, join_path
from .names import is_dns1123_subdomain

ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
VOLUME_MODES = ["Block", "Filesystem"]
RECLAIM_POLICIES = ["Delete", "Recycle", "Retain"]
BINDING_MODES = ["Immediate", "WaitForFirstConsumer"]
REQUIRED_MODE = "at least 1 access mode is required"


def validate_claim_spec(spec: dict, path: str, errs: FieldErrors) -> None:
    modes = errs.get_list(spec, "accessModes", path)
    _access_modes(modes, f"{path}.accessModes", errs)
    requests = errs.get_map(errs.get_map(spec, "resources", path), "requests", f"{path}.resources")
    storage = f"{path}.resources[storage]"
    if "storage" not in requests:
        errs.required(storage)
    else:
        _positive(requests["storage"], storage, errs)
    name = errs.get_str(spec, "storageClassName", path)
    if name:
        errs.invalid_each(f"{path}.storageClassName", name, is_dns1123_subdomain(name))
    _one_of(spec, "volumeMode", path, VOLUME_MODES, errs)


def _one_of(obj: dict, key: str, path: str, values: list[str], errs: FieldErrors) -> None:
    given = errs.get_str(obj, key, path)
    if given and given not in values:
        errs.not_supported(join_path(path, key), given, values)


def _access_modes(modes: list, path: str, errs: FieldErrors, detail: str = REQUIRED_MODE) -> None:
    if not modes:
        errs.required(path, detail)
    for mode in modes:
        if mode not in ACCESS_MODES:
            errs.not_supported(path, mode, ACCESS_MODES)
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        errs.forbidden(path, "may not use ReadWriteOncePod with other access modes")


def _positive(value: object, path: str, errs: FieldErrors) -> None:
    amount = quantity(value)
    if amount is None:
        errs.invalid(path, value, FORMAT_ERROR)
    elif amount <= 0:
        errs.invalid(path, value, "must be greater than zero")


def validate_claim(obj: dict, errs: FieldErrors) -> None:
    validate_claim_spec(errs.get_map(obj, "spec", ""), "spec", errs)


def validate_volume(obj: dict, errs: FieldErrors) -> None:
    spec = errs.get_map(obj, "spec", "")
    _access_modes(errs.get_list(spec, "accessModes", "spec"), "spec.accessModes", errs, "")
    capacity = errs.get_map(spec, "capacity", "spec")
    if not capacity:
        errs.required("spec.capacity")
    elif "storage" not in capacity:
        errs.not_supported("spec.capacity", next(iter(capacity)), ["storage"])
    else:
        _positive(capacity["storage"], "spec.capacity[storage]", errs)
    _one_of(spec, "persistentVolumeReclaimPolicy", "spec", RECLAIM_POLICIES, errs)
    if not any(isinstance(spec.get(k), dict) for k in ("hostPath", "local", "csi", "nfs")):
        errs.required("spec", "must specify a volume type")


def validate_storage_class(obj: dict, errs: FieldErrors) -> None:
    provisioner = errs.get_str(obj, "provisioner", "")
    if not provisioner:
        errs.required("provisioner")
    _one_of(obj, "reclaimPolicy", "", RECLAIM_POLICIES, errs)
    _one_of(obj, "volumeBindingMode", "", BINDING_MODES, errs)


def default_claim(spec: dict) -> None:
    """SetDefaults_PersistentVolumeClaimSpec (the default class comes from admission)."""
    spec.setdefault("volumeMode", "Filesystem")


def default_volume(spec: dict) -> None:
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    spec.setdefault("volumeMode", "Filesystem")


def default_storage_class(obj: dict) -> None:
    obj.setdefault("reclaimPolicy", "Delete")
    obj.setdefault("volumeBindingMode", "Immediate")
