"""An upgraded HTTP/1.1 connection taken over from aiohttp: the 101 answer, then the raw bytes
both ways, unparsed. SPDY port-forward (streams/portforward.py) and the proxy's relay of a
backend's upgrade (proxy.py) speak their own protocols over it."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from aiohttp import http_parser, web

# Debian bookworm's aiohttp (3.8, the image's) hands any upgraded connection to the handler; later
# ones (those with _is_supported_upgrade) parse what follows all but a WebSocket upgrade as HTTP.
RAW_UPGRADES = not hasattr(http_parser, "_is_supported_upgrade")


class Switching(web.StreamResponse):
    _length_check = False  # a 101 has no body to frame, as aiohttp's WebSocketResponse says


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


async def take_over(request: web.Request, response: Switching):
    """Send the 101; then (what the client sends, the writer's drain), or None when the
    response was prepared already (nothing more can be said on this connection)."""
    from aiohttp.streams import StreamReader

    writer = await response.prepare(request)
    if writer is None:
        return None
    stream = StreamReader(request.protocol, 1 << 16, loop=asyncio.get_running_loop())
    request.protocol.set_parser(_RawBytes(stream))  # type: ignore[arg-type]  # duck-typed, as its WebSocket reader
    request.protocol.keep_alive(False)
    drain: Callable[[], Awaitable[None]] = writer.drain
    return stream, drain
