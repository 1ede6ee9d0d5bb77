"""What the API server allocates for a Service: ClusterIP, nodePorts, a LoadBalancer address.

Pure functions. An allocation is kept for as long as the Service keeps needing it (re-applying
a manifest that leaves clusterIP empty keeps the old address), and new ones are derived from a
hash of the Service's name, so the same manifests give the same addresses on every machine.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from ..k8s.keys import ObjectKey, key_of
from .network import ClusterNet, in_cidr

NODE_PORT_RANGE = range(30000, 32768)


@dataclass
class Allocated:
    """What is taken already, by whom ("ns/name")."""

    cluster_ips: dict[str, str] = field(default_factory=dict)  # ip -> owner
    node_ports: dict[int, str] = field(default_factory=dict)  # port -> owner (all clusters)
    lb_ips: dict[str, str] = field(default_factory=dict)  # ip -> owner


def _stable_offset(key: str, size: int) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % size


def _pick(pool_size: int, key: str, taken: Callable[[int], bool]) -> int | None:
    start = _stable_offset(key, pool_size)
    for step in range(pool_size):
        candidate = (start + step) % pool_size
        if not taken(candidate):
            return candidate
    return None


def owner_of(svc: dict) -> ObjectKey:
    return key_of(svc)


def has_cluster_ip(svc: dict) -> bool:
    spec = svc.get("spec", {})
    return bool(spec.get("type", "ClusterIP") != "ExternalName" and spec.get("clusterIP") != "None")


def has_node_ports(svc: dict) -> bool:
    spec = svc.get("spec", {})
    kind = spec.get("type", "ClusterIP")
    if kind == "LoadBalancer":
        return spec.get("allocateLoadBalancerNodePorts", True) is not False
    return bool(kind == "NodePort")


def allocate_services(
    services: list[dict], previous: dict[ObjectKey, dict], net: ClusterNet, taken: Allocated,
    warnings: list[str] | None = None,
) -> tuple[list[dict], list[str]]:
    """Fill spec.clusterIP(s), spec.ports[].nodePort and status.loadBalancer of each Service.

    previous maps "ns/name" to the Service as it is in the running cluster. taken holds what
    other Services (not in `services`) hold. Returns the allocated copies and the API server's
    error messages for what could not be allocated; what was honoured differently than asked
    (a loadBalancerIP) is added to `warnings`.
    """
    out, problems = [], []
    taken = copy.deepcopy(taken)
    # What a running Service holds stays its own while it exists: no other Service of this
    # input takes it, whatever their order (an explicit request for it is "already allocated").
    for svc in services:
        prev = previous.get(owner_of(svc))
        if prev is not None:
            _reserve(taken, allocations_of([prev]))
    # Explicit requests first, so a hashed allocation never steals an address someone asked for.
    ordered = sorted(services, key=lambda s: (0 if s.get("spec", {}).get("clusterIP") else 1,
                                              0 if s.get("spec", {}).get("loadBalancerIP") else 1))
    for svc in ordered:
        svc = copy.deepcopy(svc)
        name, owner = svc["metadata"]["name"], owner_of(svc)
        prefix = f'The Service "{name}" is invalid: '
        prev = previous.get(owner)
        problems += [prefix + p for p in _cluster_ip(svc, prev, net, taken)]
        problems += [prefix + p for p in _node_ports(svc, prev, taken)]
        lb_problems, note = _lb_ip(svc, prev, net, taken)
        problems += [prefix + p for p in lb_problems]
        if note and warnings is not None:
            warnings.append(f"Service {owner}: {note}")
        out.append(svc)
    order = {owner_of(s): i for i, s in enumerate(services)}
    out.sort(key=lambda s: order[owner_of(s)])
    return out, problems


ALREADY_ALLOCATED = "provided IP is already allocated"  # ipallocator.ErrAllocated


def not_allocated(ip: str, why: str) -> str:
    """The Service REST storage's refusal of an address asked for (allocClusterIPs)."""
    return f'spec.clusterIPs: Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: {why}'


def asked_cluster_ip(svc: dict, prev: dict | None) -> str:
    """The address a Service asks for, or keeps from `prev` (as stored): "" when it is to be picked."""
    wanted = svc.get("spec", {}).get("clusterIP") or ""
    if not wanted and prev and has_cluster_ip(prev):
        wanted = prev["spec"].get("clusterIP", "")
    return str(wanted) if has_cluster_ip(svc) else ""


def _cluster_ip(svc: dict, prev: dict | None, net: ClusterNet, taken: Allocated) -> list[str]:
    spec, owner = svc["spec"], owner_of(svc)
    if not has_cluster_ip(svc):
        if spec.get("clusterIP") == "None":
            spec["clusterIPs"] = ["None"]
        return []
    wanted = asked_cluster_ip(svc, prev)
    if wanted:
        pool = net.service_ip_pool()
        if not in_cidr(wanted, net.service_cidr) or int(ipaddress.IPv4Address(wanted)) not in pool:
            return [not_allocated(wanted, "provided IP is not in the valid range. The range of valid IPs is "
                                          f"{net.service_cidr}")]
        if taken.cluster_ips.get(wanted, owner) != owner:
            return [not_allocated(wanted, ALREADY_ALLOCATED)]
        ip = wanted
    else:
        pool = net.service_ip_pool()
        index = _pick(len(pool), owner, lambda i: str(ipaddress.IPv4Address(pool[i])) in taken.cluster_ips)
        if index is None:
            return ["spec.clusterIPs: Internal error: range is full"]
        ip = str(ipaddress.IPv4Address(pool[index]))
    taken.cluster_ips[ip] = owner
    spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
    return []


def _node_ports(svc: dict, prev: dict | None, taken: Allocated) -> list[str]:
    spec, owner, problems = svc["spec"], owner_of(svc), []
    if not has_node_ports(svc):
        for port in spec.get("ports") or []:
            port.pop("nodePort", None)  # released when the type stops needing it
        return []
    prev_ports = {}
    if prev and has_node_ports(prev):
        prev_ports = {(p.get("protocol", "TCP"), p["port"]): p.get("nodePort") for p in prev["spec"].get("ports") or []}
    for i, port in enumerate(spec.get("ports") or []):
        wanted = port.get("nodePort") or prev_ports.get((port.get("protocol", "TCP"), port["port"]))
        if wanted:
            if wanted not in NODE_PORT_RANGE:
                problems.append(
                    f"spec.ports[{i}].nodePort: Invalid value: {wanted}: provided port is not in the valid range. "
                    f"The range of valid ports is {NODE_PORT_RANGE.start}-{NODE_PORT_RANGE.stop - 1}"
                )
                continue
            holder = taken.node_ports.get(wanted, owner)
            if holder != owner:
                problems.append(f"spec.ports[{i}].nodePort: Invalid value: {wanted}: provided port is already allocated"
                                + _held_elsewhere(holder))
                continue
            # One Service may use a nodePort for TCP and UDP of the same port; other reuse is a clash.
            port["nodePort"] = wanted
        else:
            key = f"{owner}/{port.get('protocol', 'TCP')}/{port['port']}"
            size = len(NODE_PORT_RANGE)
            index = _pick(size, key, lambda j: NODE_PORT_RANGE[j] in taken.node_ports)
            if index is None:
                problems.append(f"spec.ports[{i}].nodePort: Internal error: range is full")
                continue
            port["nodePort"] = NODE_PORT_RANGE[index]
        taken.node_ports[port["nodePort"]] = owner
    return problems


def _held_elsewhere(holder: str) -> str:
    """NodePorts are host ports: one another cluster holds is named, with the ways out."""
    if not holder.startswith("cluster "):
        return ""
    other = holder.split(" ", 1)[1]
    return (f' (held by emukube cluster "{other}": `emukube down --cluster {other}` frees it, '
            "or leave nodePort out to be given a free port)")


def _lb_ip(svc: dict, prev: dict | None, net: ClusterNet, taken: Allocated) -> tuple[list[str], str]:
    """The EXTERNAL-IP, never pending: spec.loadBalancerIP when it is a free address of the
    pool, else the address the Service had, else the first free one. Returns problems, and a
    warning when the requested address could not be honoured (a cloud would stay pending)."""
    spec, owner = svc["spec"], owner_of(svc)
    if spec.get("type") != "LoadBalancer":
        svc.pop("status", None)
        return [], ""
    pool = net.lb_ip_pool()
    asked = spec.get("loadBalancerIP") or ""
    wanted, why = asked, ""
    if asked and asked not in pool:
        wanted, why = "", f"is not in this cluster's LoadBalancer pool {pool[0]}-{pool[-1]}"
    elif asked and taken.lb_ips.get(asked, owner) != owner:
        wanted, why = "", f"is already used by Service {taken.lb_ips[asked]}"
    if not wanted and prev and prev.get("spec", {}).get("type") == "LoadBalancer":
        for ing in prev.get("status", {}).get("loadBalancer", {}).get("ingress", []):
            if ing.get("ip") in pool and taken.lb_ips.get(ing.get("ip"), owner) == owner:
                wanted = ing["ip"]
    if not wanted:
        wanted = next((ip for ip in pool if ip not in taken.lb_ips), "")
        if not wanted:
            return ["status.loadBalancer: Internal error: no free LoadBalancer address"], ""
    taken.lb_ips[wanted] = owner
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": wanted}]}}
    said = prev is not None and (prev.get("spec") or {}).get("loadBalancerIP") == asked  # by an earlier apply
    return [], f"spec.loadBalancerIP {asked} {why}; its EXTERNAL-IP is {wanted}" if why and not said else ""


def _reserve(taken: Allocated, held: Allocated) -> None:
    pairs: tuple[tuple[dict, dict], ...] = ((taken.cluster_ips, held.cluster_ips),
                                            (taken.node_ports, held.node_ports), (taken.lb_ips, held.lb_ips))
    for mine, theirs in pairs:
        for key, owner in theirs.items():
            mine.setdefault(key, owner)


def allocations_of(services: list[dict]) -> Allocated:
    """What a set of (already allocated) Services holds."""
    taken = Allocated()
    for svc in services:
        owner, spec = owner_of(svc), svc.get("spec", {})
        if has_cluster_ip(svc) and spec.get("clusterIP"):
            taken.cluster_ips[spec["clusterIP"]] = owner
        for port in (spec.get("ports") or []) if has_node_ports(svc) else []:
            if port.get("nodePort"):
                taken.node_ports[port["nodePort"]] = owner
        for ing in svc.get("status", {}).get("loadBalancer", {}).get("ingress", []):
            taken.lb_ips[ing["ip"]] = owner
    return taken
