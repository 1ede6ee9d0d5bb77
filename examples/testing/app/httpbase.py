"""What both tiers share: JSON or text replies, and a server that stops at once on SIGTERM."""

import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "8080"))


class Handler(BaseHTTPRequestHandler):
    def reply(self, code: int, body: "dict | str", kind: str = "text/plain") -> None:
        if isinstance(body, dict):
            body, kind = json.dumps(body), "application/json"
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:  # quiet: a line per request is noise in `emukube logs`
        pass


def serve(handler: type, banner: str) -> None:
    server = ThreadingHTTPServer(("", PORT), handler)
    # As PID 1, Python ignores SIGTERM unless it handles it: stop now instead of being killed later.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"{banner} listening on :{PORT}", flush=True)
    server.serve_forever()
