"""Host ports a plan would publish that another program already holds, found before anything
is created: a clear error naming the port instead of a proxy that cannot start.

Like the API server's "provided port is already allocated", the apply is refused as a whole.
Only checked when the engine runs on this machine (its ports are this machine's ports).
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

from ..plan.network import ClusterNet
from ..plan.nodes import plan_nodes
from ..runtime import clusters, engine


@dataclass(frozen=True)
class Binding:
    ip: str
    port: int
    protocol: str  # tcp | udp
    service: str  # the Service's name
    field: str  # the field that asked for it, e.g. spec.ports[0].nodePort
    what: str  # "" or "the LoadBalancer address "


def wanted(services: list[dict], net: ClusterNet, objects: list[dict], settings: dict) -> list[Binding]:
    hosts = [n.host_ip for n in plan_nodes(net, settings.get("nodes") or 1, objects,
                                           settings.get("address") or "127.0.0.1") if not n.stopped]
    out = []
    for svc in services:
        name, spec = svc["metadata"]["name"], svc.get("spec") or {}
        lb_ips = [i["ip"] for i in (svc.get("status") or {}).get("loadBalancer", {}).get("ingress", []) if i.get("ip")]
        for i, p in enumerate(spec.get("ports") or []):
            proto = str(p.get("protocol", "TCP")).lower()
            if p.get("nodePort") and spec.get("type") in ("NodePort", "LoadBalancer"):
                out += [Binding(h, p["nodePort"], proto, name, f"spec.ports[{i}].nodePort", "") for h in hosts]
            out += [Binding(ip, p["port"], proto, name, f"spec.ports[{i}].port", "the LoadBalancer address ")
                    for ip in lb_ips]
    return out


def held_by(client, cluster: str) -> set[tuple[str, int, str]]:
    """What the cluster's own containers publish now: those ports are ours, not taken."""
    return clusters.published_ports(client, cluster)


def in_use(ip: str, port: int, protocol: str) -> bool:
    """True when binding the address fails because something holds it (what Docker's port
    publishing would run into). Addresses this machine does not have are not "in use"."""
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Docker's proxy does: TIME_WAIT is free
        try:
            s.bind((ip, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def engine_is_local() -> bool:
    return engine.socket_name().startswith("unix://")


def problems(client, cluster: str, net: ClusterNet, objects: list[dict], settings: dict) -> list[str]:
    from ..manifests.text import go_quote  # here: the manifests package loads every validator

    if not engine_is_local():
        return []
    services = [o for o in objects if o["kind"] == "Service"]
    held = held_by(client, cluster)
    out = []
    for b in wanted(services, net, objects, settings):
        mine = {(b.ip, b.port, b.protocol), ("0.0.0.0", b.port, b.protocol)}
        if not mine & held and in_use(b.ip, b.port, b.protocol):
            out.append(f"The Service {go_quote(b.service)} is invalid: {b.field}: Invalid value: {b.port}: "
                       f"{b.protocol.upper()} port {b.port} on {b.what}{b.ip} is already in use by another program")
    return out
