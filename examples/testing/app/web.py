"""The shop's front end: HTML and a JSON API over the store, which it finds by its Service name.

    GET  /               the stock as an HTML list
    GET  /api/items      {"items": {...}, "web": "<this pod>", "store": "<the store pod>"}
    POST /api/items/<n>  adds one item through the store
    GET  /healthz        ok (the web tier is healthy even when the store is not)

When the store does not answer, the API says 503 and why, instead of hanging.
"""

import html
import json
import os
import socket
import urllib.error
import urllib.request

from httpbase import Handler, serve

STORE_URL = os.environ.get("STORE_URL", "http://store")  # the Service's DNS name


def store(method: str, path: str) -> dict:
    request = urllib.request.Request(STORE_URL + path, method=method)
    with urllib.request.urlopen(request, timeout=3) as response:
        return json.load(response)


class Web(Handler):
    def from_store(self, method: str, path: str) -> "dict | None":
        try:
            return store(method, path)
        except urllib.error.HTTPError as exc:  # the store answered, with an error: pass it on
            self.reply(exc.code, exc.read().decode(errors="replace"), "application/json")
        except (OSError, ValueError) as exc:
            self.reply(503, {"error": f"store unavailable: {exc}", "web": socket.gethostname()})
        return None

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self.reply(200, "ok")
            return
        if self.path not in ("/", "/api/items"):
            self.reply(404, {"error": f"no route {self.path}"})
            return
        found = self.from_store("GET", "/items")
        if found is None:
            return
        if self.path == "/api/items":
            self.reply(200, {"items": found["items"], "web": socket.gethostname(), "store": found["pod"]})
            return
        rows = "".join(f"<li>{html.escape(k)}: {v}</li>" for k, v in sorted(found["items"].items()))
        self.reply(200, f"<h1>Shop</h1><ul>{rows}</ul>", "text/html")

    def do_POST(self) -> None:
        if not self.path.startswith("/api/items/"):
            self.reply(404, {"error": f"no route {self.path}"})
            return
        added = self.from_store("POST", "/items/" + self.path.removeprefix("/api/items/"))
        if added is not None:
            self.reply(200, added)


if __name__ == "__main__":
    serve(Web, f"web (store at {STORE_URL})")
