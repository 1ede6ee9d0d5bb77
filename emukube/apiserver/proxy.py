"""pods/proxy and services/proxy: an HTTP request relayed to a pod, or to one of a Service's ready
endpoints, as kube-apiserver's proxy relays it (`kubectl proxy`, `kubectl get --raw
/api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH`, client-go's ProxyGet, the URLs
`kubectl cluster-info` prints). The API server runs on the cluster's network, so it reaches pod
addresses directly, as the real one reaches them through its node's routes."""

from __future__ import annotations

import asyncio
import gzip
import ssl

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from ..k8s.dial_errors import dial_error
from ..k8s.resources import BY_KEY, Resource
from . import errors, negotiate, upgrades
from .proxy_rewrite import rewrite_html, rewrite_url
from .proxy_target import (
    Location,
    backend_path,
    pod_location,
    request_target,
    service_location,
    split_scheme_name_port,
)

# Go's ReverseProxy drops these both ways (and any header a Connection header names)
_HOP_BY_HOP = {"connection", "proxy-connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
               "te", "trailer", "transfer-encoding", "upgrade"}
# The API server's corsRemovingTransport: the backend's CORS answer is not the API server's
_CORS = {"access-control-allow-credentials", "access-control-allow-headers", "access-control-allow-methods",
         "access-control-allow-origin"}
_DIAL_TIMEOUT = 30  # the API server's proxy dialer


def _named(headers) -> set[str]:
    return {name.strip().lower() for value in headers.getall("Connection", []) for name in value.split(",")}


def _consumed(header: str) -> bool:
    """A credential the API server used up: it deletes Authorization once it has authenticated,
    and the Impersonate-* headers once it has impersonated."""
    lower = header.lower()
    return lower == "authorization" or lower.startswith("impersonate-")


def _forwarded_for(request: web.Request) -> str:
    """X-Forwarded-For with the client's address added, as Go's proxies add it."""
    prior, client = request.headers.get("X-Forwarded-For"), request.remote or ""
    return f"{prior}, {client}" if prior else client


def _request_headers(request: web.Request, forwarded_uri: str) -> CIMultiDict:
    """What the backend is sent: the client's headers less the hop-by-hop ones and the
    credentials the API server consumed."""
    drop = _HOP_BY_HOP | _named(request.headers)
    headers: CIMultiDict = CIMultiDict(
        (key, value) for key, value in request.headers.items() if key.lower() not in drop and not _consumed(key))
    headers["X-Forwarded-For"] = _forwarded_for(request)
    headers["X-Forwarded-Uri"] = forwarded_uri
    return headers


def _response_headers(upstream: aiohttp.ClientResponse, rewrite) -> CIMultiDict:
    drop = _HOP_BY_HOP | _CORS | _named(upstream.headers)
    headers: CIMultiDict = CIMultiDict((k, v) for k, v in upstream.headers.items() if k.lower() not in drop)
    if "Location" in headers:
        headers["Location"] = rewrite(headers["Location"])
    return headers


def _unreachable(location: Location, exc: BaseException) -> errors.ApiError:
    """Go's words for the failed round trip, under the API server's own."""
    port = location.address[1]
    if isinstance(exc, aiohttp.ClientConnectorError):
        why = dial_error(location.host, port, exc.os_error)
    elif isinstance(exc, TimeoutError):
        why = dial_error(location.host, port, exc)
    elif isinstance(exc, (aiohttp.ServerDisconnectedError, asyncio.IncompleteReadError)):
        why = "EOF"
    elif isinstance(exc, OSError) and exc.errno:  # the upgrade's own dial
        why = dial_error(location.host, port, exc)
    else:
        why = str(exc) or type(exc).__name__
    return errors.ApiError(503, "ServiceUnavailable", f"error trying to reach service: {why}")


def _split(request: web.Request) -> tuple[str, str]:
    """(the request's path up to `/proxy`, what follows it): pods and services are core and
    namespaced, so that is /api/v1/namespaces/NS/RESOURCE/NAME/proxy."""
    prefix = "/".join(request.path.split("/")[:8])
    return prefix, request.path[len(prefix):]


async def _relay(request: web.Request, location: Location, prefix: str, after: str) -> web.StreamResponse:
    path = backend_path(after)
    if _wants_upgrade(request):
        return await _upgrade(request, location, path or "/")
    if not path and request.method in ("GET", "HEAD"):
        # The API server's redirect of an empty path (kubernetes/kubernetes#4958)
        query = f"?{request.rel_url.raw_query_string}" if request.rel_url.raw_query_string else ""
        return web.Response(status=301, headers={"Location": f"{request.path}/{query}"})
    # the query as the client encoded it: decoded and encoded again, `a%26b` would be two fields
    url = URL(location.url(path or "/", request.rel_url.raw_query_string), encoded=True)
    def rewrite(target: str) -> str:
        return rewrite_url(target, location.netloc, request.host, prefix)

    body = request.content.iter_chunked(1 << 16) if request.can_read_body else None
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=_DIAL_TIMEOUT)
    # One session per request: proxying is rare next to the API's own traffic, and a session
    # kept on the app would outlive the loop of a test's app.
    async with aiohttp.ClientSession(auto_decompress=False, timeout=timeout) as session:
        try:
            upstream = await session.request(
                request.method, url, headers=_request_headers(request, prefix + path), data=body,
                allow_redirects=False, ssl=False, skip_auto_headers=("User-Agent", "Accept-Encoding"))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _unreachable(location, exc) from None
        async with upstream:
            headers = _response_headers(upstream, rewrite)
            if "Location" not in upstream.headers and _is_html(upstream):
                page = await _rewritten(upstream, rewrite)
                if page is not None:
                    headers.pop("Content-Length", None)
                    return web.Response(status=upstream.status, reason=upstream.reason, headers=headers, body=page)
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=headers)
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
            except (aiohttp.ClientError, OSError):  # the backend went mid-answer: so does the client's
                if request.transport is not None:  # connection, as Go's proxy aborts its handler
                    request.transport.close()
                return response
            await response.write_eof()
            return response


def _wants_upgrade(request: web.Request) -> bool:
    """An upgrade this server can hand on: any with the image's aiohttp, only WebSocket with later
    ones (upgrades.RAW_UPGRADES). Another is relayed as a plain request, its Upgrade dropped."""
    wanted = request.headers.get("Upgrade", "")
    return bool(wanted) and "upgrade" in _named(request.headers) and (
        upgrades.RAW_UPGRADES or wanted.lower() == "websocket")


async def _upgrade(request: web.Request, location: Location, path: str) -> web.StreamResponse:
    """The API server's tryUpgrade: the request as the client sent it (less the credentials it
    consumed) written to the backend's socket, the backend's answer passed on, and after a 101
    the bytes both ways until either side closes."""
    context = None
    if location.scheme == "https":  # the API server's proxy transport verifies no backend
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(*location.address, ssl=context),
                                                _DIAL_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise _unreachable(location, exc) from None
    try:
        writer.write(_upgrade_head(request, path))
        await writer.drain()
        try:
            status, reason, headers = _parse_head(await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _DIAL_TIMEOUT))
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise _unreachable(location, exc) from None
        if status != 101:  # not upgraded: the backend's answer, as it gave it
            body = await _body(reader, headers)
            kept = CIMultiDict((k, v) for k, v in headers.items()
                               if k.lower() not in ("transfer-encoding", "content-length", "connection"))
            return web.Response(status=status, reason=reason, headers=kept, body=body)
        response = upgrades.Switching(status=101, reason=reason, headers=headers)
        taken = await upgrades.take_over(request, response)
        if taken is not None:
            await _splice(taken, request, reader, writer)
        return response
    finally:
        writer.close()


def _upgrade_head(request: web.Request, path: str) -> bytes:
    lines = [f"{request.method} {request_target(path, request.rel_url.raw_query_string)} HTTP/1.1"]
    for key, value in request.raw_headers:
        name = key.decode("latin-1")
        if not _consumed(name) and name.lower() != "x-forwarded-for":
            lines.append(f"{name}: {value.decode('latin-1')}")
    lines.append(f"X-Forwarded-For: {_forwarded_for(request)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _parse_head(head: bytes) -> tuple[int, str, CIMultiDict]:
    first, *rest = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    _, status, *reason = first.split(" ", 2)
    headers: CIMultiDict = CIMultiDict()
    for line in rest:
        key, _, value = line.partition(":")
        headers.add(key.strip(), value.strip())
    return int(status), (reason or [""])[0], headers


async def _body(reader: asyncio.StreamReader, headers: CIMultiDict) -> bytes:
    """A refused upgrade's body: by its length, else until the backend closes (10 s at most, as
    the API server's deadline for it)."""
    try:
        if headers.get("Content-Length", "").isdigit():
            return await asyncio.wait_for(reader.readexactly(int(headers["Content-Length"])), 10)
        return await asyncio.wait_for(reader.read(negotiate.BODY_LIMIT), 10)
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return b""


async def _splice(taken, request: web.Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    client, drain = taken
    transport = request.transport

    async def upstream() -> None:
        while data := await client.readany():
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()

    async def downstream() -> None:
        while (data := await reader.read(1 << 16)) and transport is not None and not transport.is_closing():
            transport.write(data)
            await drain()

    up, down = asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())
    try:
        done, _ = await asyncio.wait((up, down), return_when=asyncio.FIRST_COMPLETED)
        if up in done and not down.done():  # the client is done sending: the backend may still answer
            await asyncio.wait((down,), timeout=10)
    except (OSError, ConnectionError):
        pass
    finally:
        for task in (up, down):
            task.cancel()
        await asyncio.gather(up, down, return_exceptions=True)
        if transport is not None:
            transport.close()


def _is_html(upstream: aiohttp.ClientResponse) -> bool:
    return upstream.headers.get("Content-Type", "").split(";")[0].strip().lower() == "text/html"


async def _rewritten(upstream: aiohttp.ClientResponse, rewrite) -> bytes | None:
    """The page with its links through the proxy; None for an encoding the API server leaves
    alone (anything but none and gzip)."""
    encoding = upstream.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "gzip"):
        return None
    raw = await upstream.read()
    text = (gzip.decompress(raw) if encoding == "gzip" else raw).decode("utf-8", "surrogateescape")
    page = rewrite_html(text, rewrite).encode("utf-8", "surrogateescape")
    return gzip.compress(page) if encoding == "gzip" else page


def _parse_id(kind: str, id_: str) -> tuple[str, str, str]:
    try:
        return split_scheme_name_port(id_)
    except ValueError:
        raise errors.bad_request(f'invalid {kind} request "{id_}"') from None


async def pods(request: web.Request, resource: Resource, namespace: str, id_: str) -> web.StreamResponse:
    from .app import REGISTRY  # app imports this module when it builds the routes

    scheme, name, port = _parse_id("pod", id_)
    pod = request.app[REGISTRY].must_get(resource, namespace, name)
    prefix, after = _split(request)
    return await _relay(request, pod_location(pod, scheme, port), prefix, after)


async def services(request: web.Request, resource: Resource, namespace: str, id_: str) -> web.StreamResponse:
    from .app import REGISTRY

    registry = request.app[REGISTRY]
    scheme, name, port = _parse_id("service", id_)
    # As the API server asks: the Service only to turn a port number into its name
    service = registry.must_get(resource, namespace, name) if port.isdigit() else None
    endpoints = registry.must_get(BY_KEY["endpoints"], namespace, name)

    def pod_ips(pod_name: str) -> list[str]:
        pod = registry.get(BY_KEY["pods"], namespace, pod_name)
        return [p.get("ip") for p in ((pod or {}).get("status") or {}).get("podIPs") or []]

    location = service_location(namespace, name, service, endpoints, id_, scheme, port, pod_ips)
    prefix, after = _split(request)
    return await _relay(request, location, prefix, after)


HANDLERS = {("pods", "proxy"): pods, ("services", "proxy"): services}
