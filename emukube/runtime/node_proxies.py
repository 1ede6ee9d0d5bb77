"""One HAProxy container per emulated node: the node's kube-proxy (and its portmap).

It holds the node's INTERNAL-IP, where pods reach every TCP NodePort and the hostPorts of the
node's pods, as on Kubernetes. With `--nodes N` (N > 1) it also publishes the NodePorts on the
node's host address, so `curl 127.0.2.2:30080` enters the cluster through node-2 as the seeds
draw it; the single node publishes nothing on the host: its NodePorts are the Services' proxies'
on `--address`, as without it.
"""

from __future__ import annotations

import hashlib
import json

from ..plan.nodeports import host_port_plans, node_port_plan
from ..plan.nodes import Node
from ..plan.types import ProxyPlan
from ..render import render_haproxy_many
from . import engine
from . import labels as L
from .proxies import HAPROXY_CMD, Proxies


def node_container_name(cluster: str, node: str) -> str:
    return f"{cluster}_node_{node}"


def node_plans(node: Node, services: list[dict], views, slices_of=lambda svc: (),
               restrict=lambda plan: plan) -> list[ProxyPlan]:
    """What the node's proxy serves; slices_of(svc): the EndpointSlices of a Service without a
    selector; restrict(plan): the Service's plan under NetworkPolicy."""
    plans = [p for p in (node_port_plan(s, views, node.name, slices_of(s), restrict) for s in services)
             if p is not None]
    return plans + host_port_plans(views, node.name, {port.port for plan in plans for port in plan.ports})


def _config(node: Node, plans: list[ProxyPlan]) -> str:
    return render_haproxy_many(f"the NodePorts and hostPorts of {node.name}", plans)


def _bindings(proxies: Proxies, node: Node, plans: list[ProxyPlan]) -> dict[str, list[tuple[str, int]]]:
    if proxies.ctx.nodes == 1:
        return {}
    # NodePorts only: a hostPort is published by its pod's own container (runtime/pods.py).
    ports = {port.port for plan in plans if plan.cluster_ip for port in plan.ports}
    return {f"{p}/tcp": [(node.host_ip, p)] for p in sorted(ports)}


def _shape(proxies: Proxies, node: Node, bindings: dict) -> str:
    blob = json.dumps([node.internal_ip, sorted(bindings.items()), proxies.ctx.images.get("haproxy")])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def reload_node(proxies: Proxies, node: Node, plans: list[ProxyPlan], existing, settle: bool = True) -> str | None:
    """"reloaded" or "" (unchanged) for a running node proxy of the right shape; None when it
    must be (re)created (see create_node). existing: its container or None."""
    what = node_needs(proxies, node, plans, existing)
    if what != "reload":
        return what
    proxies.push(existing, "haproxy.cfg", _config(node, plans), "SIGUSR2", settle)
    return "reloaded"


def node_needs(proxies: Proxies, node: Node, plans: list[ProxyPlan], existing) -> str | None:
    """What reload_node would do, without doing it: None (to be created), "reload" or ""."""
    shape = _shape(proxies, node, _bindings(proxies, node, plans))
    if existing is None or existing.labels.get(L.SHAPE) != shape or existing.status != "running":
        return None
    return "" if proxies.runs(existing, "haproxy.cfg", _config(node, plans)) else "reload"


def create_node(proxies: Proxies, node: Node, plans: list[ProxyPlan], existing) -> None:
    ctx = proxies.ctx
    bindings = _bindings(proxies, node, plans)
    if existing is not None:
        engine.remove(existing)
    labels = {L.CLUSTER: ctx.cluster, L.ROLE: L.Role.NODE, L.NAME: node.name, L.NODE: node.name,
              L.SHAPE: _shape(proxies, node, bindings)}
    name = node_container_name(ctx.cluster, node.name)
    container = engine.create(
        proxies.client, name, ctx.images["haproxy"],
        network=ctx.net.network_name, ip=node.internal_ip, ports=bindings, labels=labels,
        entrypoint=["haproxy"], command=HAPROXY_CMD, user="0", hostname=node.name,
        host_config=dict(restart_policy={"Name": "always"}, binds=proxies.config_binds(name)))
    proxies.push(container, "haproxy.cfg", _config(node, plans), None)
    container.start()
