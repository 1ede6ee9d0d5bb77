"""What each emulated node's proxy serves: every NodePort, with externalTrafficPolicy, and the
hostPorts of the node's pods. Pure.

`Cluster` (the default): a node's NodePort reaches every ready endpoint, wherever it runs.
`Local`: only endpoints on that node; a node without one refuses, as a cloud LoadBalancer's
health check on healthCheckNodePort would make it skip that node.
A hostPort reaches its pod, ready or not, as the kubelet's portmap forwards it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from .endpoints import PodView, proxy_plan
from .nodes import node_name
from .types import Backend, ProxyPlan, ServicePort


def node_port_plan(svc: dict, pods: list[PodView], node: str, slices: Sequence[dict] = (),
                   restrict: Callable[[ProxyPlan], ProxyPlan] = lambda plan: plan) -> ProxyPlan | None:
    """A plan listening on the Service's TCP nodePorts (as ports) for one node; None if none.
    `slices`: the EndpointSlices of a Service without a selector (plan/slices.py); `restrict`:
    the Service's plan under NetworkPolicy (plan/network_policy.py), whose routes go along."""
    plan = proxy_plan(svc, pods, slices)
    if plan is None:
        return None
    plan = restrict(replace(plan, client_nodes=()))  # internalTrafficPolicy is not for NodePorts
    local = svc["spec"].get("externalTrafficPolicy") == "Local"
    ports, backends, routes = [], {}, {}
    for port in plan.tcp_ports():
        if not port.node_port:
            continue
        as_node_port = replace(port, port=port.node_port)
        found = plan.backends.get(port.key, ())
        backends[as_node_port.key] = tuple(b for b in found if not local or b.node == node)
        if port.key in plan.routes:
            routes[as_node_port.key] = plan.routes[port.key]
        ports.append(as_node_port)
    if not ports:
        return None
    # externalTrafficPolicy governs NodePorts, not internalTrafficPolicy.
    return replace(plan, ports=tuple(ports), backends=backends, listen_ports_extra={}, client_nodes=(), routes=routes)


def host_ports(spec: dict) -> tuple[tuple[int, int], ...]:
    """(hostPort, containerPort) of a pod's TCP hostPorts that open on every address of its node
    (no hostIP): the node proxy serves them at the node's INTERNAL-IP."""
    return tuple((int(p["hostPort"]), int(p["containerPort"]))
                 for c in spec.get("containers") or [] for p in c.get("ports") or []
                 if p.get("hostPort") and str(p.get("protocol") or "TCP") == "TCP"
                 and p.get("hostIP", "0.0.0.0") in ("", "0.0.0.0"))


def host_port_plans(pods: list[PodView], node: str, taken: set[int]) -> list[ProxyPlan]:
    """One plan per pod of the node with hostPorts, listening on them and sending to the pod.
    taken: ports already served (the NodePorts): the first holder of a port keeps it."""
    used, plans = set(taken), []
    for pod in sorted(pods, key=lambda p: (p.namespace, p.name)):
        if (pod.node or node_name(1)) != node or not pod.ip:
            continue
        ports: list[ServicePort] = []
        backends: dict[str, tuple[Backend, ...]] = {}
        for host, target in pod.host_ports:
            if host not in used:
                used.add(host)
                ports.append(ServicePort(port=host, target_port=target))
                backends[ports[-1].key] = (Backend(pod.name, pod.ip, target, node),)
        if ports:
            plans.append(ProxyPlan(pod.namespace, pod.name, "", tuple(ports), backends))
    return plans
