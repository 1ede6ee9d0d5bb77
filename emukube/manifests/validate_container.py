"""Container checks that guard the host: securityContext, resources, env references.

The privileged settings (capabilities beyond Docker's defaults, seccomp Unconfined) are refused
unless --allow-privileged, like the Pod Security Standards' baseline profile.
"""

from __future__ import annotations

from ..plan.capabilities import BASELINE_CAPABILITIES, cap_name
from ..plan.downward import RESOURCES
from ..plan.quantity import FORMAT_ERROR, quantity
from .fielderrors import FieldErrors
from .names import is_config_map_key, is_dns1123_subdomain
from .text import go_quote

ALLOW_HINT = "(pass --allow-privileged to allow it)"
SECCOMP_TYPES = ["Localhost", "RuntimeDefault", "Unconfined"]
FIELD_PATHS = ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
               "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP",
               "status.podIPs"]
RESOURCE_FIELDS = sorted(RESOURCES)
MAX_ID = 2147483647


def pod_security(security: dict, sp: str, errs: FieldErrors, allow_privileged: bool) -> None:
    for field in ("runAsUser", "runAsGroup", "fsGroup"):
        _id(security, field, sp, errs)
    _seccomp(security, sp, errs, allow_privileged)


def container_security(security: dict, sp: str, errs: FieldErrors, allow_privileged: bool) -> None:
    for field in ("runAsUser", "runAsGroup"):
        _id(security, field, sp, errs)
    for field in ("runAsNonRoot", "readOnlyRootFilesystem", "allowPrivilegeEscalation"):
        errs.get_bool(security, field, sp)
    capabilities = errs.get_map(security, "capabilities", sp)
    for field in ("add", "drop"):
        for i, cap in enumerate(errs.get_list(capabilities, field, f"{sp}.capabilities")):
            if not isinstance(cap, str) or not cap:
                errs.invalid(f"{sp}.capabilities.{field}[{i}]", cap, "must be a capability name such as NET_ADMIN")
            elif field == "add" and not allow_privileged and cap_name(cap) not in BASELINE_CAPABILITIES:
                errs.forbidden(f"{sp}.capabilities.add[{i}]", f"adding capability {go_quote(cap)} is refused by "
                                                               f"default {ALLOW_HINT}")
    _seccomp(security, sp, errs, allow_privileged)


def _id(security: dict, field: str, sp: str, errs: FieldErrors) -> None:
    value = errs.get_int(security, field, sp)
    if value is not None and not 0 <= value <= MAX_ID:
        errs.invalid(f"{sp}.{field}", value, f"must be between 0 and {MAX_ID}, inclusive")


def _seccomp(security: dict, sp: str, errs: FieldErrors, allow_privileged: bool) -> None:
    """Containers keep the runtime's default seccomp profile unless privileged use is allowed."""
    profile = errs.get_map(security, "seccompProfile", sp)
    kind = errs.get_str(profile, "type", f"{sp}.seccompProfile")
    if not profile:
        return
    if profile.get("type") is None:
        errs.required(f"{sp}.seccompProfile.type")
    elif not kind:
        return  # not a string: reported by get_str
    elif kind not in SECCOMP_TYPES:
        errs.not_supported(f"{sp}.seccompProfile.type", kind, SECCOMP_TYPES)
    elif kind == "Unconfined" and not allow_privileged:
        errs.forbidden(f"{sp}.seccompProfile.type", f"running without a seccomp profile is refused by default "
                                                     f"{ALLOW_HINT}")
    elif kind == "Localhost" and not errs.get_str(profile, "localhostProfile", f"{sp}.seccompProfile"):
        errs.required(f"{sp}.seccompProfile.localhostProfile", "must be set when seccomp type is Localhost")


def container_resources(c: dict, cp: str, errs: FieldErrors) -> None:
    resources = errs.get_map(c, "resources", cp)
    for field in ("limits", "requests"):
        rp = f"{cp}.resources.{field}"
        for name, value in errs.get_map(resources, field, f"{cp}.resources").items():
            amount = quantity(value)
            if amount is None:
                errs.invalid(f"{rp}[{name}]", value, FORMAT_ERROR)
            elif amount < 0:
                errs.invalid(f"{rp}[{name}]", value, "must be greater than or equal to 0")


def env_source(kind: str, ref: object, rp: str, errs: FieldErrors) -> None:
    """One valueFrom source (fieldRef, configMapKeyRef, ...) or envFrom source (configMapRef, secretRef)."""
    if not isinstance(ref, dict):
        errs.invalid(rp, ref, "must be an object")
        return
    if kind in ("fieldRef", "resourceFieldRef"):
        field, supported = ("fieldPath", FIELD_PATHS) if kind == "fieldRef" else ("resource", RESOURCE_FIELDS)
        value = errs.get_str(ref, field, rp)
        if not value and ref.get(field) is None:
            errs.required(f"{rp}.{field}")
        elif value and value.split("[", 1)[0] not in supported:
            errs.not_supported(f"{rp}.{field}", value, supported)
        return
    name = errs.get_str(ref, "name", rp)
    if not name and ref.get("name") is None:
        errs.required(f"{rp}.name")
    elif name:
        errs.invalid_each(f"{rp}.name", name, is_dns1123_subdomain(name))
    errs.get_bool(ref, "optional", rp)
    if kind in ("configMapKeyRef", "secretKeyRef"):
        key = errs.get_str(ref, "key", rp)
        if not key:
            errs.required(f"{rp}.key")
        else:
            errs.invalid_each(f"{rp}.key", key, is_config_map_key(key))
