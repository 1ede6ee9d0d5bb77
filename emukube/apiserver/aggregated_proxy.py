"""Requests for a group/version an APIService delegates, relayed to its Service as kube-aggregator's
proxyHandler relays them (pkg/apiserver/handler_proxy.go): to https://CLUSTERIP:PORT with the
request's path and query, TLS verified as NAME.NAMESPACE.svc, the front-proxy client certificate
presented, the requester named in X-Remote-User / X-Remote-Group / X-Remote-Extra-* (what the
aggregated server's request-header authenticator reads) and the client's own credentials dropped.
An APIService that is not Available answers 503 `service unavailable`, as the handler does."""

from __future__ import annotations

import socket
from urllib.parse import quote

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from . import aggregation
from .handlers import requester
from .proxy import _HOP_BY_HOP, _consumed, _named


class _Resolver(aiohttp.abc.AbstractResolver):
    """The Service's DNS name (what TLS verifies) resolved to its ClusterIP."""

    def __init__(self, name: str, address: str):
        self.name, self.address = name, address

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list:
        return [{"hostname": host, "host": self.address if host == self.name else host, "port": port,
                 "family": socket.AF_INET, "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        pass


def _plain(status: int, text: str) -> web.Response:
    """Go's http.Error: the text and a newline, as text/plain."""
    return web.Response(status=status, text=text + "\n", content_type="text/plain",
                        headers={"X-Content-Type-Options": "nosniff"})


def auth_headers(user: dict) -> CIMultiDict:
    """transport.SetAuthProxyHeaders: one X-Remote-Group per group, extras by escaped key."""
    headers: CIMultiDict = CIMultiDict()
    headers["X-Remote-User"] = user.get("username", "")
    for group in user.get("groups") or []:
        headers.add("X-Remote-Group", group)
    for key, values in (user.get("extra") or {}).items():
        for value in values:
            headers.add(f"X-Remote-Extra-{quote(key, safe='')}", value)
    return headers


def _request_headers(request: web.Request) -> CIMultiDict:
    drop = _HOP_BY_HOP | _named(request.headers)
    headers: CIMultiDict = CIMultiDict(
        (k, v) for k, v in request.headers.items()
        if k.lower() not in drop and not _consumed(k) and not k.lower().startswith("x-remote-")
        and k.lower() != "host")
    headers.extend(auth_headers(requester(request)))
    return headers


async def relay(request: web.Request, registry, apiservice: dict, files: dict[str, str] | None) -> web.StreamResponse:
    if not aggregation.available(apiservice):
        return _plain(503, "service unavailable")
    namespace, name, port = aggregation._service_ref(apiservice)
    service = registry.get(aggregation.BY_KEY["services"], namespace, name)
    spec = (service or {}).get("spec") or {}
    address = spec.get("externalName") if spec.get("type") == "ExternalName" else spec.get("clusterIP")
    if not address or address == "None":
        return _plain(503, "service unavailable")
    try:
        context = aggregation._tls(apiservice, files)
    except (OSError, ValueError) as exc:
        return _plain(500, str(exc))
    host = f"{name}.{namespace}.svc"
    query = f"?{request.rel_url.raw_query_string}" if request.rel_url.raw_query_string else ""
    url = f"https://{host}:{port}{request.rel_url.raw_path}{query}"
    body = request.content.iter_chunked(1 << 16) if request.can_read_body else None
    connector = aiohttp.TCPConnector(resolver=_Resolver(host, address), ssl=context)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False, timeout=timeout) as session:
        try:
            upstream = await session.request(request.method, url, headers=_request_headers(request), data=body,
                                             allow_redirects=False,
                                             skip_auto_headers=("User-Agent", "Accept-Encoding"))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            # the upgrade-aware handler's responder: the error's text, 503
            return _plain(503, f"error trying to reach service: {exc}")
        async with upstream:
            drop = _HOP_BY_HOP | _named(upstream.headers)
            headers = CIMultiDict((k, v) for k, v in upstream.headers.items() if k.lower() not in drop)
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=headers)
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():  # a watch streams through
                    await response.write(chunk)
            except (aiohttp.ClientError, OSError):
                if request.transport is not None:
                    request.transport.close()
                return response
            await response.write_eof()
            return response
