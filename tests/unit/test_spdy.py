"""SPDY/3.1 framing of pods/portforward (emukube/apiserver/streams/spdy.py)."""

from __future__ import annotations

import hashlib
import struct
import zlib

import pytest

from emukube.apiserver.streams import spdy


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
