"""The cluster's Ingress controller: one HAProxy container in HTTP mode (render/ingress.py),
at the Ingress controller's address on the cluster network, its ports 80 and 443 published on
the Ingresses' ADDRESS (plan/network.py). Made while any Ingress exists, removed after the
last. Its config and certificates are reloaded in place like a Service proxy's config
(runtime/proxies.py). Port 443 serves a fake self-signed certificate to hosts no Ingress's TLS
Secret covers, as ingress-nginx's "Kubernetes Ingress Controller Fake Certificate"."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path

from ..plan.ingress import HTTP_PORT, HTTPS_PORT, IngressPlan
from ..render.ingress import DEFAULT_CERT, certificate_files, render_ingress
from . import engine
from . import labels as L
from .files import replace_file
from .proxies import HAPROXY_CMD, Proxies

NAME = "ingress"
FAKE_SUBJECT = "/O=Acme Co/CN=Kubernetes Ingress Controller Fake Certificate"


def ingress_container_name(cluster: str) -> str:
    return f"{cluster}_{NAME}"


def _shape(proxies: Proxies) -> str:
    net = proxies.ctx.net
    blob = json.dumps([net.ingress_ip, net.ingress_address, HTTP_PORT, HTTPS_PORT,
                       proxies.ctx.images.get("haproxy")])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def ingress_needs(proxies: Proxies, plan: IngressPlan, existing) -> str | None:
    """None (to be made), "reload" or "" (it runs this config)."""
    if existing is None or existing.labels.get(L.SHAPE) != _shape(proxies) or existing.status != "running":
        return None
    return "" if proxies.runs(existing, "haproxy.cfg", render_ingress(plan)) else "reload"


def fake_certificate_argv(key: str, crt: str) -> list[str]:
    """openssl making the fake certificate (EC P-256, ten years) and its key at these paths."""
    return ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", FAKE_SUBJECT, "-days", "3650", "-keyout", key, "-out", crt]


def fake_certificate(state_dir: Path) -> bytes:
    """The cluster's fake certificate and key (PEM), made once with openssl and kept in the
    state volume."""
    kept = state_dir / "ingress-fake.pem"
    if kept.is_file():
        return kept.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(fake_certificate_argv(f"{tmp}/key.pem", f"{tmp}/crt.pem"), check=True, capture_output=True,
                       timeout=30)
        pem = Path(tmp, "crt.pem").read_bytes() + Path(tmp, "key.pem").read_bytes()
    replace_file(kept, pem, mode=0o600)  # whole: a half-written key would keep HAProxy from ever starting
    return pem


def _put_certificates(proxies: Proxies, container, plan: IngressPlan, fake: bytes) -> None:
    """Before the config that names them: HAProxy refuses a config whose files are missing."""
    proxies.put(container, DEFAULT_CERT, fake)
    for name, text in certificate_files(plan).items():
        proxies.put(container, name, text.encode())


def reload_ingress(proxies: Proxies, plan: IngressPlan, existing, fake: bytes, settle: bool = True) -> None:
    _put_certificates(proxies, existing, plan, fake)
    proxies.push(existing, "haproxy.cfg", render_ingress(plan), "SIGUSR2", settle)


def create_ingress(proxies: Proxies, plan: IngressPlan, existing, fake: bytes) -> None:
    ctx = proxies.ctx
    if existing is not None:
        engine.remove(existing)
    name = ingress_container_name(ctx.cluster)
    labels = {L.CLUSTER: ctx.cluster, L.ROLE: L.Role.INGRESS, L.NAME: NAME, L.SHAPE: _shape(proxies)}
    container = engine.create(
        proxies.client, name, ctx.images["haproxy"], network=ctx.net.network_name, ip=ctx.net.ingress_ip,
        ports={f"{p}/tcp": [(ctx.net.ingress_address, p)] for p in (HTTP_PORT, HTTPS_PORT)}, labels=labels,
        entrypoint=["haproxy"], command=HAPROXY_CMD, user="0", hostname="ingress-controller",
        host_config=dict(restart_policy={"Name": "always"}, binds=proxies.config_binds(name)))
    _put_certificates(proxies, container, plan, fake)
    proxies.push(container, "haproxy.cfg", render_ingress(plan), None)
    container.start()
