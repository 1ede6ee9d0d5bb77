"""Ingress and IngressClass validation (pkg/apis/networking/validation ValidateIngressCreate and
ValidateIngressClass, networking.k8s.io/v1), worded as kube-apiserver v1.35's.

The objects are read as the API server sees them after decoding: a field given as JSON null is
unset, an empty object (`service: {}`) is set. v1 defaults `parameters.scope` of an IngressClass
to Cluster before validation, so a missing scope is read as Cluster here.
"""

from __future__ import annotations

import ipaddress
import re

from .fielderrors import FieldErrors
from .names import (
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_valid_port_name,
    is_valid_port_num,
    is_wildcard_dns1123_subdomain,
    regex_error,
)

PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"]  # sorted, as sets.List() prints them
# Paths an Exact or Prefix rule may not hold: they would match differently once normalised.
INVALID_PATH_SEQUENCES = ["//", "/./", "/../", "%2f", "%2F"]
INVALID_PATH_SUFFIXES = ["/..", "/."]
SCOPES = ["Cluster", "Namespace"]
MAX_CONTROLLER_BYTES = 250
CLASS_ANNOTATION = "kubernetes.io/ingress.class"

# RFC 3986 path characters, for what follows the domain of an IngressClass controller.
_HTTP_PATH_FMT = r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+"
_HTTP_PATH = re.compile(f"(?:{_HTTP_PATH_FMT})\\Z", re.ASCII)  # \Z: "$" would take a trailing newline


def _parses_as_ip(text: str) -> bool:
    """netutils.ParseIPSloppy: Go's net.ParseIP, which also takes IPv4 parts with leading zeros
    (Python's ipaddress refuses those, and takes IPv6 zones, which Go refuses)."""
    parts = text.split(".")
    if len(parts) == 4 and all(p.isascii() and p.isdigit() and int(p) <= 255 for p in parts):
        return True
    if ":" not in text or "%" in text:
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _host(host: str, path: str, errs: FieldErrors) -> None:
    """A host of a rule or a TLS entry: a DNS subdomain, or one with a `*.` first label."""
    check = is_wildcard_dns1123_subdomain if "*" in host else is_dns1123_subdomain
    errs.invalid_each(path, host, check(host))


def validate_ingress(obj: dict, errs: FieldErrors) -> None:
    spec = errs.get_map(obj, "spec", "")
    rules = errs.get_list(spec, "rules", "spec")
    if not rules and spec.get("defaultBackend") is None:
        # The API server shows spec.rules as JSON: null when absent, [] when given empty.
        shown = "[]" if isinstance(spec.get("rules"), list) else "null"
        errs.invalid("spec", None, "either `defaultBackend` or `rules` must be specified", shown=shown)
    if spec.get("defaultBackend") is not None:
        _backend(errs.get_map(spec, "defaultBackend", "spec"), "spec.defaultBackend", errs)
    for i, rule in errs.maps_in(rules, "spec.rules"):
        _rule(rule, f"spec.rules[{i}]", errs)
    for i, tls in errs.maps_in(errs.get_list(spec, "tls", "spec"), "spec.tls"):
        path = f"spec.tls[{i}]"
        for j, host in errs.strings_in(errs.get_list(tls, "hosts", path), f"{path}.hosts"):
            _host(host, f"{path}.hosts[{j}]", errs)
        secret = errs.get_str(tls, "secretName", path)
        if secret:  # an empty secretName is allowed: TLS without a certificate of its own
            errs.invalid_each(f"{path}.secretName", secret, is_dns1123_subdomain(secret))
    raw_class = spec.get("ingressClassName")
    class_name = errs.get_str(spec, "ingressClassName", "spec") if raw_class is not None else None
    if isinstance(raw_class, str):  # set, even to "": it must then name a class
        errs.invalid_each("spec.ingressClassName", raw_class, is_dns1123_subdomain(raw_class))
    _class_annotation(obj, class_name, errs)


def _class_annotation(obj: dict, class_name: str | None, errs: FieldErrors) -> None:
    """On create, the legacy class annotation may not name another class than ingressClassName."""
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    value = annotations.get(CLASS_ANNOTATION) if isinstance(annotations, dict) else None
    if isinstance(value, str) and class_name is not None and value != class_name:
        errs.invalid(f"annotations.{CLASS_ANNOTATION}", value,
                     "must match `ingressClassName` when both are specified")


def _rule(rule: dict, path: str, errs: FieldErrors) -> None:
    host = errs.get_str(rule, "host", path)
    if host:
        if _parses_as_ip(host):
            errs.invalid(f"{path}.host", host, "must be a DNS name, not an IP address")
        _host(host, f"{path}.host", errs)
    if rule.get("http") is None:
        return
    http = errs.get_map(rule, "http", path)
    paths = errs.get_list(http, "paths", f"{path}.http")
    if not paths:
        errs.required(f"{path}.http.paths")
    for i, item in errs.maps_in(paths, f"{path}.http.paths"):
        _http_path(item, f"{path}.http.paths[{i}]", errs)


def _http_path(item: dict, path: str, errs: FieldErrors) -> None:
    if item.get("pathType") is None:
        # v1 has no default pathType; the API server looks no further at this path.
        errs.required(f"{path}.pathType", "pathType must be specified")
        return
    path_type = errs.get_str(item, "pathType", path)
    value = errs.get_str(item, "path", path)
    if path_type in ("Exact", "Prefix"):
        if not value.startswith("/"):
            errs.invalid(f"{path}.path", value, "must be an absolute path")
        for seq in INVALID_PATH_SEQUENCES:
            if seq in value:
                errs.invalid(f"{path}.path", value, f"must not contain '{seq}'")
        for suffix in INVALID_PATH_SUFFIXES:
            if value.endswith(suffix):
                errs.invalid(f"{path}.path", value, f"cannot end with '{suffix}'")
    elif path_type == "ImplementationSpecific":
        # The controller reads such a path its own way; only a relative one is refused.
        if value and not value.startswith("/"):
            errs.invalid(f"{path}.path", value, "must be an absolute path")
    else:
        errs.not_supported(f"{path}.pathType", path_type, PATH_TYPES)
    _backend(errs.get_map(item, "backend", path), f"{path}.backend", errs)


def _backend(backend: dict, path: str, errs: FieldErrors) -> None:
    has_service = backend.get("service") is not None
    has_resource = backend.get("resource") is not None
    if has_service and has_resource:
        errs.invalid(path, "", "cannot set both resource and service backends")
    elif has_resource:
        _object_reference(errs.get_map(backend, "resource", path), f"{path}.resource", errs)
    elif has_service:
        _service_backend(errs.get_map(backend, "service", path), path, errs)
    else:
        errs.invalid(path, "", "resource or service backend is required")


def _service_backend(service: dict, path: str, errs: FieldErrors) -> None:
    sp = f"{path}.service"
    name = errs.get_str(service, "name", sp)
    if not name:
        errs.required(f"{sp}.name")
    else:
        # A Service's name is a DNS-1035 label (RelaxedServiceNameValidation is alpha, off, in v1.35).
        errs.invalid_each(f"{sp}.name", name, is_dns1035_label(name))
    port = errs.get_map(service, "port", sp)
    port_name = errs.get_str(port, "name", f"{sp}.port")
    number = errs.get_int(port, "number", f"{sp}.port") or 0  # 0 is the unset int32
    if port_name and number:
        errs.invalid(path, "", "cannot set both port name & port number")
    elif port_name:
        errs.invalid_each(f"{sp}.port.name", port_name, is_valid_port_name(port_name))
    elif number:
        errs.invalid_each(f"{sp}.port.number", number, is_valid_port_num(number))
    else:
        errs.required(path, "port name or number is required")


def _object_reference(ref: dict, path: str, errs: FieldErrors) -> None:
    """A TypedLocalObjectReference: a resource backend, or an IngressClass's parameters."""
    if ref.get("apiGroup") is not None:
        group = errs.get_str(ref, "apiGroup", path)
        errs.invalid_each(f"{path}.apiGroup", group, is_dns1123_subdomain(group))
    for key in ("kind", "name"):
        value = errs.get_str(ref, key, path)
        if not value:
            errs.required(f"{path}.{key}", f"{key} is required")
        else:
            errs.invalid_each(f"{path}.{key}", value, _path_segment_problems(value))


def _path_segment_problems(name: str) -> list[str]:
    """IsValidPathSegmentName: the name must be usable as one segment of a REST path."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def validate_ingress_class(obj: dict, errs: FieldErrors) -> None:
    spec = errs.get_map(obj, "spec", "")
    controller = errs.get_str(spec, "controller", "spec")
    if len(controller.encode()) > MAX_CONTROLLER_BYTES:
        # The TooLong wording of apimachinery v1.32+ (FieldErrors.too_long keeps the older one).
        errs.items.append(f"spec.controller: Too long: may not be more than {MAX_CONTROLLER_BYTES} bytes")
    _domain_prefixed_path(controller, "spec.controller", errs)
    if spec.get("parameters") is not None:
        _parameters(errs.get_map(spec, "parameters", "spec"), "spec.parameters", errs)


def _domain_prefixed_path(value: str, path: str, errs: FieldErrors) -> None:
    """IsDomainPrefixedPath: "acme.io/foo", a DNS subdomain, '/', then RFC 3986 path characters."""
    if not value:
        errs.required(path)
        return
    domain, slash, rest = value.partition("/")
    if not slash or not domain or not rest:
        errs.invalid(path, value, 'must be a domain-prefixed path (such as "acme.io/foo")')
        return
    errs.invalid_each(path, domain, is_dns1123_subdomain(domain))
    if not _HTTP_PATH.match(rest):
        errs.invalid(path, rest, regex_error("Invalid path", _HTTP_PATH_FMT))


def _parameters(params: dict, path: str, errs: FieldErrors) -> None:
    _object_reference(params, path, errs)
    scope = errs.get_str(params, "scope", path) if params.get("scope") is not None else "Cluster"
    has_namespace = params.get("namespace") is not None
    if scope not in SCOPES:
        errs.not_supported(f"{path}.scope", scope, SCOPES)
    elif scope == "Namespace" and not has_namespace:
        errs.required(f"{path}.namespace", "`parameters.scope` is set to 'Namespace'")
    elif scope == "Namespace":
        namespace = errs.get_str(params, "namespace", path)
        errs.invalid_each(f"{path}.namespace", namespace, is_dns1123_label(namespace))
    elif has_namespace:
        errs.forbidden(f"{path}.namespace", "`parameters.scope` is set to 'Cluster'")

