"""SPDY/3.1 framing, the part Kubernetes' port-forward speaks (k8s.io/apimachinery's httpstream/spdy
over moby/spdystream): DATA, SYN_STREAM, SYN_REPLY, RST_STREAM, PING, GOAWAY; SETTINGS, HEADERS and
WINDOW_UPDATE are read and left to the caller to ignore (spdystream does no flow control).

Name/value header blocks are one zlib stream per direction for the whole connection, primed
with SPDY/3's dictionary and sync-flushed after each block, so a Reader and a Writer each keep
their zlib context from frame to frame and must see every frame of their direction in order."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
DATA = 0  # not a control type: how a Frame says it is a DATA frame
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS = 1, 2, 3, 4
PING, GOAWAY, HEADERS, WINDOW_UPDATE = 6, 7, 8, 9
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02

# RST_STREAM status codes
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, UNSUPPORTED_VERSION, CANCEL, INTERNAL_ERROR = 1, 2, 3, 4, 5, 6

MAX_DATA = (1 << 24) - 1
MAX_HEADER_BLOCK = 1 << 20  # decompressed; a bound against zlib bombs, far above what kubectl sends

_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language "
    "accept-ranges age allow authorization cache-control connection content-base content-encoding "
    "content-language content-length content-location content-md5 content-range content-type date "
    "etag expect expires from host if-match if-modified-since if-none-match if-range "
    "if-unmodified-since last-modified location max-forwards pragma proxy-authenticate "
    "proxy-authorization range referer retry-after server te trailer transfer-encoding upgrade "
    "user-agent vary via warning www-authenticate method get status").split() + ["200 OK"] + \
    "version HTTP/1.1 url public set-cookie keep-alive origin".split()
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 "
    "Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service "
    "UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, "
    "Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,"
    "application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdch"
    "charset=utf-8charset=iso-8859-1,utf-,*,enq=0.")


def _dictionary() -> bytes:
    # The spec's dictionary: length-prefixed words, then a run of raw strings.
    return b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _TAIL.encode()


DICTIONARY = _dictionary()


class ProtocolError(Exception):
    """The peer sent something that is not SPDY/3: the connection cannot go on."""


@dataclass
class Frame:
    """One frame. type: DATA or a control type. stream_id: the stream (PING: its id; GOAWAY: the
    last good stream). status: RST_STREAM's and GOAWAY's."""

    type: int
    flags: int = 0
    stream_id: int = 0
    headers: dict[str, list[str]] = field(default_factory=dict)
    data: bytes = b""
    status: int = 0

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


def _encode_headers(headers: dict[str, list[str] | str]) -> bytes:
    parts = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        key = name.lower().encode()
        value = "\x00".join([values] if isinstance(values, str) else values).encode()
        parts += [struct.pack(">I", len(key)), key, struct.pack(">I", len(value)), value]
    return b"".join(parts)


def _decode_headers(block: bytes) -> dict[str, list[str]]:
    def take(at: int) -> tuple[bytes, int]:
        if at + 4 > len(block):
            raise ProtocolError("truncated header block")
        (n,) = struct.unpack_from(">I", block, at)
        if at + 4 + n > len(block):
            raise ProtocolError("truncated header block")
        return block[at + 4:at + 4 + n], at + 4 + n

    if len(block) < 4:
        raise ProtocolError("truncated header block")
    (count,) = struct.unpack_from(">I", block, 0)
    headers: dict[str, list[str]] = {}
    at = 4
    for _ in range(count):
        name, at = take(at)
        value, at = take(at)
        headers.setdefault(name.decode("latin-1").lower(), []).extend(value.decode("latin-1").split("\x00"))
    return headers


class Reader:
    """Bytes in, frames out: feed() whatever arrived (any split) and get the frames it completed."""

    def __init__(self):
        self._buf = bytearray()
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames = []
        while len(self._buf) >= 8:
            (length,) = struct.unpack_from(">I", self._buf, 4)
            flags, length = length >> 24, length & 0xFFFFFF
            if len(self._buf) < 8 + length:
                break
            head = bytes(self._buf[:4])
            body = bytes(self._buf[8:8 + length])
            del self._buf[:8 + length]
            frames.append(self._frame(head, flags, body))
        return frames

    def _frame(self, head: bytes, flags: int, body: bytes) -> Frame:
        (word,) = struct.unpack(">I", head)
        if not word & 0x80000000:
            return Frame(DATA, flags, word & 0x7FFFFFFF, data=body)
        version, kind = (word >> 16) & 0x7FFF, word & 0xFFFF
        if version != VERSION:
            raise ProtocolError(f"unsupported SPDY version {version}")
        need = {SYN_STREAM: 10, SYN_REPLY: 4, RST_STREAM: 8, PING: 4, GOAWAY: 8, HEADERS: 4,
                WINDOW_UPDATE: 8}.get(kind, 0)
        if len(body) < need:
            raise ProtocolError(f"control frame {kind} too short")
        frame = Frame(kind, flags)
        if kind in (SYN_STREAM, SYN_REPLY, HEADERS, RST_STREAM, WINDOW_UPDATE, PING, GOAWAY):
            frame.stream_id = struct.unpack_from(">I", body, 0)[0] & 0x7FFFFFFF
        if kind in (RST_STREAM, GOAWAY):
            frame.status = struct.unpack_from(">I", body, 4)[0]
        if kind in (SYN_STREAM, SYN_REPLY, HEADERS):
            frame.headers = self._headers(body[10 if kind == SYN_STREAM else 4:])
        return frame

    def _headers(self, compressed: bytes) -> dict[str, list[str]]:
        try:
            block = self._inflate.decompress(compressed, MAX_HEADER_BLOCK)
        except zlib.error as exc:
            raise ProtocolError(f"header block: {exc}") from None
        if self._inflate.unconsumed_tail:
            raise ProtocolError("header block too large")
        return _decode_headers(block)


def _control(kind: int, flags: int, body: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(body)) + body


DATA_HEADER = struct.Struct(">II")  # stream id; flags << 24 | length


def _data_header(stream_id: int, length: int, fin: bool) -> tuple[int, int]:
    if length > MAX_DATA:
        raise ValueError("DATA payload over 16 MiB")
    return stream_id & 0x7FFFFFFF, ((FLAG_FIN if fin else 0) << 24) | length


def data(stream_id: int, payload: bytes = b"", fin: bool = False) -> bytes:
    return DATA_HEADER.pack(*_data_header(stream_id, len(payload), fin)) + payload


def data_header_into(buf: bytearray, at: int, stream_id: int, length: int, fin: bool = False) -> None:
    """A DATA frame's header written into buf at `at`, in front of a payload already there."""
    DATA_HEADER.pack_into(buf, at, *_data_header(stream_id, length, fin))


def rst_stream(stream_id: int, status: int) -> bytes:
    return _control(RST_STREAM, 0, struct.pack(">II", stream_id, status))


def ping(ping_id: int) -> bytes:
    return _control(PING, 0, struct.pack(">I", ping_id))


def goaway(last_good: int, status: int = 0) -> bytes:
    return _control(GOAWAY, 0, struct.pack(">II", last_good, status))


class Writer:
    """Frames that carry header blocks, compressed in the order they are made: send each one
    before making the next."""

    def __init__(self):
        self._deflate = zlib.compressobj(9, zdict=DICTIONARY)

    def _block(self, headers: dict) -> bytes:
        return self._deflate.compress(_encode_headers(headers)) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    def syn_stream(self, stream_id: int, headers: dict, fin: bool = False, priority: int = 0) -> bytes:
        body = struct.pack(">IIBB", stream_id, 0, (priority & 7) << 5, 0) + self._block(headers)
        return _control(SYN_STREAM, FLAG_FIN if fin else 0, body)

    def syn_reply(self, stream_id: int, headers: dict | None = None, fin: bool = False) -> bytes:
        return _control(SYN_REPLY, FLAG_FIN if fin else 0, struct.pack(">I", stream_id) + self._block(headers or {}))
