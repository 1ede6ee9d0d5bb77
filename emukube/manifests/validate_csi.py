"""The CSI kinds of storage.k8s.io/v1 (pkg/apis/storage/validation): CSIDriver, CSINode,
VolumeAttachment, CSIStorageCapacity and VolumeAttributesClass, with their defaults
(pkg/apis/storage/v1/defaults.go), what an update may not change, and the strategies' warnings.
They are stored and validated only: emukube has no CSI driver, attacher or provisioner that
would read them (its volumes are the engine's)."""

from __future__ import annotations

from typing import Callable

from ..plan.canonical_quantity import canonical, exact
from ..plan.quantity import FORMAT_ERROR
from .fielderrors import FieldErrors
from .names import inclusive_range_error, is_dns1123_subdomain, is_qualified_name
from .text import go_quote
from .validate_node import DEPRECATED_NODE_LABELS, IMMUTABLE, NONNEGATIVE, go_struct_json
from .validate_storage import ACCESS_MODES
from .validate_workload import label_selector

FS_GROUP_POLICIES = ["File", "None", "ReadWriteOnceWithFSType"]
LIFECYCLE_MODES = ["Persistent", "Ephemeral"]
MAX_PARAMETERS = 512
MAX_PARAMETERS_SIZE = 256 * 1024
MAX_ATTACHMENT_METADATA = 256 * 1024
MAX_ERROR_MESSAGE = 1024
MAX_NODE_ID = 256  # the strategy allows the longer IDs (AllowLongNodeID)
TOKEN_SECRETS_WARNING = ("spec.serviceAccountTokenInSecrets is unset; if supported by this CSI driver, set to true "
                         "to prevent possible logging of tokens in volume attributes")
INLINE = "in the context of inline volumes"


def csi_driver_name(name: str, path: str, errs: FieldErrors) -> None:
    """core's ValidateCSIDriverName: required, at most 63 bytes, a DNS subdomain in any case."""
    if not name:
        errs.required(path)
        return
    if len(name.encode()) > 63:
        errs.too_long(path, 63)
    errs.invalid_each(path, name, is_dns1123_subdomain(name.lower()))


def _qualified_lower(value: str, path: str, errs: FieldErrors) -> None:
    """validateProvisioner: required, and a qualified name in lower case."""
    if not value:
        errs.required(path)
    else:
        errs.invalid_each(path, value.lower(), is_qualified_name(value.lower()))


# ---- CSIDriver -----------------------------------------------------------------------------------

def validate_csi_driver(obj: dict, errs: FieldErrors) -> None:
    """validateCSIDriverSpec. attachRequired, podInfoOnMount, storageCapacity and seLinuxMount are
    required, but defaulting (before validation on the API server) always sets them."""
    spec = errs.get_map(obj, "spec", "")
    policy = errs.get_str(spec, "fsGroupPolicy", "spec")
    if spec.get("fsGroupPolicy") is not None and policy not in FS_GROUP_POLICIES:
        errs.not_supported("spec.fsGroupPolicy", policy, FS_GROUP_POLICIES)
    audiences: set[str] = set()
    for i, request in errs.maps_in(errs.get_list(spec, "tokenRequests", "spec"), "spec.tokenRequests"):
        rp = f"spec.tokenRequests[{i}]"
        audience = errs.get_str(request, "audience", rp)
        if audience in audiences:
            errs.duplicate(f"{rp}.audience", audience)
            continue
        audiences.add(audience)
        seconds = errs.get_int(request, "expirationSeconds", rp)
        if seconds is not None and seconds < 600:
            errs.invalid(f"{rp}.expirationSeconds", seconds, "may not specify a duration less than 10 minutes")
        if seconds is not None and seconds > 1 << 32:
            errs.invalid(f"{rp}.expirationSeconds", seconds, "may not specify a duration larger than 2^32 seconds")
    for _, mode in errs.strings_in(errs.get_list(spec, "volumeLifecycleModes", "spec"), "spec.volumeLifecycleModes"):
        if mode not in LIFECYCLE_MODES:
            errs.not_supported("spec.volumeLifecycleModes", mode, LIFECYCLE_MODES)
    period = errs.get_int(spec, "nodeAllocatableUpdatePeriodSeconds", "spec")
    if period is not None and period < 10:
        errs.invalid("spec.nodeAllocatableUpdatePeriodSeconds", period, "must be greater than or equal to 10 seconds")
    in_secrets = spec.get("serviceAccountTokenInSecrets")
    if in_secrets is not None and not spec.get("tokenRequests"):
        errs.invalid("spec.serviceAccountTokenInSecrets", in_secrets,
                     "serviceAccountTokenInSecrets is set but no tokenRequests are specified")
    for field in ("attachRequired", "podInfoOnMount", "storageCapacity", "requiresRepublish", "seLinuxMount",
                  "serviceAccountTokenInSecrets"):
        errs.get_bool(spec, field, "spec")


def default_csi_driver(obj: dict) -> None:
    """SetDefaults_CSIDriver (SELinuxMountReadWriteOncePod is on in 1.35)."""
    spec = obj["spec"] if isinstance(obj.get("spec"), dict) else obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    for field, value in (("attachRequired", True), ("podInfoOnMount", False), ("storageCapacity", False),
                         ("fsGroupPolicy", "ReadWriteOnceWithFSType")):
        if spec.get(field) is None:
            spec[field] = value
    if not spec.get("volumeLifecycleModes"):
        spec["volumeLifecycleModes"] = ["Persistent"]
    for field in ("requiresRepublish", "seLinuxMount"):
        if spec.get(field) is None:
            spec[field] = False


def csi_driver_update_problems(obj: dict, old: dict) -> list[str]:
    """ValidateCSIDriverUpdate's own checks (its path says attachedRequired, as Go's does)."""
    errs = FieldErrors()
    new_spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    if new_spec.get("attachRequired") != old_spec.get("attachRequired"):
        errs.invalid("spec.attachedRequired", new_spec.get("attachRequired"), IMMUTABLE)
    if (new_spec.get("volumeLifecycleModes") or []) != (old_spec.get("volumeLifecycleModes") or []):
        errs.invalid("spec.volumeLifecycleModes", None, IMMUTABLE,
                     shown=go_struct_json(new_spec.get("volumeLifecycleModes")))
    return errs.items


def csi_driver_warnings(obj: dict, old: dict | None) -> list[str]:
    """The strategy's: tokens requested but not said to go in secrets (on update, only when the
    requests changed)."""
    spec, before = obj.get("spec") or {}, (old or {}).get("spec") or {}
    if old is not None and spec.get("tokenRequests") == before.get("tokenRequests"):
        return []
    return [TOKEN_SECRETS_WARNING] if spec.get("tokenRequests") and spec.get("serviceAccountTokenInSecrets") is None \
        else []


# ---- CSINode -------------------------------------------------------------------------------------

def validate_csi_node(obj: dict, errs: FieldErrors) -> None:
    spec = errs.get_map(obj, "spec", "")
    names: set[str] = set()
    for i, driver in errs.maps_in(errs.get_list(spec, "drivers", "spec"), "spec.drivers"):
        dp = f"spec.drivers[{i}]"
        name = errs.get_str(driver, "name", dp)
        csi_driver_name(name, f"{dp}.name", errs)
        node_id = errs.get_str(driver, "nodeID", dp)
        if not node_id:
            errs.required(f"{dp}.nodeID")
        if len(node_id.encode()) > MAX_NODE_ID:
            errs.invalid(f"{dp}.nodeID", node_id, f"must be {MAX_NODE_ID} characters or less")
        allocatable = errs.get_map(driver, "allocatable", dp)
        count = errs.get_int(allocatable, "count", f"{dp}.allocatable")
        if count is not None and count < 0:
            errs.invalid(f"{dp}.allocatable.count", count, NONNEGATIVE)
        if name in names:
            errs.duplicate(f"{dp}.name", name)
        names.add(name)
        keys: set[str] = set()
        for _, key in errs.strings_in(errs.get_list(driver, "topologyKeys", dp), f"{dp}.topologyKeys"):
            if not key:
                errs.required(dp)
            if key in keys:
                errs.duplicate(dp, key)
            keys.add(key)
            errs.invalid_each(dp, key, is_qualified_name(key))


def _driver_json(driver: dict) -> str:
    """The internal CSINodeDriver as json.Marshal writes it, its allocatable left out of the comparison."""
    keys = driver.get("topologyKeys")
    return go_struct_json({"Name": driver.get("name") or "", "NodeID": driver.get("nodeID") or "",
                           "TopologyKeys": keys if isinstance(keys, list) else None, "Allocatable": None})


def csi_node_update_problems(obj: dict, old: dict) -> list[str]:
    """ValidateCSINodeUpdate: a driver of the same name keeps all but its allocatable count
    (MutableCSINodeAllocatableCount is on in 1.35)."""
    errs = FieldErrors()
    for before in (old.get("spec") or {}).get("drivers") or []:
        for now in (obj.get("spec") or {}).get("drivers") or []:
            if isinstance(before, dict) and isinstance(now, dict) and before.get("name") == now.get("name") and \
                    _driver_json(before) != _driver_json(now):
                errs.invalid("spec.drivers", None, IMMUTABLE, shown=_driver_json(now))
    return errs.items


# ---- VolumeAttachment ----------------------------------------------------------------------------

def validate_volume_attachment(obj: dict, errs: FieldErrors) -> None:
    """ValidateVolumeAttachment, then ValidateVolumeAttachmentV1's extra checks."""
    spec = errs.get_map(obj, "spec", "")
    attacher = errs.get_str(spec, "attacher", "spec")
    if not attacher:
        errs.required("spec.attacher")
    source = errs.get_map(spec, "source", "spec")
    pv_name, inline = source.get("persistentVolumeName"), source.get("inlineVolumeSpec")
    message = "must specify exactly one of inlineVolumeSpec and persistentVolumeName"
    if inline is None and pv_name is None:
        errs.required("spec.source", message)
    elif inline is not None and pv_name is not None:
        errs.forbidden("spec.source", message)
    elif pv_name is not None:
        if not errs.get_str(source, "persistentVolumeName", "spec.source"):
            errs.required("spec.source.persistentVolumeName", "must specify non empty persistentVolumeName")
    else:
        _inline_volume(errs.get_map(source, "inlineVolumeSpec", "spec.source"), "spec.source.inlineVolumeSpec", errs)
    node = errs.get_str(spec, "nodeName", "spec")
    errs.invalid_each("spec.nodeName", node, is_dns1123_subdomain(node))
    status = errs.get_map(obj, "status", "")
    metadata = errs.get_str_map(status, "attachmentMetadata", "status")
    if sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items()) > MAX_ATTACHMENT_METADATA:
        errs.too_long("status.attachmentMetadata", MAX_ATTACHMENT_METADATA)
    for field in ("attachError", "detachError"):
        problem = errs.get_map(status, field, "status")
        if len(errs.get_str(problem, "message", f"status.{field}").encode()) > MAX_ERROR_MESSAGE:
            errs.too_long(f"status.{field}.message", MAX_ATTACHMENT_METADATA)  # sic: Go says the larger limit
        code = errs.get_int(problem, "errorCode", f"status.{field}")
        if code is not None and code < 0:
            errs.invalid(f"status.{field}.errorCode", code, inclusive_range_error(0, 2**31 - 1))
    # ValidateVolumeAttachmentV1
    csi_driver_name(attacher, "spec.attacher", errs)
    if isinstance(pv_name, str):
        errs.invalid_each("spec.source.persistentVolumeName", pv_name, is_dns1123_subdomain(pv_name))


def _inline_volume(spec: dict, path: str, errs: FieldErrors) -> None:
    """ValidatePersistentVolumeSpec for an inline volume: a CSI one, without capacity, claim,
    node affinity or a reclaim policy other than Retain."""
    if spec.get("claimRef") is not None:
        errs.forbidden(f"{path}.claimRef", f"may not be specified {INLINE}")
    if spec.get("capacity"):
        errs.forbidden(f"{path}.capacity", f"may not be specified {INLINE}")
    if spec.get("csi") is None:
        errs.required(f"{path}.csi", f"has to be specified {INLINE}")
    modes = [m for _, m in errs.strings_in(errs.get_list(spec, "accessModes", path), f"{path}.accessModes")]
    if not modes:
        errs.required(f"{path}.accessModes")
    for mode in modes:
        if mode not in ACCESS_MODES:
            errs.not_supported(f"{path}.accessModes", mode, ACCESS_MODES)
    if "ReadWriteOncePod" in modes and any(m != "ReadWriteOncePod" and m in ACCESS_MODES for m in modes):
        errs.forbidden(f"{path}.accessModes", "may not use ReadWriteOncePod with other access modes")
    policy = errs.get_str(spec, "persistentVolumeReclaimPolicy", path)
    if policy and policy != "Retain":
        errs.forbidden(f"{path}.persistentVolumeReclaimPolicy", f"may only be Retain {INLINE}")
    if spec.get("nodeAffinity") is not None:
        errs.forbidden(f"{path}.nodeAffinity", f"may not be specified {INLINE}")
    csi = errs.get_map(spec, "csi", path)
    if spec.get("csi") is not None:
        csi_driver_name(errs.get_str(csi, "driver", f"{path}.csi"), f"{path}.csi.driver", errs)
        if not errs.get_str(csi, "volumeHandle", f"{path}.csi"):
            errs.required(f"{path}.csi.volumeHandle")


def _attachment_spec_json(spec: dict) -> str:
    source = s if isinstance(s := spec.get("source"), dict) else {}
    return go_struct_json({"Attacher": spec.get("attacher") or "",
                           "Source": {"PersistentVolumeName": source.get("persistentVolumeName"),
                                      "InlineVolumeSpec": source.get("inlineVolumeSpec")},
                           "NodeName": spec.get("nodeName") or ""})


def volume_attachment_update_problems(obj: dict, old: dict) -> list[str]:
    """ValidateVolumeAttachmentUpdate: the spec is read-only."""
    if (obj.get("spec") or {}) == (old.get("spec") or {}):
        return []
    return [f"spec: Invalid value: {_attachment_spec_json(obj.get('spec') or {})}: {IMMUTABLE}"]


# ---- CSIStorageCapacity --------------------------------------------------------------------------

def validate_csi_storage_capacity(obj: dict, errs: FieldErrors) -> None:
    if obj.get("nodeTopology") is not None:
        label_selector(errs.get_map(obj, "nodeTopology", ""), "nodeTopology", errs)
    name = errs.get_str(obj, "storageClassName", "")
    errs.invalid_each("storageClassName", name, is_dns1123_subdomain(name))
    for field in ("capacity", "maximumVolumeSize"):
        if obj.get(field) is None:
            continue
        amount = exact(obj[field])
        if amount is None:
            errs.invalid(field, obj[field], FORMAT_ERROR)
        elif amount < 0 and field == "capacity":
            errs.invalid(field, None, NONNEGATIVE, shown=go_quote(canonical(obj[field]) or ""))


def _selector_json(selector: object) -> str:
    """A *metav1.LabelSelector as json.Marshal writes it (its json tags, omitempty; maps sorted)."""
    if not isinstance(selector, dict):
        return "null"
    out: dict = {}
    if selector.get("matchLabels"):
        out["matchLabels"] = dict(sorted(selector["matchLabels"].items()))
    if selector.get("matchExpressions"):
        out["matchExpressions"] = [
            {"key": e.get("key") or "", "operator": e.get("operator") or "",
             **({"values": e["values"]} if e.get("values") else {})}
            for e in selector["matchExpressions"] if isinstance(e, dict)]
    return go_struct_json(out)


def csi_storage_capacity_update_problems(obj: dict, old: dict) -> list[str]:
    """ValidateCSIStorageCapacityUpdate: the inputs of the driver's GetCapacity stay."""
    items = []
    if _selector_json(obj.get("nodeTopology")) != _selector_json(old.get("nodeTopology")):
        items.append(f"nodeTopology: Invalid value: {_selector_json(obj.get('nodeTopology'))}: {IMMUTABLE}")
    if (obj.get("storageClassName") or "") != (old.get("storageClassName") or ""):
        items.append(f"storageClassName: Invalid value: {go_quote(obj.get('storageClassName') or '')}: {IMMUTABLE}")
    return items


def csi_storage_capacity_warnings(obj: dict, old: dict | None = None) -> list[str]:
    """GetWarningsForNodeSelector of nodeTopology: deprecated node labels."""
    selector = n if isinstance(n := obj.get("nodeTopology"), dict) else {}
    out = []
    for i, expression in enumerate(selector.get("matchExpressions") or []):
        key = expression.get("key") if isinstance(expression, dict) else None
        if key in DEPRECATED_NODE_LABELS:
            out.append(f"nodeTopology.matchExpressions[{i}].key: {key} is {DEPRECATED_NODE_LABELS[key]}")
    for label in selector.get("matchLabels") or {}:
        if label in DEPRECATED_NODE_LABELS:
            out.append(f"nodeTopology.matchLabels.{label}: {DEPRECATED_NODE_LABELS[label]}")
    return out


# ---- VolumeAttributesClass -----------------------------------------------------------------------

def validate_volume_attributes_class(obj: dict, errs: FieldErrors) -> None:
    _qualified_lower(errs.get_str(obj, "driverName", ""), "driverName", errs)
    parameters = errs.get_str_map(obj, "parameters", "")
    if len(parameters) > MAX_PARAMETERS:
        errs.too_long("parameters", MAX_PARAMETERS)
        return
    for key in parameters:
        if not key:
            errs.invalid("parameters", key, "field can not be empty.")
    if sum(len(k.encode()) + len(v.encode()) for k, v in parameters.items()) > MAX_PARAMETERS_SIZE:
        errs.too_long("parameters", MAX_PARAMETERS_SIZE)
    if not parameters:
        errs.required("parameters", "must contain at least one key/value pair")


def volume_attributes_class_update_problems(obj: dict, old: dict) -> list[str]:
    errs = FieldErrors()
    if (obj.get("driverName") or "") != (old.get("driverName") or ""):
        errs.forbidden("driverName", "updates to driverName are forbidden.")
    if obj.get("parameters") != old.get("parameters"):
        errs.forbidden("parameters", "updates to parameters are forbidden.")
    return errs.items


DEFAULTS: dict[str, Callable[[dict], None]] = {
    "CSIDriver": default_csi_driver, "CSINode": lambda obj: None, "VolumeAttachment": lambda obj: None,
    "CSIStorageCapacity": lambda obj: None, "VolumeAttributesClass": lambda obj: None,
}
UPDATE_CHECKS: dict[str, Callable[[dict, dict], list[str]]] = {
    "CSIDriver": csi_driver_update_problems, "CSINode": csi_node_update_problems,
    "VolumeAttachment": volume_attachment_update_problems,
    "CSIStorageCapacity": csi_storage_capacity_update_problems,
    "VolumeAttributesClass": volume_attributes_class_update_problems,
}
WARNINGS: dict[str, Callable[[dict, dict | None], list[str]]] = {
    "CSIDriver": csi_driver_warnings, "CSIStorageCapacity": csi_storage_capacity_warnings,
}
