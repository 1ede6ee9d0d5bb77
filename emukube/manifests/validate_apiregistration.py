"""APIService (apiregistration.k8s.io/v1) validation, as kube-aggregator 0.35's ValidateAPIService
words it: the name is VERSION.GROUP, the priorities' ranges, a Service or none (Local), and the
TLS settings a Local one may not have."""

from __future__ import annotations

from .fielderrors import FieldErrors, base64_bytes
from .names import is_dns1035_label, is_dns1123_subdomain, is_valid_path_segment_name, is_valid_port_num
from .text import go_quote


def validate_apiservice(obj: dict, errs: FieldErrors) -> None:
    spec = errs.get_map(obj, "spec", "")
    group, version = errs.get_str(spec, "group", "spec"), errs.get_str(spec, "version", "spec")
    name = (obj.get("metadata") or {}).get("name") or ""
    required = f"{version}.{group}"
    if name and not is_valid_path_segment_name(name) and name != required:
        errs.invalid("metadata.name", name, f'must be `spec.version+"."+spec.group`: {go_quote(required)}')
    if not group and version != "v1":
        errs.required("spec.group", "only v1 may have an empty group and it better be legacy kube")
    if group:
        errs.invalid_each("spec.group", group, is_dns1123_subdomain(group))
    errs.invalid_each("spec.version", version, is_dns1035_label(version))
    group_priority = errs.get_int(spec, "groupPriorityMinimum", "spec") or 0
    if not 0 < group_priority <= 20000:
        errs.invalid("spec.groupPriorityMinimum", group_priority, "must be positive and less than 20000")
    version_priority = errs.get_int(spec, "versionPriority", "spec") or 0
    if not 0 < version_priority <= 1000:
        errs.invalid("spec.versionPriority", version_priority, "must be positive and less than 1000")
    bundle = spec.get("caBundle") or ""
    insecure = spec.get("insecureSkipTLSVerify") is True
    service = spec.get("service")
    if not isinstance(service, dict):
        if bundle:
            size = len(base64_bytes(bundle) or b"")
            errs.invalid("spec.caBundle", f"{size} bytes", "local APIServices may not have a caBundle")
        if insecure:
            errs.invalid("spec.insecureSkipTLSVerify", True, "local APIServices may not have insecureSkipTLSVerify")
        return
    if not errs.get_str(service, "namespace", "spec.service"):
        errs.required("spec.service.namespace")
    if not errs.get_str(service, "name", "spec.service"):
        errs.required("spec.service.name")
    port = errs.get_int(service, "port", "spec.service")
    port = 443 if port is None else port
    if problems := is_valid_port_num(port):
        errs.invalid("spec.service.port", port, "port is not valid: " + ", ".join(problems))
    if insecure and bundle:
        errs.invalid("spec.insecureSkipTLSVerify", True, "may not be true if caBundle is present")
