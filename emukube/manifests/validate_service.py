"""Service validation (pkg/apis/core/validation ValidateService, plus nodePort allocation)."""

from __future__ import annotations

import ipaddress
from typing import Iterable

from .fielderrors import FieldErrors, to_problems
from .load import Doc, Problem
from .names import (
    is_dns1123_label,
    is_dns1123_subdomain,
    is_valid_ip,
    is_valid_port_name,
    is_valid_port_num,
    validate_labels,
)
from .text import go_quote

SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
AFFINITIES = ["ClientIP", "None"]
TRAFFIC_POLICIES = ["Cluster", "Local"]
NODE_PORT_RANGE = (30000, 32767)
MAX_AFFINITY_SECONDS = 86400


def validate_service(obj: dict, errs: FieldErrors) -> None:
    spec = errs.get_map(obj, "spec", "")
    stype = errs.get_str(spec, "type", "spec") or "ClusterIP"
    cluster_ip = errs.get_str(spec, "clusterIP", "spec")
    cluster_ips = [ip for ip in errs.get_list(spec, "clusterIPs", "spec") if isinstance(ip, str)]
    ips = [cluster_ip] if cluster_ip else cluster_ips
    headless = ips == ["None"]
    ports = errs.get_list(spec, "ports", "spec")

    if spec.get("ports") in (None, []) and not headless and stype != "ExternalName":
        errs.required("spec.ports")
    if stype in ("LoadBalancer", "NodePort") and headless:
        errs.invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {stype} services")
    if stype == "ExternalName":
        _external_name(spec, ips, errs)
    else:
        _cluster_ips(cluster_ip, cluster_ips, errs)

    _ports(ports, stype, errs)
    validate_labels(errs, errs.get_str_map(spec, "selector", "spec"), "spec.selector")
    _session_affinity(spec, errs)

    if stype not in SERVICE_TYPES:
        errs.not_supported("spec.type", stype, SERVICE_TYPES)
    external = stype in ("LoadBalancer", "NodePort") or bool(errs.get_list(spec, "externalIPs", "spec"))
    etp = errs.get_str(spec, "externalTrafficPolicy", "spec")
    if etp and not external:
        errs.invalid("spec.externalTrafficPolicy", etp, "may only be set for externally-accessible services")
    elif etp and etp not in TRAFFIC_POLICIES:
        errs.not_supported("spec.externalTrafficPolicy", etp, TRAFFIC_POLICIES)
    itp = errs.get_str(spec, "internalTrafficPolicy", "spec")
    if itp and itp not in TRAFFIC_POLICIES:
        errs.not_supported("spec.internalTrafficPolicy", itp, TRAFFIC_POLICIES)
    if stype != "LoadBalancer":
        if spec.get("loadBalancerSourceRanges"):
            errs.forbidden("spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'")
        if spec.get("allocateLoadBalancerNodePorts") is not None:
            errs.forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'")
    errs.get_bool(spec, "publishNotReadyAddresses", "spec")


def _external_name(spec: dict, ips: list[str], errs: FieldErrors) -> None:
    if ips:
        errs.forbidden("spec.clusterIPs", "may not be set for ExternalName services")
    cname = errs.get_str(spec, "externalName", "spec")
    cname = cname[:-1] if cname.endswith(".") else cname
    if cname:
        errs.invalid_each("spec.externalName", cname, is_dns1123_subdomain(cname))
    else:
        errs.required("spec.externalName")


def _go_string_slice(items: list[str]) -> str:
    return "[]string{" + ", ".join(go_quote(s) for s in items) + "}"


def _cluster_ips(cluster_ip: str, cluster_ips: list[str], errs: FieldErrors) -> None:
    if cluster_ip and cluster_ips and cluster_ips[0] != cluster_ip:
        errs.invalid("spec.clusterIPs", None, "first value must match `clusterIP`",
                     shown=_go_string_slice(cluster_ips))
    ips = [cluster_ip] if cluster_ip and not cluster_ips else cluster_ips
    for i, ip in enumerate(ips):
        if i == 0 and ip == "None":
            if len(ips) > 1:
                errs.invalid("spec.clusterIPs", None, "'None' must be the first and only value",
                             shown=_go_string_slice(ips))
            continue
        bad = is_valid_ip(ip)
        errs.invalid_each(f"spec.clusterIPs[{i}]", ip, bad)
        if not bad and ipaddress.ip_address(ip).version == 6:
            errs.invalid(f"spec.clusterIPs[{i}]", ip, "emukube emulates IPv4 cluster IPs only")


def _ports(ports: list, stype: str, errs: FieldErrors) -> None:
    names: set[str] = set()
    seen: set[tuple[str, int]] = set()
    node_ports: set[tuple[str, int]] = set()
    for i, p in errs.maps_in(ports, "spec.ports"):
        pp = f"spec.ports[{i}]"
        name = errs.get_str(p, "name", pp)
        if len(ports) > 1 and not name:
            errs.required(f"{pp}.name")
        elif name:
            errs.invalid_each(f"{pp}.name", name, is_dns1123_label(name))
            if name in names:
                errs.duplicate(f"{pp}.name", name)
            names.add(name)

        port = errs.get_int(p, "port", pp)
        if port is None and p.get("port") is None:
            port = 0
        if port is not None:
            errs.invalid_each(f"{pp}.port", port, is_valid_port_num(port))

        protocol = errs.get_str(p, "protocol", pp) or "TCP"
        if protocol not in PROTOCOLS:
            errs.not_supported(f"{pp}.protocol", protocol, PROTOCOLS)

        validate_port_num_or_name(errs, errs.get_int_or_str(p, "targetPort", pp), f"{pp}.targetPort", optional=True)

        node_port = errs.get_int(p, "nodePort", pp)
        if node_port:
            if stype == "ClusterIP":
                errs.forbidden(f"{pp}.nodePort", "may not be used when `type` is 'ClusterIP'")
            elif stype in ("NodePort", "LoadBalancer"):
                lo, hi = NODE_PORT_RANGE
                if not lo <= node_port <= hi:
                    errs.invalid(f"{pp}.nodePort", node_port, "provided port is not in the valid range. "
                                                              f"The range of valid ports is {lo}-{hi}")
                if (protocol, node_port) in node_ports:
                    errs.duplicate(f"{pp}.nodePort", node_port)
                node_ports.add((protocol, node_port))

        if port is not None:
            if (protocol, port) in seen:
                errs.duplicate(pp, None, shown=_go_service_port(protocol, port))
            seen.add((protocol, port))


def _go_service_port(protocol: str, port: int) -> str:
    # The API server prints the (protocol, port) key struct with %#v.
    return (f'core.ServicePort{{Name:"", Protocol:{go_quote(protocol)}, AppProtocol:(*string)(nil), '
            f'Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:""}}, NodePort:0}}')


def validate_port_num_or_name(errs: FieldErrors, port: int | str | None, path: str, optional: bool = False) -> None:
    """ValidatePortNumOrName; with `optional`, unset/0/"" is left to defaulting (targetPort)."""
    if optional and port in (None, 0, ""):
        return
    if port is None:
        port = 0
    if isinstance(port, int):
        errs.invalid_each(path, port, is_valid_port_num(port))
    else:
        errs.invalid_each(path, port, is_valid_port_name(port))


def _session_affinity(spec: dict, errs: FieldErrors) -> None:
    affinity = errs.get_str(spec, "sessionAffinity", "spec") or "None"
    if affinity not in AFFINITIES:
        errs.not_supported("spec.sessionAffinity", affinity, AFFINITIES)
    if affinity == "ClientIP":
        config = errs.get_map(spec, "sessionAffinityConfig", "spec")
        client_ip = errs.get_map(config, "clientIP", "spec.sessionAffinityConfig")
        timeout = errs.get_int(client_ip, "timeoutSeconds", "spec.sessionAffinityConfig.clientIP")
        if timeout is not None and not 0 < timeout <= MAX_AFFINITY_SECONDS:
            errs.invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", timeout,
                         f"must be greater than 0 and less than {MAX_AFFINITY_SECONDS}")
    # With None, the API server's defaulting (SetDefaults_Service, before validation) drops a
    # sessionAffinityConfig, so its "must not be set" never reaches a client: nor does it here
    # (manifests/defaults.py drops it), and switching ClientIP off drops the config with it.


# -- nodePort allocation ----------------------------------------------------------------

def _owner(obj: dict) -> str:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    ns, name = meta.get("namespace"), meta.get("name")
    return f"{ns if isinstance(ns, str) and ns else 'default'}/{name if isinstance(name, str) else ''}"


def claim_node_ports(obj: dict, taken: dict[int, str], errs: FieldErrors) -> None:
    """Take this Service's nodePorts in `taken` (port -> "namespace/name"), reporting the ones
    another Service holds. Ports the Service itself already holds are not a conflict."""
    spec = obj.get("spec")
    if not isinstance(spec, dict) or spec.get("type") not in ("NodePort", "LoadBalancer"):
        return
    ports = spec.get("ports")
    owner = _owner(obj)
    mine: set[int] = set()
    lo, hi = NODE_PORT_RANGE
    for i, p in enumerate(ports if isinstance(ports, list) else []):
        np = p.get("nodePort") if isinstance(p, dict) else None
        if isinstance(np, bool) or not isinstance(np, int) or not lo <= np <= hi or np in mine:
            continue
        if taken.get(np, owner) != owner:
            errs.invalid(f"spec.ports[{i}].nodePort", np, "provided port is already allocated")
        mine.add(np)
    for np in mine:
        taken.setdefault(np, owner)


def validate_node_ports(services: Iterable[Doc], allocated: dict[int, str]) -> list[Problem]:
    """Check the Services' explicit nodePorts against each other and against `allocated`
    (nodePort -> "namespace/name" of the Service holding it in a running cluster)."""
    taken = dict(allocated)
    problems: list[Problem] = []
    for doc in services:
        if doc.obj.get("kind") != "Service":
            continue
        errs = FieldErrors()
        claim_node_ports(doc.obj, taken, errs)
        problems.extend(to_problems(doc, errs))
    return problems
