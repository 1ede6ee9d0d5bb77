"""What each emulated node's proxy serves: every NodePort, with externalTrafficPolicy. Pure.

`Cluster` (the default): a node's NodePort reaches every ready endpoint, wherever it runs.
`Local`: only endpoints on that node; a node without one refuses, as a cloud LoadBalancer's
health check on healthCheckNodePort would make it skip that node.
"""

from __future__ import annotations

from dataclasses import replace

from .endpoints import PodView, proxy_plan
from .types import ProxyPlan


def node_port_plan(svc: dict, pods: list[PodView], node: str, slices: list[dict] = ()) -> ProxyPlan | None:
    """A plan listening on the Service's TCP nodePorts (as ports) for one node; None if none.
    `slices`: the EndpointSlices of a Service without a selector (plan/slices.py)."""
    plan = proxy_plan(svc, pods, slices)
    if plan is None:
        return None
    local = svc["spec"].get("externalTrafficPolicy") == "Local"
    ports, backends = [], {}
    for port in plan.tcp_ports():
        if not port.node_port:
            continue
        as_node_port = replace(port, port=port.node_port)
        found = plan.backends.get(port.key, ())
        backends[as_node_port.key] = tuple(b for b in found if not local or b.node == node)
        ports.append(as_node_port)
    if not ports:
        return None
    # externalTrafficPolicy governs NodePorts, not internalTrafficPolicy.
    return replace(plan, ports=tuple(ports), backends=backends, listen_ports_extra={}, client_nodes=())
