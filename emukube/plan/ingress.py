"""Where an Ingress sends a request: the routes of every Ingress in the cluster, merged and
ordered as ingress-nginx orders them (render/ingress.py makes them an HAProxy config).

emukube stands in for whichever Ingress controller the manifests were written for: every Ingress
is served, whatever its class. Of the controllers' own annotations, ingress-nginx's most used
ones are honoured (NGINX_HONOURED: rewrite-target, use-regex, ssl-redirect, force-ssl-redirect,
app-root), as ingress-nginx applies them; others are not. A request is matched first by host (an
exact host before a `*.` wildcard, which matches one DNS label, before the rules without a
host), then within that host by the longest path, Exact before Prefix of the same length. A host
with rules answers only from them: a request for it that no path matches gets the default
backend, as an nginx server block does, never the host-less rules. Where two Ingresses name the
same host and path, the older one wins. Backends are the Services' ClusterIPs, so a request
passes the Service's proxy as it passes kube-proxy (backends see that proxy's address: README).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Sequence

CLASS_NAME = "emukube"
CONTROLLER = "emukube.io/ingress"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
HTTP_PORT = 80
HTTPS_PORT = 443
NGINX = "nginx.ingress.kubernetes.io/"
NGINX_HONOURED = frozenset(NGINX + a for a in ("rewrite-target", "use-regex", "ssl-redirect", "force-ssl-redirect",
                                                "app-root"))


def default_class() -> dict:
    """Every cluster's IngressClass, the default one (as minikube's ingress addon makes `nginx`)."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": CLASS_NAME, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
            "spec": {"controller": CONTROLLER}}


def chosen_default(classes: list[dict]) -> str | None:
    """The class the DefaultIngressClass admission plugin gives an Ingress naming none: of the
    classes marked default, the newest."""
    marked = [c for c in classes
              if ((c.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"]
    if not marked:
        return None
    newest = max(marked, key=lambda c: (c["metadata"].get("creationTimestamp") or "", c["metadata"]["name"]))
    return str(newest["metadata"]["name"])


@dataclass(frozen=True)
class Target:
    """A Service port by address; `address` empty: the backend cannot be reached (why says so)."""

    namespace: str
    service: str
    port: str  # as the Ingress names it: a number or a port name
    address: str = ""
    why: str = ""


@dataclass(frozen=True)
class Route:
    host: str  # "" for any host; "*.example.com" matches one label
    path: str
    path_type: str  # Exact, Prefix or ImplementationSpecific
    target: Target
    ingress: str  # namespace/name, for the config's comments
    # ingress-nginx's use-regex (implied by rewrite-target): the path is a case-insensitive regular
    # expression matched from the start of the request's path.
    regex: bool = False
    # ingress-nginx's rewrite-target: the path the backend gets when `path` (as a regular expression,
    # found anywhere in it) matches; $1.. are its groups. "" keeps the request's path.
    rewrite: str = ""


@dataclass(frozen=True)
class Certificate:
    """A TLS Secret an Ingress names, for the hosts it lists (tls.crt then tls.key, PEM)."""

    secret: str  # namespace/name
    hosts: tuple[str, ...]
    pem: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.pem.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class IngressPlan:
    routes: tuple[Route, ...]  # in the order they are tried
    hosts: tuple[str, ...]  # hosts with rules: exact ones first, then wildcards
    default: Target | None  # the oldest Ingress's defaultBackend; None: 404
    certificates: tuple[Certificate, ...] = ()  # by age of their Ingress: the first names a host wins
    # ingress-nginx's ssl-redirect "false": hosts whose plain HTTP is not sent to HTTPS although
    # they have a certificate; force-ssl-redirect "true": hosts that are, without one.
    plain_hosts: tuple[str, ...] = ()
    forced_https_hosts: tuple[str, ...] = ()
    app_roots: tuple[tuple[str, str], ...] = ()  # (host, path) from app-root: "/" redirects there


def nginx_annotation(ing: dict, name: str) -> str:
    return str(((ing.get("metadata") or {}).get("annotations") or {}).get(NGINX + name) or "")


def target_of(namespace: str, backend: dict, services: dict[tuple[str, str], dict]) -> Target:
    """An Ingress backend resolved against the Services: their ClusterIP and port."""
    svc_ref = backend.get("service") if isinstance(backend, dict) else None
    if not isinstance(svc_ref, dict):
        return Target(namespace, "", "", why="a resource backend (emukube routes to Services only)")
    name, port = svc_ref.get("name", ""), svc_ref.get("port") or {}
    wanted = str(port.get("number") or port.get("name") or "")
    svc = services.get((namespace, name))
    if svc is None:
        return Target(namespace, name, wanted, why=f'service "{name}" not found')
    spec = svc.get("spec") or {}
    ip = spec.get("clusterIP") or ""
    if not ip or ip == "None":
        return Target(namespace, name, wanted, why=f'service "{name}" has no ClusterIP')
    for p in spec.get("ports") or []:
        if str(p.get("port")) == wanted or (p.get("name") and p.get("name") == wanted):
            if (p.get("protocol") or "TCP") == "TCP":
                return Target(namespace, name, wanted, address=f"{ip}:{p['port']}")
    return Target(namespace, name, wanted, why=f'service "{name}" does not have port {wanted}')


def _age(ing: dict) -> tuple[str, str, str]:
    meta = ing.get("metadata") or {}
    return meta.get("creationTimestamp") or "", meta.get("namespace") or "", meta.get("name") or ""


def _host_rank(host: str) -> int:
    return 2 if not host else (1 if host.startswith("*.") else 0)


def _prefix(path: str) -> str:
    """A Prefix path as matched: element-wise, so a trailing slash does not count."""
    return path.rstrip("/") or "/"


def _route_order(route: Route) -> tuple:
    length = len(_prefix(route.path)) if route.path_type == "Prefix" else len(route.path)
    return (_host_rank(route.host), route.host, -length, route.path_type != "Exact")


def _decoded(data: dict, key: str) -> str:
    try:
        return base64.b64decode(str(data.get(key) or ""), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""


def certificates(ingresses: list[dict], secrets: list[dict]) -> tuple[Certificate, ...]:
    """The certificates of the Ingresses' tls sections. A Secret that is missing or holds no
    certificate and key leaves its hosts to the default (fake) certificate, as ingress-nginx does."""
    by_key = {((s.get("metadata") or {}).get("namespace") or "default", s["metadata"]["name"]): s for s in secrets}
    out: list[Certificate] = []
    for ing in ingresses:
        _, namespace, _ = _age(ing)
        for tls in (ing.get("spec") or {}).get("tls") or []:
            secret = by_key.get((namespace, tls.get("secretName") or ""))
            data = (secret or {}).get("data") or {}
            crt, key = _decoded(data, "tls.crt"), _decoded(data, "tls.key")
            hosts = tuple(h.lower() for h in tls.get("hosts") or [])
            if crt.strip() and key.strip() and hosts:
                out.append(Certificate(f"{namespace}/{tls['secretName']}", hosts,
                                       crt.rstrip("\n") + "\n" + key.rstrip("\n") + "\n"))
    return tuple(out)


def plan(ingresses: list[dict], services: list[dict], secrets: Sequence[dict] = ()) -> IngressPlan:
    """The routes of these Ingresses (those being deleted left out) over these Services, and the
    certificates of their tls sections from these Secrets."""
    by_key = {((s.get("metadata") or {}).get("namespace") or "default", s["metadata"]["name"]): s for s in services}
    routes: list[Route] = []
    seen: set[tuple[str, str, str]] = set()
    default: Target | None = None
    live = sorted((i for i in ingresses if not (i.get("metadata") or {}).get("deletionTimestamp")), key=_age)
    for ing in live:
        _, namespace, name = _age(ing)
        spec = ing.get("spec") or {}
        rewrite = nginx_annotation(ing, "rewrite-target")
        regex = bool(rewrite) or nginx_annotation(ing, "use-regex") == "true"
        if default is None and isinstance(spec.get("defaultBackend"), dict):
            default = target_of(namespace, spec["defaultBackend"], by_key)
        for rule in spec.get("rules") or []:
            host = (rule.get("host") or "").lower()
            for path in ((rule.get("http") or {}).get("paths") or []):
                kind, text = path.get("pathType") or "Prefix", path.get("path") or "/"
                if (host, kind, text) in seen:
                    continue  # the older Ingress has it
                seen.add((host, kind, text))
                routes.append(Route(host, text, kind, target_of(namespace, path.get("backend") or {}, by_key),
                                    f"{namespace}/{name}", regex, rewrite))
    routes.sort(key=_route_order)
    hosts = tuple(sorted({r.host for r in routes if r.host}, key=lambda h: (_host_rank(h), h)))
    return IngressPlan(tuple(routes), hosts, default, certificates(live, list(secrets)),
                       plain_hosts=_hosts_where(live, "ssl-redirect", "false"),
                       forced_https_hosts=_hosts_where(live, "force-ssl-redirect", "true"),
                       app_roots=tuple((h, nginx_annotation(i, "app-root")) for i in live
                                       if nginx_annotation(i, "app-root").startswith("/") for h in _hosts_of(i)))


def _hosts_of(ing: dict) -> list[str]:
    """The hosts an Ingress's rules and tls sections name ("" for rules without one)."""
    spec = ing.get("spec") or {}
    named = [(r.get("host") or "").lower() for r in spec.get("rules") or []]
    named += [h.lower() for t in spec.get("tls") or [] for h in t.get("hosts") or []]
    return sorted(set(named))


def _hosts_where(ingresses: list[dict], annotation: str, value: str) -> tuple[str, ...]:
    """The hosts of the Ingresses whose nginx annotation has that value (the same on every
    location of theirs, as ingress-nginx sets it per Ingress; here it holds for the whole host)."""
    return tuple(sorted({h for i in ingresses if nginx_annotation(i, annotation) == value for h in _hosts_of(i)}))


def status(address: str | None) -> dict:
    """An Ingress's status: the controller's address once it serves, else empty."""
    return {"loadBalancer": {"ingress": [{"ip": address}]}} if address else {"loadBalancer": {}}
