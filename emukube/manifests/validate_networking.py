"""Ingress, IngressClass and NetworkPolicy validation (pkg/apis/networking/validation
ValidateIngressCreate, ValidateIngressClass and ValidateNetworkPolicySpec, networking.k8s.io/v1),
worded as kube-apiserver v1.35's.

The objects are read as the API server sees them after decoding: a field given as JSON null is
unset, an empty object (`service: {}`) is set. v1 defaults `parameters.scope` of an IngressClass
to Cluster before validation, so a missing scope is read as Cluster here.
"""

from __future__ import annotations

import ipaddress
import re

from .fielderrors import FieldErrors, go_value
from .names import (
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_valid_path_segment_name,
    is_valid_port_name,
    is_valid_port_num,
    is_wildcard_dns1123_subdomain,
    regex_error,
)
from .validate_workload import label_selector

PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"]  # sorted, as sets.List() prints them
# Paths an Exact or Prefix rule may not hold: they would match differently once normalised.
INVALID_PATH_SEQUENCES = ["//", "/./", "/../", "%2f", "%2F"]
INVALID_PATH_SUFFIXES = ["/..", "/."]
SCOPES = ["Cluster", "Namespace"]
MAX_CONTROLLER_BYTES = 250
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
POLICY_PROTOCOLS = ["TCP", "UDP", "SCTP"]  # listed in this order, unsorted (unlike a Service's)
POLICY_TYPES = ["Ingress", "Egress"]
# The wording of apimachinery's IsValidCIDRForLegacyField; v1.35 runs it without strict checks
# (the StrictIPCIDRValidation gate is alpha and off), so that is its only complaint.
CIDR_INVALID = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# RFC 3986 path characters, for what follows the domain of an IngressClass controller.
_HTTP_PATH_FMT = r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+"
_HTTP_PATH = re.compile(f"(?:{_HTTP_PATH_FMT})\\Z", re.ASCII)  # \Z: "$" would take a trailing newline


def sloppy_ip(text: str) -> IPAddress | None:
    """netutils.ParseIPSloppy: Go's net.ParseIP, which also takes IPv4 parts with leading zeros
    (Python's ipaddress refuses those, and takes IPv6 zones, which Go refuses)."""
    parts = text.split(".")
    if len(parts) == 4 and all(p.isascii() and p.isdigit() and int(p) <= 255 for p in parts):
        return ipaddress.IPv4Address(".".join(str(int(p)) for p in parts))
    if ":" not in text or "%" in text:
        return None
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        return None


def _parses_as_ip(text: str) -> bool:
    return sloppy_ip(text) is not None


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
            errs.invalid_each(f"{path}.{key}", value, is_valid_path_segment_name(value))


def validate_ingress_class(obj: dict, errs: FieldErrors) -> None:
    spec = errs.get_map(obj, "spec", "")
    controller = errs.get_str(spec, "controller", "spec")
    if len(controller.encode()) > MAX_CONTROLLER_BYTES:
        # The TooLong wording of apimachinery v1.32+ (FieldErrors.too_long keeps the older one).
        errs.too_long("spec.controller", MAX_CONTROLLER_BYTES)
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


def validate_network_policy(obj: dict, errs: FieldErrors) -> None:
    """ValidateNetworkPolicySpec: the selected pods, then every ingress rule, every egress rule,
    and last the policy types; all problems at once, in that order."""
    spec = errs.get_map(obj, "spec", "")
    label_selector(errs.get_map(spec, "podSelector", "spec"), "spec.podSelector", errs)
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in errs.maps_in(errs.get_list(spec, direction, "spec"), f"spec.{direction}"):
            path = f"spec.{direction}[{i}]"
            for j, port in errs.maps_in(errs.get_list(rule, "ports", path), f"{path}.ports"):
                _policy_port(port, f"{path}.ports[{j}]", errs)
            for k, peer in errs.maps_in(errs.get_list(rule, peers_key, path), f"{path}.{peers_key}"):
                _policy_peer(peer, f"{path}.{peers_key}[{k}]", errs)
    _policy_types(spec, errs)


def _policy_port(port: dict, path: str, errs: FieldErrors) -> None:
    """ValidateNetworkPolicyPort: a protocol, a port number or IANA name, and a range end that
    only makes sense after a numeric port."""
    raw_protocol = port.get("protocol")
    if raw_protocol is not None:  # set, even to "": v1 defaults only a missing one to TCP
        protocol = errs.get_str(port, "protocol", path)
        if isinstance(raw_protocol, str) and protocol not in POLICY_PROTOCOLS:
            errs.not_supported(f"{path}.protocol", protocol, POLICY_PROTOCOLS)
    value = errs.get_int_or_str(port, "port", path)
    end = errs.get_int(port, "endPort", path)
    if isinstance(value, int):
        errs.invalid_each(f"{path}.port", value, is_valid_port_num(value))
        if end is not None:
            if end < value:
                errs.invalid(f"{path}.endPort", end, "must be greater than or equal to `port`")
            errs.invalid_each(f"{path}.endPort", end, is_valid_port_num(end))
    elif isinstance(value, str):
        if end is not None:
            errs.invalid(f"{path}.endPort", end, "may not be specified when `port` is non-numeric")
        errs.invalid_each(f"{path}.port", value, is_valid_port_name(value))
    elif end is not None and port.get("port") is None:  # a port of a wrong type is reported already
        errs.invalid(f"{path}.endPort", end, "may not be specified when `port` is not specified")


def _policy_peer(peer: dict, path: str, errs: FieldErrors) -> None:
    """ValidateNetworkPolicyPeer: at least one kind of peer. The two selectors may be combined (pods
    of the selected namespaces), but an ipBlock names addresses, so it must stand alone."""
    peers = 0
    for key in ("podSelector", "namespaceSelector"):
        if peer.get(key) is not None:  # `{}` is set (it selects everything); null is not
            peers += 1
            label_selector(errs.get_map(peer, key, path), f"{path}.{key}", errs)
    has_block = peer.get("ipBlock") is not None
    if has_block:
        peers += 1
        _ip_block(errs.get_map(peer, "ipBlock", path), f"{path}.ipBlock", errs)
    if peers == 0:
        errs.required(path, "must specify a peer")
    elif peers > 1 and has_block:
        errs.forbidden(path, "may not specify both ipBlock and another peer")


def _ip_block(block: dict, path: str, errs: FieldErrors) -> None:
    """ValidateIPBlock: a CIDR, and excepted CIDRs each strictly inside it."""
    text = errs.get_str(block, "cidr", path)
    if not text:
        errs.required(f"{path}.cidr")
        return
    cidr = parse_cidr_sloppy(text)
    if cidr is None:  # the excepted ranges cannot be compared with it: the API server stops here
        errs.invalid(f"{path}.cidr", text, CIDR_INVALID)
        return
    for i, except_text in errs.strings_in(errs.get_list(block, "except", path), f"{path}.except"):
        except_path = f"{path}.except[{i}]"
        excepted = parse_cidr_sloppy(except_text)
        if excepted is None:
            errs.invalid(except_path, except_text, CIDR_INVALID)
        elif not _go_contains(cidr, excepted.network_address) or cidr.prefixlen >= excepted.prefixlen:
            errs.invalid(except_path, except_text, "must be a strict subset of `cidr`")


def parse_cidr_sloppy(text: str) -> IPNetwork | None:
    """netutils.ParseCIDRSloppy (Go 1.16's net.ParseCIDR): a sloppy IP, '/', then decimal digits
    (leading zeros allowed) up to the address's bit length. Bits set past the prefix are allowed
    and masked off, since v1.35 does not validate strictly."""
    addr_text, slash, bits_text = text.partition("/")
    addr = sloppy_ip(addr_text)
    if not slash or addr is None or not (bits_text.isascii() and bits_text.isdigit()):
        return None
    bits = int(bits_text)
    if bits > addr.max_prefixlen:
        return None
    if isinstance(addr, ipaddress.IPv4Address):
        return ipaddress.IPv4Network((addr, bits), strict=False)
    return ipaddress.IPv6Network((addr, bits), strict=False)


def _go_contains(net: IPNetwork, addr: IPAddress) -> bool:
    """Go's IPNet.Contains, which the strict-subset check uses: an IPv4-mapped IPv6 address, on
    either side, is compared as IPv4 (with the low 32 bits of the mask); IPv4 and IPv6 otherwise
    never contain one another."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    base: IPAddress = net.network_address
    bits = net.prefixlen
    if isinstance(base, ipaddress.IPv6Address) and base.ipv4_mapped is not None:
        base, bits = base.ipv4_mapped, max(bits - 96, 0)
    if isinstance(base, ipaddress.IPv4Address) and isinstance(addr, ipaddress.IPv4Address):
        return addr in ipaddress.IPv4Network((base, bits), strict=False)
    if isinstance(base, ipaddress.IPv6Address) and isinstance(addr, ipaddress.IPv6Address):
        return addr in ipaddress.IPv6Network((base, bits), strict=False)
    return False


def _policy_types(spec: dict, errs: FieldErrors) -> None:
    types = errs.get_list(spec, "policyTypes", "spec")
    if len(types) > len(POLICY_TYPES):
        # The API server shows the whole list as Go's %#v of []networking.PolicyType, and then
        # looks no further at the entries.
        shown = "[]networking.PolicyType{" + ", ".join(go_value(t) for t in types) + "}"
        errs.invalid("spec.policyTypes", None, "may not specify more than two policyTypes", shown=shown)
        return
    for i, value in errs.strings_in(types, "spec.policyTypes"):
        if value not in POLICY_TYPES:
            errs.not_supported(f"spec.policyTypes[{i}]", value, POLICY_TYPES)
