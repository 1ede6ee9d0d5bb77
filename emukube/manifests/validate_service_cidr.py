"""ServiceCIDR and IPAddress (networking.k8s.io/v1) validation, as pkg/apis/networking/validation
of Kubernetes 1.35 words it (ValidateServiceCIDR, ValidateServiceCIDRUpdate, ValidateIPAddress,
ValidateIPAddressUpdate), with apimachinery's strict IsValidIP and IsValidCIDR, which these newer
fields use (not the legacy fields' sloppy parsing)."""

from __future__ import annotations

import ipaddress

from .fielderrors import FieldErrors
from .names import is_dns1123_subdomain, is_valid_path_segment_name
from .validate_networking import parse_cidr_sloppy, sloppy_ip
from .validate_node import IMMUTABLE, go_struct_json

IP_INVALID = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
CIDR_INVALID = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
DUAL_STACK = "may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64"


def _leading_zero(ip_text: str) -> bool:
    """What netip.ParseAddr refuses that netutils.ParseIPSloppy takes: an IPv4 part (alone or at
    the end of an IPv6 address) written with a leading 0."""
    dotted = ip_text.rsplit(":", 1)[-1]
    return "." in dotted and any(len(p) > 1 and p.startswith("0") for p in dotted.split("."))


def _ipv4_mapped(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None


def ip_problems(value: str) -> list[str]:
    """IsValidIP: parsed, then strict (no leading 0s, no IPv4-mapped IPv6), then canonical."""
    addr = sloppy_ip(value)
    if addr is None:
        return [IP_INVALID]
    problems = []
    if _leading_zero(value):
        problems.append("must not have leading 0s")
    elif _ipv4_mapped(addr):
        problems.append("must not be an IPv4-mapped IPv6 address")
    if not problems and value != str(addr):
        problems.append(f'must be in canonical form ("{addr}")')
    return problems


def cidr_problems(value: str) -> list[str]:
    """IsValidCIDR: parsed, then strict (no leading 0s, no IPv4-mapped IPv6, no bits set past the
    prefix length), then canonical."""
    net = parse_cidr_sloppy(value)
    if net is None:
        return [CIDR_INVALID]
    ip_text, _, bits = value.partition("/")
    addr = sloppy_ip(ip_text)
    problems = []
    if _leading_zero(ip_text) or (len(bits) > 1 and bits.startswith("0")):
        problems.append("must not have leading 0s in IP or prefix length")
    elif addr is not None and _ipv4_mapped(addr):
        problems.append("must not have an IPv4-mapped IPv6 address")
    elif addr != net.network_address:
        problems.append("must not have bits set beyond the prefix length")
    if not problems and value != str(net):
        problems.append(f'must be in canonical form ("{net}")')
    return problems


def _family(cidr: str) -> int | None:
    """netutils.IPFamilyOfCIDRString: 4, 6, or None (unknown) for what does not parse."""
    net = parse_cidr_sloppy(cidr)
    if net is None:
        return None
    mapped = isinstance(net, ipaddress.IPv6Network) and net.network_address.ipv4_mapped is not None
    return 4 if mapped else net.version


def _cidrs(obj: dict) -> list | None:
    spec = obj.get("spec")
    cidrs = spec.get("cidrs") if isinstance(spec, dict) else None
    return cidrs if isinstance(cidrs, list) else None


def _validate_cidrs(cidrs: list, errs: FieldErrors) -> None:
    """validateServiceCIDRSpec."""
    path = "spec.cidrs"
    if not cidrs:
        errs.required(path, "at least one CIDR required")
        return
    if len(cidrs) > 2:  # the value shown is the (internal) spec, as json.Marshal writes it
        errs.invalid(path, None, "may only hold up to 2 values", shown=go_struct_json({"CIDRs": cidrs}))
        return
    for i, cidr in errs.strings_in(cidrs, path):
        errs.invalid_each(f"{path}[{i}]", cidr, cidr_problems(cidr))
    if len(cidrs) == 2 and all(isinstance(c, str) for c in cidrs):
        family = _family(cidrs[0])
        if family is not None and family == _family(cidrs[1]):
            errs.invalid(path, None, DUAL_STACK, shown=go_struct_json(cidrs))


def validate_service_cidr(obj: dict, errs: FieldErrors) -> None:
    """ValidateServiceCIDR (the metadata's checks are validate.py's)."""
    spec = errs.get_map(obj, "spec", "")
    _validate_cidrs(errs.get_list(spec, "cidrs", "spec"), errs)


def service_cidr_update_problems(obj: dict, old: dict) -> list[str]:
    """ValidateServiceCIDRUpdate: the CIDRs stay, but a single-stack one may gain a second family."""
    errs = FieldErrors()
    new_cidrs, old_cidrs = _cidrs(obj) or [], _cidrs(old) or []
    if len(new_cidrs) == len(old_cidrs):
        for i, (was, now) in enumerate(zip(old_cidrs, new_cidrs)):
            if was != now:
                errs.invalid(f"spec.cidrs[{i}]", now, IMMUTABLE)
    elif len(old_cidrs) == 1 and len(new_cidrs) == 2:
        if new_cidrs[0] != old_cidrs[0]:
            errs.invalid("spec.cidrs[0]", new_cidrs[0], IMMUTABLE)
        _validate_cidrs(new_cidrs, errs)
    else:
        errs.invalid("spec.cidrs", None, IMMUTABLE, shown=go_struct_json(_cidrs(obj)))
    return errs.items


def _parent_ref(obj: dict) -> dict | None:
    spec = obj.get("spec")
    ref = spec.get("parentRef") if isinstance(spec, dict) else None
    return ref if isinstance(ref, dict) else None


def validate_ip_address(obj: dict, errs: FieldErrors) -> None:
    """ValidateIPAddress's validateIPAddressParentReference (the name, an IP in canonical form,
    is checked with the metadata: validate.py)."""
    spec = errs.get_map(obj, "spec", "")
    if spec.get("parentRef") is None:
        errs.required("spec.parentRef")
        return
    ref, path = errs.get_map(spec, "parentRef", "spec"), "spec.parentRef"
    group = errs.get_str(ref, "group", path)
    if group:  # the core group, the Services', is the empty one: it cannot be required
        errs.invalid_each(f"{path}.group", group, is_dns1123_subdomain(group))
    for field in ("resource", "name"):
        value = errs.get_str(ref, field, path)
        if not value:
            errs.required(f"{path}.{field}")
        else:
            errs.invalid_each(f"{path}.{field}", value, is_valid_path_segment_name(value))
    namespace = errs.get_str(ref, "namespace", path)
    if namespace:
        errs.invalid_each(f"{path}.namespace", namespace, is_valid_path_segment_name(namespace))


def ip_address_update_problems(obj: dict, old: dict) -> list[str]:
    """ValidateIPAddressUpdate: the parentRef stays (shown as the internal struct's JSON)."""
    def internal(ref: dict | None) -> dict | None:
        return None if ref is None else {go: str(ref.get(field) or "") for go, field in
                                         (("Group", "group"), ("Resource", "resource"),
                                          ("Namespace", "namespace"), ("Name", "name"))}

    errs = FieldErrors()
    now, was = internal(_parent_ref(obj)), internal(_parent_ref(old))
    if now != was:
        errs.invalid("spec.parentRef", None, IMMUTABLE, shown=go_struct_json(now))
    return errs.items


UPDATE_CHECKS = {"ServiceCIDR": service_cidr_update_problems, "IPAddress": ip_address_update_problems}
