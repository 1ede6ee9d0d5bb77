"""PodTemplate validation (pkg/apis/core/validation ValidatePodTemplate, ValidatePodTemplateSpec):
the template's labels and annotations, its pod spec by the pod validation Pods and workloads
have, and no ephemeral containers. Nothing runs a PodTemplate's pods (no controller reads them),
so emukube's guards of the host (privileged pods, the engine's socket) are not applied to it."""

from __future__ import annotations

from .fielderrors import FieldErrors
from .names import is_qualified_name, validate_labels
from .validate_pod import validate_pod_spec

MAX_ANNOTATION_BYTES = 256 * 1024


def validate_pod_template(obj: dict, errs: FieldErrors) -> None:
    template = errs.get_map(obj, "template", "")
    meta = errs.get_map(template, "metadata", "template")
    # The template's ObjectMeta is embedded: Go's paths name template.labels, not template.metadata.labels.
    validate_labels(errs, errs.get_str_map(meta, "labels", "template.metadata"), "template.labels")
    annotations = errs.get_str_map(meta, "annotations", "template.metadata")
    for key in annotations:
        errs.invalid_each("template.annotations", key, is_qualified_name(key.lower()))
    if sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items()) > MAX_ANNOTATION_BYTES:
        errs.too_long("template.annotations", MAX_ANNOTATION_BYTES)
    spec = errs.get_map(template, "spec", "template")
    validate_pod_spec(spec, "template.spec", errs, allow_privileged=True)
    if spec.get("ephemeralContainers"):
        errs.forbidden("template.spec.ephemeralContainers", "ephemeral containers not allowed in pod template")
