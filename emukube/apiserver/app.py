"""The API server's aiohttp application: authentication, URL routing to discovery, objects and
subresources, health and version endpoints, OpenAPI, and the background tasks (watch poller,
garbage collector). `make_app` builds it for tests; `serve` runs it over HTTPS for __main__."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import ssl
from typing import Awaitable, Callable

from aiohttp import web
from aiohttp.http import SERVER_SOFTWARE

from ..k8s.resources import DEPRECATED, find
from . import (
    access,
    aggregation,
    authn,
    component_status,
    controller_report,
    crds,
    discovery,
    errors,
    event_ttl,
    handlers,
    health,
    issuer_discovery,
    metrics,
    negotiate,
    prometheus,
    reviews,
    service_cidrs,
    system,
)
from .gc import Collector
from .memory_trim import MemoryTrim
from .objects import Registry, _load
from .subresources import Subresources
from .tasks import BackgroundTask
from .watch import Hub

log = logging.getLogger("emukube.apiserver")

SubresourceHandler = Callable[..., Awaitable[web.StreamResponse]]
_OPEN_PATHS = ("/healthz", "/livez", "/readyz", "/version")

_AppKey = getattr(web, "AppKey", None)


def _key(name: str, kind: type):
    return _AppKey(name, kind) if _AppKey is not None else name


REGISTRY = _key("emukube_registry", Registry)
HUB = _key("emukube_hub", Hub)
_COLLECTOR = _key("emukube_collector", Collector)
SIGNER = _key("emukube_sa_signer", object)  # what signs ServiceAccount tokens (None: no authentication)


# What a 1.35 API server says of every request to a deprecated resource (k8s.resources.DEPRECATED;
# kubectl prints it as "Warning: ..."); ComponentStatus says its own (component_status.py).
# The request's deprecation warning, for _warn_deprecated.
_DEPRECATION = web.RequestKey("emukube_deprecation", str) if hasattr(web, "RequestKey") else "emukube_deprecation"


async def _warn_deprecated(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """Headers are sent before a watch's first event: added as any response is prepared."""
    text = request.get(_DEPRECATION)
    if text:
        response.headers.add("Warning", handlers.warning_value(text))
    # kube-apiserver names no server software; aiohttp adds its own just before this hook runs
    # (a proxied backend's own Server header stays).
    if response.headers.get("Server") == SERVER_SOFTWARE:
        del response.headers["Server"]


def _open(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in _OPEN_PATHS)


def _middleware(authenticator: authn.Authenticator):
    @web.middleware
    async def middleware(request: web.Request, handler):
        try:
            if not _open(request.path):  # the admin token or a ServiceAccount's, then RBAC (access.py)
                registry = request.app[REGISTRY]
                user = authenticator.user_for(request, authn.object_uids(registry))
                if user is None:
                    return errors.unauthorized().response()
                request[reviews.USER] = access.check(request, user, registry)
            return await handler(request)
        except errors.ApiError as exc:
            return exc.response()
        except web.HTTPRequestEntityTooLarge:
            return errors.too_large(negotiate.BODY_LIMIT).response()
        except (web.HTTPException, asyncio.CancelledError, ConnectionError):
            raise
        except Exception as exc:  # a bug of ours: say so as the API server does, and log it
            log.exception("%s %s failed", request.method, request.path)
            return errors.ApiError(500, "InternalError", f"Internal error occurred: {exc}",
                                   {"causes": [{"message": str(exc)}]}).response()
    return middleware


class Router:
    """Splits /api/v1/namespaces/ns/pods/name/status and friends, and calls the right handler."""

    def __init__(self, objects: handlers.Handlers, subs: Subresources, extra: dict,
                 aggregator: aggregation.Availability | None = None):
        self.objects, self.subs, self.extra = objects, subs, extra
        self.aggregator = aggregator

    def _delegated(self) -> dict[str, list[str]]:
        return self.aggregator.delegations.groups() if self.aggregator is not None else {}

    async def api(self, request: web.Request) -> web.StreamResponse:
        segs = [s for s in request.path.split("/") if s]
        if segs[0] == "api":
            if len(segs) == 1:
                return handlers.respond(discovery.api_versions(request.host))
            group, version, rest = "", segs[1], segs[2:]
        else:
            if len(segs) == 1:
                return handlers.respond(discovery.group_list(self._delegated()))
            if len(segs) == 2:
                return handlers.respond(discovery.api_group(segs[1], self._delegated()))
            group, version, rest = segs[1], segs[2], segs[3:]
            if self.aggregator is not None and group == aggregation.GROUP and not self.aggregator.started:
                self.aggregator.first()  # the Local APIServices before anyone reads them
            if self.aggregator is not None and (remote := self.aggregator.delegations.of(group, version)):
                from . import aggregated_proxy

                return await aggregated_proxy.relay(request, self.objects.registry, remote, self.aggregator.files)
        if not rest:
            if request.method != "GET":
                raise errors.method_not_allowed()
            extra: dict = {}
            for key, sub in self.extra:
                extra.setdefault(key, []).append(sub)
            return handlers.respond(discovery.resource_list(group, version, extra))
        return await self._object(request, group, version, rest)

    async def _object(self, request: web.Request, group: str, version: str, rest: list[str]):
        namespace = None
        scoped = len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize")
        if scoped:
            namespace, rest = rest[1], rest[2:]
        resource = find(group, version, rest[0])
        if resource is None or (scoped and not resource.namespaced):
            raise errors.no_such_path()
        if len(rest) > 3 and not (rest[2] == "proxy" and (resource.key, "proxy") in self.extra):
            raise errors.no_such_path()  # only a proxy has a path of its own after its name
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if name is not None and resource.namespaced and namespace is None:
            raise errors.no_such_path()
        route = handlers.Route(resource, namespace, name, sub)
        method = request.method
        if resource.key in DEPRECATED:
            request[_DEPRECATION] = DEPRECATED[resource.key]
        if sub is not None:
            custom = self.extra.get((resource.key, sub))
            if custom is not None:
                return await custom(request, resource, namespace, name)
            if sub in resource.subresources or (resource.key == "namespaces" and sub == "finalize"):
                return await self.subs.handle(request, route)
            raise errors.no_such_path()
        if resource.key == "componentstatuses" and method == "GET":  # computed, never stored
            return await component_status.serve(request, resource, name, _store_answers(self.objects.registry.store))
        verb = {("GET", False): "list", ("POST", False): "create", ("DELETE", False): "deletecollection",
                ("GET", True): "get", ("PUT", True): "update", ("PATCH", True): "patch",
                ("DELETE", True): "delete"}.get((method, name is not None))
        if verb == "list" and handlers._truthy(request.query.get("watch")):
            verb = "watch"
        if verb is None or verb not in resource.verbs:
            raise errors.method_not_allowed()
        call = {"list": self.objects.list, "watch": self.objects.list, "create": self.objects.create,
                "deletecollection": self.objects.delete_collection, "get": self.objects.get,
                "update": self.objects.update, "patch": self.objects.patch, "delete": self.objects.delete}[verb]
        return await call(request, route)


def _store_answers(store) -> bool:
    try:
        store.current_rv()
    except Exception:  # noqa: BLE001 - any failure of the store is a failed check
        return False
    return True


async def _version(request: web.Request) -> web.Response:
    return handlers.respond(discovery.VERSION)


def _openapi():
    module = _load("openapi")
    if module is None:
        raise errors.no_such_path()
    return module


async def _openapi_v2(request: web.Request) -> web.Response:
    """JSON, or gnostic's protobuf Document for client-go's OpenAPISchema() (kubectl's validation)."""
    module = _openapi()
    proto = _load("openapi_proto")
    if proto is not None and proto.wants_protobuf(request.headers.get("Accept")):
        return web.Response(body=proto.v2(), headers={"Content-Type": proto.MEDIA_TYPE})
    return web.Response(body=module.v2(), headers={"Content-Type": "application/json"})


async def _openapi_v3(request: web.Request) -> web.Response:
    tail = request.match_info.get("tail", "")
    module = _openapi()
    if not tail:
        return handlers.respond(module.v3_index())
    data = module.v3(tail)
    if data is None:
        raise errors.no_such_path()
    return web.Response(body=data, headers={"Content-Type": "application/json"})


def _cluster_net():
    admission = _load("admission")
    return admission.settings().net if admission is not None else None


def _controller_ip() -> str | None:
    net = _cluster_net()
    return net.controller_ip if net is not None else None


def _follow_writes(registry: Registry) -> aggregation.Availability:
    """What follows writes in this server: Services' IPAddresses and the ServiceCIDRs' state
    (service_cidrs.py), the aggregator's view of APIServices (aggregation.py)."""
    service_cidrs.install(registry, _cluster_net)
    return aggregation.install(registry)


def make_app(store, tokens: list[str] | None, *, subresources: dict | None = None,
             gc: bool = True, root_ca: bytes | None = None, pki_dir: str | None = None) -> web.Application:
    """The API server over `store`. tokens: accepted bearer tokens (None: no authentication).
    subresources: {(resource key, name): async handler(request, resource, namespace, name)} for
    subresources served elsewhere (pods/log, pods/exec, ...); they are listed by discovery too.
    root_ca: the cluster's CA, published as the kube-root-ca.crt ConfigMap of every namespace."""
    authenticator = authn.Authenticator(tokens, pki_dir)
    trim = MemoryTrim()
    recorder = prometheus.Recorder(store.counts)  # outermost: refused requests count too
    app = web.Application(middlewares=[recorder.middleware(), trim.middleware, _middleware(authenticator)],
                          client_max_size=negotiate.BODY_LIMIT + 1)
    app.on_response_prepare.append(_warn_deprecated)
    trimmer = BackgroundTask(trim.run)
    hub = Hub(store)
    registry = Registry(store, hub)
    registry.root_ca, registry.pki_dir = root_ca, pki_dir
    objects = handlers.Handlers(registry, hub)
    from .eviction import HANDLERS as evictions  # served here: they need only the store
    from .proxy import HANDLERS as proxies
    from .token_requests import HANDLERS as token_requests

    extra = {**evictions, **token_requests, **proxies, **(subresources or {})}
    availability = _follow_writes(registry)
    checking = BackgroundTask(availability.run)
    router = Router(objects, Subresources(objects), extra, availability)
    collector = Collector(registry, hub)
    expiry = BackgroundTask(functools.partial(event_ttl.keep_expiring, registry))
    app[REGISTRY], app[HUB], app[_COLLECTOR] = registry, hub, collector
    app[SIGNER] = authenticator.signer

    async def startup(_app):
        system.ensure(registry, _cluster_net())
        crds.refresh(store)
        hub.start()
        checking.start()  # its first pass makes the Local APIServices
        if gc:
            collector.start()
            expiry.start()
        trimmer.start()

    async def cleanup(_app):
        crds.forget()
        await trimmer.stop()
        await collector.stop()
        await expiry.stop()
        await checking.stop()
        await hub.stop()

    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    _routes(app, router, registry, authenticator, recorder)
    return app


def _routes(app: web.Application, router: Router, registry: Registry, authenticator: authn.Authenticator,
            recorder: prometheus.Recorder) -> None:
    health.register(app, lambda: _store_answers(registry.store))
    app.router.add_get("/version", _version)
    prometheus.register(app, recorder)
    app.router.add_get("/openapi/v2", _openapi_v2)
    app.router.add_get("/openapi/v3", _openapi_v3)
    app.router.add_get("/openapi/v3/{tail:.+}", _openapi_v3)
    metrics.register(app, registry)  # metrics.k8s.io, before the catch-all below
    reviews.register(app, registry, authenticator)
    issuer_discovery.register(app, authenticator.signer, _controller_ip)
    for prefix in ("/api", "/apis"):
        app.router.add_route("*", prefix, router.api)
        app.router.add_route("*", prefix + "/{tail:.*}", router.api)


def read_tokens(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def tls_context(cert: str, key: str, client_ca: str | None = None) -> ssl.SSLContext:
    """client_ca: client certificates it signed are verified (and their users taken, authn.py);
    a client without one goes on to its token."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if client_ca is not None and os.path.exists(client_ca):
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(client_ca)
    context.set_alpn_protocols(["http/1.1"])  # kubectl's exec/port-forward upgrades need HTTP/1.1
    return context


SHUTDOWN_GRACE = 1.0  # seconds for requests under way once told to stop (see serve)


async def serve(state_dir: str, host: str, port: int, *, tls: bool = True, auth: bool = True,
                ready: asyncio.Event | None = None, more_ports: tuple[int, ...] = ()) -> None:
    """Run until cancelled (SIGTERM/SIGINT in __main__)."""
    from emukube.store import Store

    store = Store(os.path.join(state_dir, "store.db"))
    pki = os.path.join(state_dir, "pki")
    tokens = read_tokens(os.path.join(pki, "tokens")) if auth else None
    context = tls_context(os.path.join(pki, "apiserver.crt"), os.path.join(pki, "apiserver.key"),
                          os.path.join(pki, "ca.crt")) if tls else None
    from .streams import handlers as stream_handlers

    root_ca = None
    if os.path.exists(os.path.join(pki, "ca.crt")):  # absent for a plain-HTTP server (tests)
        with open(os.path.join(pki, "ca.crt"), "rb") as ca:
            root_ca = ca.read()
    app = make_app(store, tokens, subresources=stream_handlers(), root_ca=root_ca,
                   pki_dir=pki if root_ca is not None else None)
    controller_report.register(app, state_dir)  # `up` waits on it
    component_status.register(app, state_dir)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    for each in (port, *more_ports):
        await web.TCPSite(runner, host, each, ssl_context=context, backlog=256).start()
    print(f"emukube apiserver: serving on {'https' if tls else 'http'}://{host}:{port}", flush=True)
    if ready is not None:
        ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        # aiohttp's graceful shutdown waits up to 60 s for requests under way, and a watch does
        # not end by itself: with the loop's ~40 watches open, the controller's stop (and `up`
        # replacing it) took the 5 s its supervisor grants before SIGKILL. As kube-apiserver
        # does at its end, open watches are cut after a moment; every acknowledged write is in
        # the store already.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(runner.cleanup(), SHUTDOWN_GRACE)
        store.close()
