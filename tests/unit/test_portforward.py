"""pods/portforward (emukube/apiserver/streams/portforward.py): the session's stream pairs against
loopback TCP servers, and the WebSocket tunnel through the real app."""

from __future__ import annotations

import asyncio
import re
import socket

import aiohttp
from test_apiserver_harness import TOKEN, pod, run

from emukube.apiserver.streams import portforward, spdy
from emukube.apiserver.streams.portforward import Downstream, Session, Target


# ---- the session, against a loopback server ---------------------------------------------------
class Wire(asyncio.Transport):
    """The client's connection as the session's Downstream writes to it: every write arrives at
    once, and counts as queued until drain() (slow=True: never before it)."""

    def __init__(self, received, slow: bool = False):
        super().__init__()
        self.received, self.slow = received, slow
        self.queued = self.most = self.drains = 0

    def write(self, data) -> None:
        self.received(bytes(data))
        if self.slow:
            self.queued += len(data)
            self.most = max(self.most, self.queued)

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return self.queued

    def set_write_buffer_limits(self, high=None, low=None) -> None:
        pass

    async def drain(self) -> None:
        await asyncio.sleep(0.01)
        self.queued, self.drains = 0, self.drains + 1


class Client:
    """The client end of a Session, as client-go drives it: streams, data, and what came back."""

    def __init__(self, port: int, pod_ip: str = "127.0.0.1", slow: bool = False):
        self.writer, self.reader = spdy.Writer(), spdy.Reader()
        self.frames: list[spdy.Frame] = []
        self.arrived = asyncio.Event()
        self.wire = Wire(self._received, slow)
        out = Downstream(self.wire, self.wire.drain, websocket=False)
        self.session = Session(out, Target(lambda: {"status": {"podIP": pod_ip}}, "web-1", "default"))
        self.port = port

    def _received(self, wire: bytes) -> None:
        self.frames += self.reader.feed(wire)
        self.arrived.set()

    async def send(self, *wire: bytes) -> bool:
        return await self.session.feed(b"".join(wire))

    async def pair(self, request_id: str, first_id: int, port: int | None = None) -> None:
        headers = {"port": str(port or self.port), "requestID": request_id}
        await self.send(self.writer.syn_stream(first_id, {**headers, "streamType": "error"}),
                        spdy.data(first_id, fin=True),
                        self.writer.syn_stream(first_id + 2, {**headers, "streamType": "data"}))

    async def until(self, check, timeout: float = 5.0):
        async def wait():
            while not check():
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(wait(), timeout)

    def payload(self, sid: int) -> bytes:
        return b"".join(f.data for f in self.frames if f.type == spdy.DATA and f.stream_id == sid)

    def finished(self, sid: int) -> bool:
        return any(f.type == spdy.DATA and f.stream_id == sid and f.fin for f in self.frames)


async def _echo_server():
    async def serve(reader, writer):
        while data := await reader.read(65536):
            writer.write(data.upper())
            await writer.drain()
        writer.close()  # after the client's EOF, as a server that answers then closes

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_stream_pair_reaches_the_port_and_closes_both_ways():
    async def main():
        server, port = await _echo_server()
        c = Client(port)
        await c.pair("0", 1)
        replies = [f.stream_id for f in c.frames if f.type == spdy.SYN_REPLY]
        assert replies == [1, 3]
        await c.send(spdy.data(3, b"hello "), spdy.data(3, b"pod", fin=True))
        await c.until(lambda: c.finished(3) and c.finished(1))
        assert c.payload(3) == b"HELLO POD" and c.payload(1) == b""
        await c.session.close()
        assert not c.session.tasks
        server.close()
    asyncio.run(main())


def test_a_port_nothing_listens_on_is_told_on_the_error_stream_and_the_session_goes_on():
    async def main():
        server, port = await _echo_server()
        closed = _free_port()
        c = Client(port)
        await c.pair("0", 1, port=closed)
        await c.until(lambda: c.finished(1))
        assert c.payload(1).decode() == (
            f"error forwarding port {closed} to pod web-1, uid : failed to connect to 127.0.0.1:{closed} inside "
            f"the pod's network namespace: dial tcp4 127.0.0.1:{closed}: connect: connection refused")
        await c.pair("1", 5)
        await c.send(spdy.data(7, b"again", fin=True))
        await c.until(lambda: c.finished(7))
        assert c.payload(7) == b"AGAIN"
        await c.session.close()
        server.close()
    asyncio.run(main())


def test_a_pod_is_read_no_further_while_the_client_is_backed_up():
    sent = bytes(range(256)) * (3 * portforward.CLIENT_HIGH // 256)

    async def main():
        async def serve(reader, writer):
            writer.write(sent)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        c = Client(server.sockets[0].getsockname()[1], slow=True)
        await c.pair("0", 1)
        await c.until(lambda: c.finished(3), timeout=30)
        assert c.payload(3) == sent  # whole and in order, in frames of at most one read each
        assert c.wire.drains >= 2 and c.wire.most <= portforward.CLIENT_HIGH + portforward.HEADROOM + portforward.CHUNK
        await c.session.close()
        server.close()
    asyncio.run(main())


def test_bad_streams_are_reset_as_the_kubelet_does_and_pings_answered():
    async def main():
        c = Client(_free_port())
        await c.send(c.writer.syn_stream(1, {"streamType": "data"}),
                     c.writer.syn_stream(3, {"port": "0", "streamType": "data"}),
                     c.writer.syn_stream(5, {"port": "80", "streamType": "stdin"}),
                     c.writer.syn_stream(4, {"port": "80", "streamType": "data"}),
                     spdy.ping(1), spdy.ping(2))
        resets = [(f.stream_id, f.status) for f in c.frames if f.type == spdy.RST_STREAM]
        assert resets == [(1, spdy.CANCEL), (3, spdy.CANCEL), (5, spdy.CANCEL), (4, spdy.PROTOCOL_ERROR)]
        assert [f.stream_id for f in c.frames if f.type == spdy.PING] == [1]
        assert await c.send(spdy.goaway(0)) is False
        await c.session.close()
    asyncio.run(main())


def test_a_client_reset_drops_the_pod_connection():
    async def main():
        accepted, dropped = asyncio.Event(), asyncio.Event()

        async def hold(reader, writer):
            accepted.set()
            await reader.read()  # until the session drops the connection
            dropped.set()

        server = await asyncio.start_server(hold, "127.0.0.1", 0)
        c = Client(server.sockets[0].getsockname()[1])
        await c.pair("0", 1)
        await asyncio.wait_for(accepted.wait(), 5)
        await asyncio.wait_for(c.session.streams[3].dial, 5)
        assert len(c.session.tasks) == 1  # the pair's forward; its stream-creation timer is gone
        await c.send(spdy.rst_stream(3, spdy.CANCEL))
        await asyncio.wait_for(dropped.wait(), 5)
        await c.until(lambda: c.finished(1))  # the error stream ends, so kubectl's connection can
        assert not c.finished(3) and not c.session.streams
        await c.session.close()
        server.close()
    asyncio.run(main())


def test_the_pod_is_dialed_once_both_streams_are_there_and_what_it_says_first_arrives():
    async def main():
        accepted = asyncio.Event()

        async def greet(reader, writer):  # a server that speaks first and hangs up, as port 9000 does
            accepted.set()
            writer.write(b"hello")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(greet, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        c = Client(port)
        await c.send(c.writer.syn_stream(1, {"port": str(port), "requestID": "0", "streamType": "error"}))
        await asyncio.sleep(0.2)
        assert not accepted.is_set()  # the kubelet's order: no dial for half a pair
        await c.send(c.writer.syn_stream(3, {"port": str(port), "requestID": "0", "streamType": "data"}))
        await asyncio.wait_for(accepted.wait(), 5)
        await c.until(lambda: c.payload(3) == b"hello")
        await c.session.close()
        server.close()
    asyncio.run(main())


def test_a_request_whose_second_stream_never_comes_is_told_so(monkeypatch):
    monkeypatch.setattr(portforward, "STREAM_CREATION_TIMEOUT", 0.05)

    async def main():
        c = Client(_free_port())
        await c.send(c.writer.syn_stream(1, {"port": "80", "streamType": "error", "requestID": "7"}))
        await c.until(lambda: c.finished(1))
        assert re.fullmatch(r"\(conn=0x[0-9a-f]+, request=7\) timed out waiting for streams", c.payload(1).decode())
        assert not c.session.pairs and not c.session.streams
        await c.session.close()
    asyncio.run(main())


def test_the_websocket_tunnel_through_the_app(tmp_path):
    path = "/api/v1/namespaces/default/pods/web/portforward"
    auth = {"Authorization": f"Bearer {TOKEN}"}

    async def body(api):
        server, port = await _echo_server()
        await api.ok("POST", "/api/v1/namespaces/default/pods", pod("web", {"app": "web"}, nodeName="node-1"))
        current = await api.ok("GET", "/api/v1/namespaces/default/pods/web")
        await api.ok("PUT", path.replace("portforward", "status"),
                     {**current, "status": {"phase": "Running", "podIP": "127.0.0.1"}})
        status, answer, _ = await api.req("POST", path)
        assert (status, answer["message"]) == (400, "Upgrade request required")
        status, answer, _ = await api.req("GET", path.replace("/web/", "/nothing/"))
        assert (status, answer["message"]) == (404, 'pods "nothing" not found')
        for protocols, code in ((("v4.channel.k8s.io",), 400), (("SPDY/3.1+v9.portforward.k8s.io",), 403)):
            try:
                await api.client.ws_connect(path, headers=auth, protocols=protocols)
                raise AssertionError(f"{protocols} accepted")
            except aiohttp.WSServerHandshakeError as exc:
                assert exc.status == code

        ws = await api.client.ws_connect(path, headers=auth, protocols=("SPDY/3.1+portforward.k8s.io",))
        assert ws.protocol == "SPDY/3.1+portforward.k8s.io"
        writer, reader, frames = spdy.Writer(), spdy.Reader(), []
        headers = {"port": str(port), "requestID": "0"}
        wire = (writer.syn_stream(1, {**headers, "streamType": "error"}) + spdy.data(1, fin=True)
                + writer.syn_stream(3, {**headers, "streamType": "data"}) + spdy.data(3, b"through", fin=True))
        for i in range(0, len(wire), 4):  # as client-go writes: a frame's fields in messages of their own
            await ws.send_bytes(wire[i:i + 4])
        while not any(f.type == spdy.DATA and f.stream_id == 1 and f.fin for f in frames):
            frames += reader.feed((await asyncio.wait_for(ws.receive(), 5)).data)
        assert b"".join(f.data for f in frames if f.type == spdy.DATA and f.stream_id == 3) == b"THROUGH"
        await ws.send_bytes(spdy.goaway(0))
        assert (await asyncio.wait_for(ws.receive(), 5)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        await ws.close()
        server.close()

    run(tmp_path, body, subresources=portforward.HANDLERS)
