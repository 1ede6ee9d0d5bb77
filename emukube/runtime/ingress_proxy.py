"""The cluster's Ingress controller: one HAProxy container in HTTP mode (render/ingress.py),
at the Ingress controller's address on the cluster network, its port 80 published on the
Ingresses' ADDRESS (plan/network.py). Made while any Ingress exists, removed after the last.
Its config is reloaded in place like a Service proxy's (runtime/proxies.py)."""

from __future__ import annotations

import hashlib
import json

from ..plan.ingress import HTTP_PORT, IngressPlan
from ..render.ingress import render_ingress
from . import engine
from . import labels as L
from .proxies import HAPROXY_CMD, Proxies

NAME = "ingress"


def ingress_container_name(cluster: str) -> str:
    return f"{cluster}_{NAME}"


def _shape(proxies: Proxies) -> str:
    net = proxies.ctx.net
    blob = json.dumps([net.ingress_ip, net.ingress_address, HTTP_PORT, proxies.ctx.images.get("haproxy")])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def ingress_needs(proxies: Proxies, plan: IngressPlan, existing) -> str | None:
    """None (to be made), "reload" or "" (it runs this config)."""
    if existing is None or existing.labels.get(L.SHAPE) != _shape(proxies) or existing.status != "running":
        return None
    return "" if proxies.runs(existing, "haproxy.cfg", render_ingress(plan)) else "reload"


def reload_ingress(proxies: Proxies, plan: IngressPlan, existing, settle: bool = True) -> None:
    proxies.push(existing, "haproxy.cfg", render_ingress(plan), "SIGUSR2", settle)


def create_ingress(proxies: Proxies, plan: IngressPlan, existing) -> None:
    ctx = proxies.ctx
    if existing is not None:
        engine.remove(existing)
    name = ingress_container_name(ctx.cluster)
    labels = {L.CLUSTER: ctx.cluster, L.ROLE: L.Role.INGRESS, L.NAME: NAME, L.SHAPE: _shape(proxies)}
    container = engine.create(
        proxies.client, name, ctx.images["haproxy"], network=ctx.net.network_name, ip=ctx.net.ingress_ip,
        ports={f"{HTTP_PORT}/tcp": [(ctx.net.ingress_address, HTTP_PORT)]}, labels=labels,
        entrypoint=["haproxy"], command=HAPROXY_CMD, user="0", hostname="ingress-controller",
        host_config=dict(restart_policy={"Name": "always"}, binds=proxies.config_binds(name)))
    proxies.push(container, "haproxy.cfg", render_ingress(plan), None)
    container.start()
