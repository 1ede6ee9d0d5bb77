"""pods/portforward: kubectl port-forward through the API server.

kubectl >= 1.31 upgrades to a WebSocket with the subprotocol `SPDY/3.1+portforward.k8s.io` and
speaks SPDY/3.1 inside its binary messages (client-go tools/portforward, tunneling_connection.go),
falling back to a plain `Upgrade: SPDY/3.1` when that fails. Either way each local connection
becomes two SPDY streams, an error stream and a data stream with the same `requestID` header,
and the server joins the data stream to the pod's port as the kubelet does
(pkg/kubelet/cri/streaming/portforward/httpstream.go). Here the API server, on the cluster
network, opens that TCP connection to the pod's IP itself; a failure is written on the error
stream in the kubelet's words, which kubectl prints."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from aiohttp import WSMsgType, http_parser, web

from .. import errors
from ..resources import Resource
from . import spdy

log = logging.getLogger("emukube.apiserver.portforward")

PROTOCOL = "portforward.k8s.io"
TUNNEL_PREFIX = "SPDY/3.1+"
STREAM_CREATION_TIMEOUT = 30.0  # the kubelet's default: a request whose second stream never comes
CONNECT_TIMEOUT = 10.0
CHUNK = 256 * 1024
WRITE_HIGH = 4 * 1024 * 1024  # bytes queued towards the pod before the session waits for them

Send = Callable[[bytes], Awaitable[None]]


@dataclass
class Target:
    """Where a stream pair goes: the pod as the API stores it (re-read per connection, so a
    replaced pod's new address is used), and how messages name it."""

    lookup: Callable[[], dict | None]
    name: str
    namespace: str

    def address(self) -> str:
        pod = self.lookup()
        if pod is None:
            raise LookupError(f'pod not found ("{self.name}_{self.namespace}")')
        ip = (pod.get("status") or {}).get("podIP")
        if not ip:
            raise LookupError(f"pod {self.name} has no IP address yet")
        return ip


@dataclass
class _Pair:
    request_id: str
    port: int = 0
    error_id: int = 0
    data_id: int = 0
    pending: list[bytes] = field(default_factory=list)  # client data before the pod's socket opened
    client_done: bool = False
    writer: asyncio.StreamWriter | None = None
    task: asyncio.Task | None = None
    expiry: asyncio.Task | None = None


def _check(headers: dict[str, str]) -> str:
    """Why a new stream is refused, as the kubelet's httpStreamReceived says it; '' when fine."""
    port = headers.get("port", "")
    if not port:
        return '"port" header is required'
    if not port.isdigit() or int(port) > 65535:
        return f'unable to parse "{port}" as a port: strconv.ParseUint: parsing "{port}": ' + \
            ("value out of range" if port.isdigit() else "invalid syntax")
    if int(port) < 1:
        return f'port "{port}" must be > 0'
    kind = headers.get("streamtype", "")
    if not kind:
        return '"streamType" header is required'
    if kind not in ("error", "data"):
        return f'invalid stream type "{kind}"'
    return ""


def _dial_error(ip: str, port: int, exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        why = "i/o timeout"
    else:
        why = os.strerror(exc.errno).lower() if getattr(exc, "errno", None) else str(exc)
        why = f"connect: {why}"
    return f"failed to connect to {ip}:{port} inside the pod's network namespace: dial tcp4 {ip}:{port}: {why}"


class Session:
    """One upgraded connection: the streams the client opens, paired by requestID, each pair
    joined to a TCP connection to the pod. feed() takes the client's bytes in order; send
    writes the server's (whole frames, in the order given)."""

    def __init__(self, send: Send, target: Target):
        self.send, self.target = send, target
        self.reader, self.writer = spdy.Reader(), spdy.Writer()
        self.pairs: dict[str, _Pair] = {}  # by requestID, until both streams came
        self.streams: dict[int, _Pair] = {}
        self.open: set[int] = set()  # streams we may still write to
        self.last_id = 0
        self.tasks: set[asyncio.Task] = set()
        self.closed = False

    # ---- frames from the client --------------------------------------------------------------
    async def feed(self, data: bytes) -> bool:
        """False once the client said GOAWAY (the session is over). Raises spdy.ProtocolError."""
        for frame in self.reader.feed(data):
            if frame.type == spdy.DATA:
                await self._data(frame)
            elif frame.type == spdy.SYN_STREAM:
                await self._syn_stream(frame)
            elif frame.type == spdy.RST_STREAM:
                self._reset(frame.stream_id)
            elif frame.type == spdy.PING:
                if frame.stream_id % 2 == 1:  # the client's; ours would be even
                    await self._write(spdy.ping(frame.stream_id))
            elif frame.type == spdy.GOAWAY:
                return False
        return True

    async def _syn_stream(self, frame: spdy.Frame) -> None:
        sid = frame.stream_id
        if sid % 2 == 0 or sid <= self.last_id:
            await self._write(spdy.rst_stream(sid, spdy.PROTOCOL_ERROR))
            return
        self.last_id = sid
        headers = {name: values[0] for name, values in frame.headers.items() if values}
        problem = _check(headers)
        if problem:
            log.warning("portforward: stream rejected: %s", problem)
            await self._write(spdy.rst_stream(sid, spdy.CANCEL))
            return
        await self._write(self.writer.syn_reply(sid))
        self.open.add(sid)
        kind = headers["streamtype"]
        request_id = headers.get("requestid") or str(sid if kind == "error" else sid - 2)  # clients before 1.6
        pair = self.pairs.get(request_id)
        if pair is None:
            pair = self.pairs[request_id] = _Pair(request_id, int(headers["port"]))
            pair.expiry = self._spawn(self._expire(pair))
        if getattr(pair, f"{kind}_id"):
            await self._print(pair, f"error processing stream for request {request_id}: {kind} stream already assigned")
            await self._fin(sid)
            return
        setattr(pair, f"{kind}_id", sid)
        self.streams[sid] = pair
        if frame.fin:
            self._client_done(pair, sid)
        if pair.error_id and pair.data_id:
            del self.pairs[request_id]
            pair.expiry.cancel()
            pair.task = self._spawn(self._forward(pair))

    async def _data(self, frame: spdy.Frame) -> None:
        pair = self.streams.get(frame.stream_id)
        if pair is None or frame.stream_id != pair.data_id:
            return  # the error stream carries nothing from the client
        if frame.data:
            if pair.writer is None:
                pair.pending.append(frame.data)
            elif not pair.writer.is_closing():
                pair.writer.write(frame.data)
                if pair.writer.transport.get_write_buffer_size() > WRITE_HIGH:
                    try:
                        await pair.writer.drain()
                    except ConnectionError:
                        pass  # the forward task sees it too, and ends the pair
        if frame.fin:
            self._client_done(pair, frame.stream_id)

    def _client_done(self, pair: _Pair, sid: int) -> None:
        if sid != pair.data_id:
            return
        pair.client_done = True
        if pair.writer is not None and pair.writer.can_write_eof() and not pair.writer.is_closing():
            pair.writer.write_eof()  # the pod reads EOF, as after a shutdown(SHUT_WR) of the local client

    def _reset(self, sid: int) -> None:
        self.open.discard(sid)
        pair = self.streams.get(sid)
        if pair is not None and sid == pair.data_id and pair.task is not None:
            pair.task.cancel()

    # ---- frames to the client ----------------------------------------------------------------
    async def _write(self, frame: bytes) -> None:
        if not self.closed:
            await self.send(frame)

    async def _fin(self, sid: int) -> None:
        if sid in self.open:
            self.open.discard(sid)
            await self._write(spdy.data(sid, fin=True))

    async def _print(self, pair: _Pair, message: str) -> None:
        if pair.error_id in self.open:
            await self._write(spdy.data(pair.error_id, message.encode()))

    # ---- the pod side ------------------------------------------------------------------------
    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _expire(self, pair: _Pair) -> None:
        await asyncio.sleep(STREAM_CREATION_TIMEOUT)
        if self.pairs.get(pair.request_id) is pair:
            del self.pairs[pair.request_id]
            await self._print(pair, f"(conn={id(self):#x}, request={pair.request_id}) timed out waiting for streams")
            for sid in (pair.error_id, pair.data_id):
                self.streams.pop(sid, None)
                await self._fin(sid)

    async def _forward(self, pair: _Pair) -> None:
        port = pair.port
        try:
            try:
                ip = self.target.address()
            except LookupError as exc:
                await self._print(pair, self._failure(port, str(exc)))
                return
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port, limit=CHUNK),
                                                        CONNECT_TIMEOUT)
            except (OSError, asyncio.TimeoutError) as exc:
                await self._print(pair, self._failure(port, _dial_error(ip, port, exc)))
                return
            pair.writer = writer
            for chunk in pair.pending:
                writer.write(chunk)
            pair.pending.clear()
            if pair.client_done:
                writer.write_eof()
            while pair.data_id in self.open:
                chunk = await reader.read(CHUNK)
                if not chunk:
                    break
                await self._write(spdy.data(pair.data_id, chunk))
        except ConnectionError:
            pass  # the pod reset the connection: end the streams as on EOF
        finally:
            if pair.writer is not None:
                pair.writer.transport.abort()
            for sid in (pair.error_id, pair.data_id):
                self.streams.pop(sid, None)
            if not self.closed:
                try:
                    await self._fin(pair.data_id)
                    await self._fin(pair.error_id)
                except (ConnectionError, RuntimeError):
                    pass  # the client is gone: close() follows

    def _failure(self, port: int, why: str) -> str:
        return f"error forwarding port {port} to pod {self.target.name}, uid : {why}"

    async def close(self) -> None:
        """The connection ended: every pod connection is dropped, every task ends."""
        self.closed = True
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


# ---- the HTTP side ----------------------------------------------------------------------------
def _requested(request: web.Request) -> list[str]:
    return [p.strip() for h in request.headers.getall("Sec-WebSocket-Protocol", []) for p in h.split(",") if p.strip()]


def _text(status: int, message: str, headers: dict | None = None) -> web.Response:
    return web.Response(status=status, text=message + "\n", content_type="text/plain", headers=headers)


def _refused(offered: list[str]) -> web.Response:
    """httpstream.Handshake's answer to a client without our protocol."""
    return _text(403, f"unable to upgrade: unable to negotiate protocol: client supports [{' '.join(offered)}], "
                      f"server accepts [{PROTOCOL}]", {"X-Accepted-Stream-Protocol-Versions": PROTOCOL})


async def _serve(session: Session, chunks) -> None:
    """Feed the client's bytes to the session until it ends, then drop what it holds."""
    try:
        async for data in chunks:
            if not await session.feed(data):
                break
    except spdy.ProtocolError as exc:
        log.warning("portforward %s/%s: %s", session.target.namespace, session.target.name, exc)
    except (ConnectionError, RuntimeError):
        pass  # the client went away while we wrote
    finally:
        await session.close()


async def _tunnel(request: web.Request, target: Target) -> web.StreamResponse:
    offered = [p for p in _requested(request) if p.startswith(TUNNEL_PREFIX) and p.endswith(".k8s.io")]
    if not offered:
        return _text(400, "unable to upgrade: no tunneling spdy protocols provided")
    chosen = TUNNEL_PREFIX + PROTOCOL
    if chosen not in offered:
        return _refused([p[len(TUNNEL_PREFIX):] for p in offered])
    ws = web.WebSocketResponse(protocols=(chosen,), compress=False, autoping=True)
    await ws.prepare(request)

    async def binary():
        async for msg in ws:
            if msg.type != WSMsgType.BINARY:
                return  # client-go's tunnel reads binary messages only
            yield msg.data

    try:
        await _serve(Session(ws.send_bytes, target), binary())
    finally:
        await ws.close()
    return ws


class _Switching(web.StreamResponse):
    _length_check = False  # a 101 has no body to frame, as aiohttp's WebSocketResponse says


# Debian bookworm's aiohttp (3.8, the image's) hands any upgraded connection to the handler; later
# ones (those with _is_supported_upgrade) parse what follows all but a WebSocket upgrade as HTTP.
_RAW_UPGRADES = not hasattr(http_parser, "_is_supported_upgrade")


class _RawBytes:
    """In aiohttp's parser slot of an upgraded connection (as its WebSocket reader is): what
    follows the 101 goes, unparsed and with flow control, to a StreamReader."""

    def __init__(self, stream):
        self.stream = stream

    def feed_data(self, data: bytes):
        self.stream.feed_data(data)
        return False, b""

    def feed_eof(self) -> None:
        self.stream.feed_eof()


async def _spdy(request: web.Request, target: Target) -> web.StreamResponse:
    from aiohttp.streams import StreamReader

    offered = [p.strip() for h in request.headers.getall("X-Stream-Protocol-Version", []) for p in h.split(",")]
    if not any(offered):
        return _text(400, "unable to upgrade: X-Stream-Protocol-Version is required")
    if PROTOCOL not in offered:
        return _refused(offered)
    if not _RAW_UPGRADES:
        return _text(400, "unable to upgrade: this API server takes over WebSocket upgrades only")
    response = _Switching(status=101, headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1",
                                               "X-Stream-Protocol-Version": PROTOCOL})
    writer = await response.prepare(request)
    transport = request.transport
    stream = StreamReader(request.protocol, 1 << 16, loop=asyncio.get_running_loop())
    request.protocol.set_parser(_RawBytes(stream))
    request.protocol.keep_alive(False)

    async def send(frame: bytes) -> None:
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client closed the connection")
        transport.write(frame)
        if transport.get_write_buffer_size() > 1 << 16:
            await writer.drain()

    async def received():
        while data := await stream.readany():
            yield data

    await _serve(Session(send, target), received())
    return response


async def portforward(request: web.Request, resource: Resource, namespace: str, name: str) -> web.StreamResponse:
    from ..app import REGISTRY

    if request.method not in ("GET", "POST"):
        raise errors.method_not_allowed()
    registry = request.app[REGISTRY]
    pod = registry.must_get(resource, namespace, name)
    if not (pod.get("spec") or {}).get("nodeName"):
        raise errors.bad_request(f"pod {name} does not have a host assigned")
    target = Target(lambda: registry.get(resource, namespace, name), name, namespace)
    upgrade = request.headers.get("Upgrade", "").lower()
    if upgrade == "websocket":
        return await _tunnel(request, target)
    if upgrade == "spdy/3.1":
        return await _spdy(request, target)
    raise errors.bad_request("Upgrade request required")


HANDLERS = {("pods", "portforward"): portforward}
