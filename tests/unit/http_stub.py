"""Local endpoints for probe and hook tests: a server answering one status, a port nothing listens on."""

import contextlib
import http.server
import socket
import threading
from typing import Iterator


@contextlib.contextmanager
def answering(status: int) -> Iterator[int]:
    """A server on 127.0.0.1 answering every GET with `status`; yields its port."""

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port nothing on 127.0.0.1 listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
