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
import struct
from dataclasses import dataclass, field
from typing import Awaitable, Callable, cast

from aiohttp import WSMsgType, web

from ...k8s.dial_errors import dial_error
from ...k8s.resources import Resource
from .. import errors, upgrades
from . import spdy

log = logging.getLogger("emukube.apiserver.portforward")

PROTOCOL = "portforward.k8s.io"
TUNNEL_PREFIX = "SPDY/3.1+"
STREAM_CREATION_TIMEOUT = 30.0  # the kubelet's default: a request whose second stream never comes
CONNECT_TIMEOUT = 10.0
CHUNK = 256 * 1024  # the most read from a pod at once: one DATA frame
WRITE_HIGH = 4 * 1024 * 1024  # bytes queued towards the pod before the session waits for them
CLIENT_HIGH = 1024 * 1024  # bytes queued towards the client before pods are read no more
HEADROOM = 10 + spdy.DATA_HEADER.size  # room for a WebSocket frame's header and a DATA frame's


def _ws_header(length: int) -> bytes:
    """RFC 6455: the header of a final, unmasked (a server's) binary message of `length` bytes."""
    if length < 126:
        return struct.pack(">BB", 0x82, length)
    if length < 1 << 16:
        return struct.pack(">BBH", 0x82, 126, length)
    return struct.pack(">BBQ", 0x82, 127, length)


class Downstream:
    """Frames to the client, written whole and at once to its connection's transport; in the
    WebSocket tunnel each is one binary message, framed here rather than by aiohttp's writer so
    that a pod's bytes go to the TLS layer in one write, without a copy on the way (see _Pod)."""

    def __init__(self, transport: asyncio.Transport | None, drain: Callable[[], Awaitable[None]],
                 websocket: bool):
        self.transport, self._drain, self.websocket = transport, drain, websocket
        if transport is not None:
            transport.set_write_buffer_limits(CLIENT_HIGH)

    def _check(self) -> asyncio.Transport:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("the client closed the connection")
        return self.transport

    def write(self, *frames: bytes) -> None:
        """Frames in one write: one TLS record and one send for a few small ones."""
        if self.websocket:
            frames = tuple(_ws_header(len(frame)) + frame for frame in frames)
        self._check().write(b"".join(frames))

    def write_data(self, stream_id: int, buf: bytearray, length: int) -> None:
        """A DATA frame whose payload is buf[HEADROOM:HEADROOM + length], its headers written into
        the room in front. buf must not change afterwards (a transport may keep a view of it)."""
        at = HEADROOM - spdy.DATA_HEADER.size
        spdy.data_header_into(buf, at, stream_id, length)
        if self.websocket:
            head = _ws_header(spdy.DATA_HEADER.size + length)
            at -= len(head)
            buf[at:at + len(head)] = head
        self._check().write(memoryview(buf)[at:HEADROOM + length])

    def backed_up(self) -> bool:
        return self.transport is not None and self.transport.get_write_buffer_size() > CLIENT_HIGH

    async def drain(self) -> None:
        await self._drain()


class _Pod(asyncio.BufferedProtocol):
    """The TCP connection to the pod's port for one stream pair. What the pod sends is read into
    a buffer with room in front for the frame's headers and goes to the client there and then,
    in the event loop's read callback: no copy, no task switch per chunk. Reading waits for the
    pair's second stream, and pauses while the client's connection is backed up."""

    transport: asyncio.Transport  # from connection_made on

    def __init__(self, session: Session, pair: _Pair):
        self.session, self.pair = session, pair
        self.ended = asyncio.get_running_loop().create_future()  # the pod's EOF, or either side gone
        self.writable = asyncio.Event()
        self.writable.set()
        self._buf: bytearray | None = None
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(WRITE_HIGH)
        pair = self.pair
        pair.pod = self  # dialed once the pair is complete: its bytes may flow at once
        for chunk in pair.pending:
            self.transport.write(chunk)
        pair.pending.clear()
        if pair.client_done:
            self.transport.write_eof()

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._buf is None:
            self._buf = bytearray(HEADROOM + CHUNK)
        return memoryview(self._buf)[HEADROOM:]

    def buffer_updated(self, nbytes: int) -> None:
        session, sid = self.session, self.pair.data_id
        if session.closed or sid not in session.open:
            return self._end()
        buf = self._buf
        assert buf is not None
        if nbytes <= CHUNK // 4:
            buf = buf[:HEADROOM + nbytes]  # a copy of a small read; the big buffer is kept for the next
        else:
            self._buf = None  # given away: the transport may keep a view of it
        try:
            session.out.write_data(sid, buf, nbytes)
        except ConnectionError:
            return self._end()
        if session.out.backed_up() and not self._paused:
            self._paused = True
            self.transport.pause_reading()
            session._spawn(self._resume())

    async def _resume(self) -> None:
        try:
            await self.session.out.drain()
        except ConnectionError:
            return self._end()
        self._paused = False
        if not self.transport.is_closing():
            self.transport.resume_reading()

    def eof_received(self) -> bool:
        self._end()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.writable.set()  # nobody waits for a connection that is gone
        self._end()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def _end(self) -> None:
        if not self.ended.done():
            self.ended.set_result(None)


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
    pod: _Pod | None = None  # once connected
    dial: asyncio.Task | None = None  # to the pod: why it failed, or None
    task: asyncio.Task | None = None
    expiry: asyncio.Task | None = None

    @property
    def complete(self) -> bool:
        return bool(self.error_id and self.data_id)

    def drop(self) -> None:
        """Stop dialing the pod, or drop its connection."""
        if self.dial is not None:
            self.dial.cancel()
        if self.pod is not None:
            self.pod.transport.abort()


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


def _dial_error(ip: str, port: int, exc: OSError) -> str:
    return f"failed to connect to {ip}:{port} inside the pod's network namespace: {dial_error(ip, port, exc, 'tcp4')}"


class Session:
    """One upgraded connection: the streams the client opens, paired by requestID, each pair
    joined to a TCP connection to the pod. feed() takes the client's bytes in order; out
    writes the server's frames."""

    def __init__(self, out: Downstream, target: Target):
        self.out, self.target = out, target
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
        if pair.complete:
            del self.pairs[request_id]
            if pair.expiry is not None:
                pair.expiry.cancel()
            # Dialed once both streams are there, as the kubelet does. (Dialing at the first one
            # lost what a pod sends at once: Python 3.11.2's transport starts reading after
            # connection_made even when it paused reading there.)
            pair.dial = self._spawn(self._dial(pair))
            pair.task = self._spawn(self._forward(pair))

    async def _data(self, frame: spdy.Frame) -> None:
        pair = self.streams.get(frame.stream_id)
        if pair is None or frame.stream_id != pair.data_id:
            return  # the error stream carries nothing from the client
        if frame.data:
            if pair.pod is None:
                pair.pending.append(frame.data)
            elif not pair.pod.transport.is_closing():
                pair.pod.transport.write(frame.data)
                await pair.pod.writable.wait()
        if frame.fin:
            self._client_done(pair, frame.stream_id)

    def _client_done(self, pair: _Pair, sid: int) -> None:
        if sid != pair.data_id:
            return
        pair.client_done = True
        if pair.pod is not None and not pair.pod.transport.is_closing():
            pair.pod.transport.write_eof()  # the pod reads EOF, as after a shutdown(SHUT_WR) of the local client

    def _reset(self, sid: int) -> None:
        self.open.discard(sid)
        pair = self.streams.get(sid)
        if pair is not None and sid == pair.data_id and pair.task is not None:
            pair.task.cancel()

    # ---- frames to the client ----------------------------------------------------------------
    async def _write(self, *frames: bytes) -> None:
        if not self.closed:
            self.out.write(*frames)
            if self.out.backed_up():
                await self.out.drain()

    async def _fin(self, *sids: int) -> None:
        ending = [sid for sid in sids if sid in self.open]
        if ending:
            self.open.difference_update(ending)
            await self._write(*(spdy.data(sid, fin=True) for sid in ending))

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
            pair.drop()
            for sid in (pair.error_id, pair.data_id):
                self.streams.pop(sid, None)
            await self._fin(pair.error_id, pair.data_id)

    async def _dial(self, pair: _Pair) -> str | None:
        """Connect a pair to the pod's port (_Pod.connection_made joins them); the failure to
        tell on its error stream, in the kubelet's words."""
        port = pair.port
        try:
            ip = self.target.address()
        except LookupError as exc:
            return self._failure(port, str(exc))
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await loop.create_connection(lambda: _Pod(self, pair), ip, port)
        except OSError as exc:  # TimeoutError is one
            return self._failure(port, _dial_error(ip, port, exc))
        return None

    async def _forward(self, pair: _Pair) -> None:
        try:
            failure = await pair.dial if pair.dial is not None else None
            if failure:
                await self._print(pair, failure)
            elif pair.pod is not None:
                await pair.pod.ended  # a reset by the pod ends the streams as its EOF does
        finally:
            pair.drop()
            for sid in (pair.error_id, pair.data_id):
                self.streams.pop(sid, None)
            if not self.closed:
                try:
                    await self._fin(pair.data_id, pair.error_id)
                except (ConnectionError, RuntimeError):
                    pass  # the client is gone: close() follows

    def _failure(self, port: int, why: str) -> str:
        return f"error forwarding port {port} to pod {self.target.name}, uid : {why}"

    async def close(self) -> None:
        """The connection ended: every pod connection is dropped, every task ends."""
        self.closed = True
        for pair in self.pairs.values():  # those whose second stream never came
            pair.drop()
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
    writer = await ws.prepare(request)

    async def binary():
        async for msg in ws:
            if msg.type != WSMsgType.BINARY:
                return  # client-go's tunnel reads binary messages only
            yield msg.data

    try:
        await _serve(Session(Downstream(request.transport, writer.drain, websocket=True), target), binary())
    finally:
        await ws.close()
    return ws


async def _spdy(request: web.Request, target: Target) -> web.StreamResponse:
    offered = [p.strip() for h in request.headers.getall("X-Stream-Protocol-Version", []) for p in h.split(",")]
    if not any(offered):
        return _text(400, "unable to upgrade: X-Stream-Protocol-Version is required")
    if PROTOCOL not in offered:
        return _refused(offered)
    if not upgrades.RAW_UPGRADES:
        return _text(400, "unable to upgrade: this API server takes over WebSocket upgrades only")
    response = upgrades.Switching(status=101, headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1",
                                                       "X-Stream-Protocol-Version": PROTOCOL})
    taken = await upgrades.take_over(request, response)
    if taken is None:
        return response
    stream, drain = taken

    async def received():
        while data := await stream.readany():
            yield data

    await _serve(Session(Downstream(request.transport, drain, websocket=False), target), received())
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
