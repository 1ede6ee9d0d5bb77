"""One HAProxy container per emulated node (with `--nodes N`, N > 1): the node's kube-proxy.

It holds the node's in-cluster address and publishes every TCP NodePort on the node's host
address, so `curl 127.0.2.2:30080` enters the cluster through node-2 as the seeds draw it.
"""

from __future__ import annotations

import hashlib
import json

from ..plan.nodeports import node_port_plan
from ..plan.nodes import Node
from ..render import render_haproxy_many
from . import engine
from . import labels as L
from .proxies import HAPROXY_CMD, Proxies


def node_container_name(cluster: str, node: str) -> str:
    return f"{cluster}_node_{node}"


def ensure_node(proxies: Proxies, node: Node, services: list[dict], views, existing,
                slices_of=lambda svc: ()) -> str:
    """"created", "reloaded" or "" for one running node; existing: its container or None;
    slices_of(svc): the EndpointSlices of a Service without a selector."""
    ctx = proxies.ctx
    plans = [p for p in (node_port_plan(s, views, node.name, slices_of(s)) for s in services) if p is not None]
    config = render_haproxy_many(f"the NodePorts of {node.name}", plans)
    ports = sorted({port.port for plan in plans for port in plan.ports})
    bindings = {f"{p}/tcp": [(node.host_ip, p)] for p in ports}
    shape = hashlib.sha256(json.dumps([node.internal_ip, node.host_ip, ports, ctx.images.get("haproxy")])
                           .encode()).hexdigest()[:16]
    if existing is not None and existing.labels.get(L.SHAPE) == shape and existing.status == "running":
        if not proxies.runs(existing, "haproxy.cfg", config):
            proxies.push(existing, "haproxy.cfg", config, "SIGUSR2")
            return "reloaded"
        return ""
    if existing is not None:
        engine.remove(existing)
    labels = {L.CLUSTER: ctx.cluster, L.ROLE: "node", L.NAME: node.name, L.NODE: node.name, L.SHAPE: shape}
    container = engine.create(
        proxies.client, node_container_name(ctx.cluster, node.name), ctx.images["haproxy"],
        network=ctx.net.network_name, ip=node.internal_ip, ports=bindings, labels=labels,
        entrypoint=["haproxy"], command=HAPROXY_CMD, user="0", hostname=node.name,
        host_config=dict(restart_policy={"Name": "always"}))
    proxies.push(container, "haproxy.cfg", config, None)
    container.start()
    return "created"
