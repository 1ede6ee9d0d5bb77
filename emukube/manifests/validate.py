"""Validate loaded documents the way the API server would, reporting every problem at once."""

from __future__ import annotations

import difflib
from typing import Callable

from ..k8s.resources import RBAC_GROUP
from .fielderrors import FieldErrors, base64_error, go_value, key_path, object_label, to_problems
from .load import Doc, Problem
from .names import (
    is_config_map_key,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_path_segment_name,
    validate_labels,
)
from .text import go_quote, safe_text
from .validate_admission_policies import validate_admission_policy, validate_admission_policy_binding
from .validate_admissionregistration import validate_webhook_configuration
from .validate_apiregistration import validate_apiservice
from .validate_autoscaling import validate_autoscaler
from .validate_certificates import validate_certificate_signing_request
from .validate_csi import (
    validate_csi_driver,
    validate_csi_node,
    validate_csi_storage_capacity,
    validate_volume_attachment,
    validate_volume_attributes_class,
)
from .validate_job import validate_cronjob, validate_job
from .validate_networking import validate_ingress, validate_ingress_class, validate_network_policy
from .validate_node import validate_runtime_class
from .validate_pod import validate_pod_spec
from .validate_pod_template import validate_pod_template
from .validate_policy import validate_budget, validate_limit_range, validate_quota
from .validate_rbac import KINDS as RBAC_KINDS
from .validate_rbac import validate_rbac
from .validate_scheduling import validate_priority_class
from .validate_secret_types import validate_secret_type
from .validate_service import claim_node_ports, validate_service
from .validate_service_cidr import ip_problems, validate_ip_address, validate_service_cidr
from .validate_storage import validate_claim, validate_storage_class, validate_volume
from .validate_workload import validate_workload

API_VERSIONS = {"Service": "v1", "Pod": "v1", "ConfigMap": "v1", "Secret": "v1", "Namespace": "v1",
                "Deployment": "apps/v1", "StatefulSet": "apps/v1", "ReplicaSet": "apps/v1", "DaemonSet": "apps/v1",
                "ReplicationController": "v1",
                "Job": "batch/v1", "CronJob": "batch/v1", "PersistentVolumeClaim": "v1", "PersistentVolume": "v1",
                "StorageClass": "storage.k8s.io/v1", "PodDisruptionBudget": "policy/v1",
                "HorizontalPodAutoscaler": "autoscaling/v2", "PriorityClass": "scheduling.k8s.io/v1",
                "RuntimeClass": "node.k8s.io/v1", "PodTemplate": "v1", "CSIDriver": "storage.k8s.io/v1",
                "CSINode": "storage.k8s.io/v1", "VolumeAttachment": "storage.k8s.io/v1",
                "CSIStorageCapacity": "storage.k8s.io/v1", "VolumeAttributesClass": "storage.k8s.io/v1",
                "ResourceQuota": "v1", "LimitRange": "v1",
                "ServiceAccount": "v1", **{kind: f"{RBAC_GROUP}/v1" for kind in RBAC_KINDS},
                "Ingress": "networking.k8s.io/v1", "IngressClass": "networking.k8s.io/v1",
                "NetworkPolicy": "networking.k8s.io/v1", "ServiceCIDR": "networking.k8s.io/v1",
                "IPAddress": "networking.k8s.io/v1",
                "MutatingWebhookConfiguration": "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration": "admissionregistration.k8s.io/v1",
                "ValidatingAdmissionPolicy": "admissionregistration.k8s.io/v1",
                "ValidatingAdmissionPolicyBinding": "admissionregistration.k8s.io/v1",
                "CertificateSigningRequest": "certificates.k8s.io/v1",
                "APIService": "apiregistration.k8s.io/v1"}
CLUSTER_SCOPED = {"Namespace", "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass",
                  "RuntimeClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass",
                  "ServiceCIDR", "IPAddress", "ClusterRole", "ClusterRoleBinding",
                  "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy",
                  "ValidatingAdmissionPolicyBinding", "CertificateSigningRequest", "APIService"}
# Where a wrong version is a mistake, not another product.
_BUILTIN_GROUPS = {"", "apps", "extensions", "batch", "storage.k8s.io", "policy", "autoscaling", "scheduling.k8s.io",
                   "node.k8s.io",
                   "networking.k8s.io", "admissionregistration.k8s.io", "certificates.k8s.io",
                   "apiregistration.k8s.io", RBAC_GROUP}
# Versions the API server serves too that emukube does not read: skipped with a warning, not refused.
_OTHER_VERSIONS = {("HorizontalPodAutoscaler", "autoscaling/v1")}
# Every kind the API server serves in these groups: any other kind there is a typo, not a product
# emukube merely does not emulate (kubectl: "no matches for kind").
KNOWN_KINDS = {
    "": {"Binding", "ComponentStatus", "ConfigMap", "Endpoints", "Event", "LimitRange", "Namespace", "Node",
         "PersistentVolume", "PersistentVolumeClaim", "Pod", "PodTemplate", "ReplicationController",
         "ResourceQuota", "Secret", "Service", "ServiceAccount", "List"},
    "apps": {"ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"},
    "batch": {"CronJob", "Job"},
    "autoscaling": {"HorizontalPodAutoscaler", "Scale"},
    "scheduling.k8s.io": {"PriorityClass"},
    "node.k8s.io": {"RuntimeClass"},
    "storage.k8s.io": {"CSIDriver", "CSINode", "CSIStorageCapacity", "StorageClass", "VolumeAttachment",
                       "VolumeAttributesClass"},
    "networking.k8s.io": {"Ingress", "IngressClass", "IPAddress", "NetworkPolicy", "ServiceCIDR"},
    "admissionregistration.k8s.io": {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
                                     "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
                                     "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"},
    "certificates.k8s.io": {"CertificateSigningRequest", "ClusterTrustBundle", "PodCertificateRequest"},
    "apiregistration.k8s.io": {"APIService"},
    RBAC_GROUP: set(RBAC_KINDS),
    "extensions": {"DaemonSet", "Deployment", "Ingress", "NetworkPolicy", "PodSecurityPolicy", "ReplicaSet"},
}
_NAME_CHECKS: dict[str, Callable[[str], list[str]]] = {
    "Service": is_dns1035_label, "Namespace": is_dns1123_label, "StatefulSet": is_dns1123_label,
    # "We don't care what you call your certificate requests": only what a URL's path can hold.
    "CertificateSigningRequest": is_valid_path_segment_name, "APIService": is_valid_path_segment_name,
    "IPAddress": ip_problems,  # ValidateIPAddressName: the IP, in its canonical form
    **{kind: is_valid_path_segment_name for kind in RBAC_KINDS}}  # ValidateRBACName ("system:..." too)
# Kinds whose checks need only the object (Services, pods and workloads need more: below).
_CHECKS: dict[str, Callable[[dict, FieldErrors], None]] = {
    "ConfigMap": lambda obj, errs: _data("ConfigMap", obj, errs),
    "Secret": lambda obj, errs: _secret(obj, errs),
    "PersistentVolumeClaim": validate_claim, "PersistentVolume": validate_volume,
    "StorageClass": validate_storage_class, "PodDisruptionBudget": validate_budget,
    "HorizontalPodAutoscaler": validate_autoscaler, "PriorityClass": validate_priority_class,
    "RuntimeClass": validate_runtime_class, "PodTemplate": validate_pod_template,
    "CSIDriver": validate_csi_driver, "CSINode": validate_csi_node, "VolumeAttachment": validate_volume_attachment,
    "CSIStorageCapacity": validate_csi_storage_capacity, "VolumeAttributesClass": validate_volume_attributes_class,
    "Ingress": validate_ingress, "IngressClass": validate_ingress_class,
    "NetworkPolicy": validate_network_policy, "ResourceQuota": validate_quota,
    "ServiceCIDR": validate_service_cidr, "IPAddress": validate_ip_address,
    "LimitRange": validate_limit_range,
    "MutatingWebhookConfiguration": validate_webhook_configuration,
    "ValidatingWebhookConfiguration": validate_webhook_configuration,
    "ValidatingAdmissionPolicy": validate_admission_policy,
    "ValidatingAdmissionPolicyBinding": validate_admission_policy_binding,
    "CertificateSigningRequest": validate_certificate_signing_request,
    "APIService": validate_apiservice,
    **{kind: validate_rbac for kind in RBAC_KINDS},
}
MAX_DATA_BYTES = 1 << 20  # the API server's limit for ConfigMap and Secret data
MAX_ANNOTATION_BYTES = 256 * 1024


def _group(api: object) -> str | None:
    if not isinstance(api, str) or not api:
        return None
    return api.split("/")[0] if "/" in api else ""


def _unknown_builtin_kind(kind: str, api: object) -> bool:
    """A kind the built-in API group it names has never served (a typo like "Servce")."""
    group = _group(api)
    if group not in KNOWN_KINDS:
        return False
    known = KNOWN_KINDS[group]
    return kind not in known and not (kind.endswith("List") and kind[:-4] in known)


def _emulated(obj: dict) -> bool:
    """False for documents emukube skips (other kinds, or a same-named kind of another API group,
    like Knative's serving.knative.dev/v1 Service). Documents without a usable kind, and kinds no
    built-in group has, are kept so that validation reports them."""
    kind = obj.get("kind")
    if not isinstance(kind, str) or not kind:
        return True
    if kind not in API_VERSIONS:
        return _unknown_builtin_kind(kind, obj.get("apiVersion"))
    if (kind, str(obj.get("apiVersion"))) in _OTHER_VERSIONS:
        return False
    group = _group(obj.get("apiVersion"))
    return group is None or group in _BUILTIN_GROUPS


def split_supported(docs: list[Doc]) -> tuple[list[Doc], list[str]]:
    kept, warnings = [], []
    for doc in docs:
        if not isinstance(doc.obj, dict) or _emulated(doc.obj):
            kept.append(doc)
            continue
        kind, name = object_label(doc.obj)
        api = doc.obj.get("apiVersion")
        what = f"{kind} ({safe_text(api)})" if isinstance(api, str) and kind in API_VERSIONS else kind
        warnings.append(f"{doc.source} (document {doc.index + 1}): skipping {what} {go_quote(name)}: "
                        "emukube does not emulate this kind")
    return kept, warnings


def validate(docs: list[Doc], allow_privileged: bool = False) -> list[Problem]:
    problems: list[Problem] = []
    first_seen: dict[tuple[str, str, str], Doc] = {}
    node_ports: dict[int, str] = {}
    for doc in docs:
        if not isinstance(doc.obj, dict):
            problems.append(Problem(doc.source, doc.index, "document is not a mapping"))
            continue
        if not _emulated(doc.obj):
            continue
        kind, api = doc.obj.get("kind"), doc.obj.get("apiVersion")
        if isinstance(kind, str) and kind in API_VERSIONS and isinstance(api, str) and api \
                and api != API_VERSIONS[kind]:
            problems.append(Problem(doc.source, doc.index, f"no matches for kind {go_quote(kind)} in version "
                                    f"{go_quote(api)} (emukube reads {kind} as {API_VERSIONS[kind]})"))
            continue
        if isinstance(kind, str) and kind and isinstance(api, str) and _unknown_builtin_kind(kind, api):
            problems.append(Problem(doc.source, doc.index, _no_matches(kind, api)))
            continue
        errs = FieldErrors()
        key = _validate_object(doc, errs, allow_privileged, node_ports)
        problems.extend(to_problems(doc, errs))
        if key is None:
            continue
        if key in first_seen:
            problems.append(_duplicate(doc, key, first_seen[key]))
        else:
            first_seen[key] = doc
    return problems


def validate_object(obj: dict, allow_privileged: bool = False) -> list[str]:
    """One object's field errors ("spec.selector: Required value"), for the API server, which
    words them as the causes of a 422 (the kind and name are its message's, not each line's)."""
    errs = FieldErrors()
    _validate_object(Doc("", 0, obj), errs, allow_privileged, {})
    return errs.items


def _no_matches(kind: str, api: str) -> str:
    close = difflib.get_close_matches(kind, sorted(API_VERSIONS), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}, {API_VERSIONS[close[0]]}?)" if close else ""
    return f"no matches for kind {go_quote(kind)} in version {go_quote(api)}{hint}"


def _duplicate(doc: Doc, key: tuple[str, str, str], first: Doc) -> Problem:
    kind, ns, name = key
    where = f" in namespace {go_quote(ns)}" if kind not in CLUSTER_SCOPED else ""
    return Problem(doc.source, doc.index, f"{kind} {go_quote(name)}{where} already exists in the input "
                                          f"(first defined in {first.source}, document {first.index + 1})")


def _validate_object(doc: Doc, errs: FieldErrors, allow_privileged: bool,
                     node_ports: dict[int, str]) -> tuple[str, str, str] | None:
    """Validate one object into `errs`; return its (kind, namespace, name) identity if it has one."""
    obj = doc.obj
    kind, api = obj.get("kind"), obj.get("apiVersion")
    if not isinstance(api, str) or not api:
        if api in (None, ""):
            errs.required("apiVersion")
        else:
            errs.invalid("apiVersion", api, "must be a string")
    if not isinstance(kind, str) or not kind:
        if kind in (None, ""):
            errs.required("kind")
        else:
            errs.invalid("kind", kind, "must be a string")
        return None

    name, namespace = _metadata(kind, obj, errs)
    if kind == "Service":
        validate_service(obj, errs)
        claim_node_ports(obj, node_ports, errs)
    elif kind == "Pod":
        validate_pod_spec(errs.get_map(obj, "spec", ""), "spec", errs, allow_privileged)
    elif kind in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "ReplicationController"):
        validate_workload(kind, obj, errs, allow_privileged)
    elif kind == "Job":
        validate_job(obj, errs, allow_privileged)
    elif kind == "CronJob":
        validate_cronjob(obj, errs, allow_privileged)
    elif kind in _CHECKS:
        _CHECKS[kind](obj, errs)
    return (kind, namespace, name) if name else None


def _metadata(kind: str, obj: dict, errs: FieldErrors) -> tuple[str, str]:
    meta = errs.get_map(obj, "metadata", "")
    name = errs.get_str(meta, "name", "metadata")
    if not name:
        errs.required("metadata.name", "name or generateName is required")
    else:
        errs.invalid_each("metadata.name", name, _NAME_CHECKS.get(kind, is_dns1123_subdomain)(name))
    namespace = ""
    if kind not in CLUSTER_SCOPED:
        namespace = errs.get_str(meta, "namespace", "metadata") or "default"
        errs.invalid_each("metadata.namespace", namespace, is_dns1123_label(namespace))
    validate_labels(errs, errs.get_str_map(meta, "labels", "metadata"), "metadata.labels")
    annotations = errs.get_str_map(meta, "annotations", "metadata")
    for k in annotations:
        errs.invalid_each("metadata.annotations", k, is_qualified_name(k.lower()))
    if sum(len(k) + len(v) for k, v in annotations.items()) > MAX_ANNOTATION_BYTES:
        errs.too_long("metadata.annotations", MAX_ANNOTATION_BYTES)
    return name, namespace


def _secret(obj: dict, errs: FieldErrors) -> None:
    _data("Secret", obj, errs)
    validate_secret_type(obj, errs)


def _data(kind: str, obj: dict, errs: FieldErrors) -> None:
    """ConfigMap data (text) and binaryData (base64); Secret stringData (text) and data (base64).
    Keys must be config keys, values strings. Secret values are never echoed back."""
    secret = kind == "Secret"
    text_field, b64_field = ("stringData", "data") if secret else ("data", "binaryData")
    texts, encoded = errs.get_map(obj, text_field, ""), errs.get_map(obj, b64_field, "")
    shown = "<hidden>" if secret else None
    total = 0
    for field, values in ((text_field, texts), (b64_field, encoded)):
        for k, v in values.items():
            # the API server merges stringData into data before it validates keys
            errs.invalid_each(key_path("data" if secret else field, k), k, is_config_map_key(k))
            if not secret and field == "data" and k in encoded:
                errs.invalid(key_path(field, k), k, "duplicate of key present in binaryData")
            if v is None:
                continue
            if not isinstance(v, str):
                hint = f' (quote it: "{go_value(v)}")' if isinstance(v, (int, float, bool)) and not secret else ""
                errs.invalid(key_path(field, k), v, "must be a string" + hint, shown=shown)
            elif field == b64_field and (bad := base64_error(v)):
                errs.invalid(key_path(field, k), v, f"{bad} (values in {field} must be base64-encoded)", shown=shown)
            else:
                total += len(k) + (len(v) * 3 // 4 if field == b64_field else len(v.encode("utf-8", "surrogatepass")))
    if total > MAX_DATA_BYTES:
        errs.too_long("data", MAX_DATA_BYTES)
