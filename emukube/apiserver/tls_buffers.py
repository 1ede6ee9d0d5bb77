"""A smaller read buffer for each TLS connection than asyncio's.

asyncio's TLS transport (Python 3.11's sslproto) gives every connection a 256 KB read buffer,
zero-filled so resident for as long as the connection lives. The controller's informer alone keeps
~40 watches open: 9.5 MB of the API server's idle memory (benchmark section 7: 53.3 -> 45.0 MB in
interleaved runs, GET and LIST p99 unchanged). A 32 KB read still takes two full TLS records
(16 KB each) at once, and a request to the API server is a few KB."""

from __future__ import annotations

from asyncio import sslproto

READ_BUFFER = 32 * 1024


def shrink() -> None:
    """For the whole process: the API server's entry point calls it before serving."""
    if getattr(sslproto.SSLProtocol, "max_size", 0) > READ_BUFFER:
        sslproto.SSLProtocol.max_size = READ_BUFFER
