import asyncio
import ssl
from asyncio import sslproto

from emukube.apiserver import tls_buffers


def test_a_tls_connection_reads_into_a_32_kb_buffer():
    """asyncio sizes each connection's read buffer by SSLProtocol.max_size (the API server's
    idle memory counts on it: tls_buffers.py)."""
    before = sslproto.SSLProtocol.max_size
    loop = asyncio.new_event_loop()
    try:
        tls_buffers.shrink()
        proto = sslproto.SSLProtocol(loop, asyncio.Protocol(), ssl.create_default_context(), None,
                                     server_side=False, server_hostname="example")
        assert len(proto.get_buffer(-1)) == tls_buffers.READ_BUFFER == 32 * 1024
    finally:
        sslproto.SSLProtocol.max_size = before
        loop.close()
