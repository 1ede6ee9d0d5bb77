"""SPDY/3.1 framing of pods/portforward (emukube/apiserver/streams/spdy.py), and the port-forward
session over it against a loopback TCP server (streams/portforward.py)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import struct
import zlib

import pytest

from emukube.apiserver.streams import portforward, spdy
from emukube.apiserver.streams.portforward import Session, Target


def test_the_header_dictionary_is_spdy3s():
    # 1423 bytes; the digest of the array in moby/spdystream's spdy/dictionary.go
    assert len(spdy.DICTIONARY) == 1423
    assert hashlib.sha256(spdy.DICTIONARY).hexdigest() == \
        "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02"


def test_header_blocks_round_trip_through_one_zlib_stream_per_direction():
    writer, reader = spdy.Writer(), spdy.Reader()
    first = writer.syn_stream(1, {"streamType": "error", "port": "8080", "requestID": "0"})
    second = writer.syn_stream(3, {"streamType": "data", "port": "8080", "requestID": "0"})
    assert len(second) < len(first)  # the second block refers back into the first
    frames = reader.feed(first + second)
    assert [(f.type, f.stream_id) for f in frames] == [(spdy.SYN_STREAM, 1), (spdy.SYN_STREAM, 3)]
    assert frames[0].headers == {"streamtype": ["error"], "port": ["8080"], "requestid": ["0"]}
    assert frames[1].headers["streamtype"] == ["data"]
    # a fresh reader cannot read the second block alone: the context is the connection's
    with pytest.raises(spdy.ProtocolError):
        spdy.Reader().feed(second)


def test_control_frame_layout_is_the_specs():
    reply = spdy.Writer().syn_reply(5, fin=True)
    word, flags_length, stream_id = struct.unpack_from(">III", reply)
    assert word == 0x80030002 and flags_length >> 24 == spdy.FLAG_FIN
    assert flags_length & 0xFFFFFF == len(reply) - 8 and stream_id == 5
    block = zlib.decompressobj(zdict=spdy.DICTIONARY).decompress(reply[12:])
    assert block == b"\x00\x00\x00\x00"  # no headers, as the kubelet replies
    assert spdy.rst_stream(7, spdy.CANCEL) == bytes.fromhex("80030003 00000008 00000007 00000005")
    assert spdy.ping(9) == bytes.fromhex("80030006 00000004 00000009")
    assert spdy.goaway(3) == bytes.fromhex("80030007 00000008 00000003 00000000")
    assert spdy.data(3, b"hi", fin=True) == bytes.fromhex("00000003 01000002 6869")


def test_frames_split_anywhere_are_reassembled():
    writer = spdy.Writer()
    wire = (writer.syn_stream(1, {"port": "80", "streamType": "data"}, fin=True) + spdy.data(1, b"x" * 70000)
            + spdy.data(1, fin=True) + spdy.ping(1) + spdy.rst_stream(1, spdy.CANCEL) + spdy.goaway(1))
    reader, frames = spdy.Reader(), []
    for i in range(0, len(wire), 3):  # client-go writes a frame's fields as separate messages
        frames += reader.feed(wire[i:i + 3])
    kinds = [f.type for f in frames]
    assert kinds == [spdy.SYN_STREAM, spdy.DATA, spdy.DATA, spdy.PING, spdy.RST_STREAM, spdy.GOAWAY]
    assert frames[0].fin and frames[1].data == b"x" * 70000 and not frames[1].fin
    assert frames[2].fin and frames[2].data == b""
    assert frames[3].stream_id == 1 and frames[4].status == spdy.CANCEL
    assert frames[5].stream_id == 1 and frames[5].status == 0


def test_settings_and_window_update_are_read_and_unknown_versions_refused():
    settings = struct.pack(">HHI", 0x8003, spdy.SETTINGS, 12) + struct.pack(">III", 1, 7, 65536)
    update = struct.pack(">HHIII", 0x8003, spdy.WINDOW_UPDATE, 8, 1, 4096)
    frames = spdy.Reader().feed(settings + update)
    assert [f.type for f in frames] == [spdy.SETTINGS, spdy.WINDOW_UPDATE]
    with pytest.raises(spdy.ProtocolError, match="version 2"):
        spdy.Reader().feed(struct.pack(">HHI", 0x8002, spdy.PING, 4) + b"\0\0\0\1")
    with pytest.raises(spdy.ProtocolError):
        spdy.Reader().feed(struct.pack(">HHI", 0x8003, spdy.SYN_REPLY, 6) + b"\0\0\0\1zz")


def test_header_values_split_on_nul_and_an_inflated_bomb_is_refused():
    writer, reader = spdy.Writer(), spdy.Reader()
    frame = reader.feed(writer.syn_stream(1, {"x": ["a", "b"]}))[0]
    assert frame.headers == {"x": ["a", "b"]}
    bomb = zlib.compressobj(9, zdict=spdy.DICTIONARY)
    block = bomb.compress(b"\0" * (spdy.MAX_HEADER_BLOCK + 10)) + bomb.flush(zlib.Z_SYNC_FLUSH)
    body = struct.pack(">IIBB", 1, 0, 0, 0) + block
    with pytest.raises(spdy.ProtocolError, match="too large"):
        spdy.Reader().feed(struct.pack(">HHI", 0x8003, spdy.SYN_STREAM, len(body)) + body)


# ---- the session, against a loopback server ---------------------------------------------------
class Client:
    """The client end of a Session, as client-go drives it: streams, data, and what came back."""

    def __init__(self, port: int, pod_ip: str = "127.0.0.1"):
        self.writer, self.reader = spdy.Writer(), spdy.Reader()
        self.frames: list[spdy.Frame] = []
        self.arrived = asyncio.Event()
        self.session = Session(self._received, Target(lambda: {"status": {"podIP": pod_ip}}, "web-1", "default"))
        self.port = port

    async def _received(self, wire: bytes) -> None:
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
        assert len(c.session.tasks) == 1  # the pair's forward; its stream-creation timer is gone
        await c.send(spdy.rst_stream(3, spdy.CANCEL))
        await asyncio.wait_for(dropped.wait(), 5)
        await c.until(lambda: c.finished(1))  # the error stream ends, so kubectl's connection can
        assert not c.finished(3) and not c.session.streams
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
