"""The shop's back end: an in-memory stock of items, counted, behind a JSON HTTP API.

    GET  /items          {"items": {"apple": 2}, "pod": "<hostname>"}
    POST /items/<name>   adds one: {"name": "apple", "count": 3}
    GET  /healthz        ok
"""

import socket
import threading

from httpbase import Handler, serve

stock: dict = {}
lock = threading.Lock()


class Store(Handler):
    def do_GET(self) -> None:
        if self.path == "/healthz":
            self.reply(200, "ok")
        elif self.path == "/items":
            with lock:
                self.reply(200, {"items": dict(stock), "pod": socket.gethostname()})
        else:
            self.reply(404, {"error": f"no route {self.path}"})

    def do_POST(self) -> None:
        name = self.path.removeprefix("/items/")
        if not self.path.startswith("/items/") or not name.isidentifier():
            self.reply(400, {"error": "POST /items/<name>, name made of letters, digits and _"})
            return
        with lock:
            stock[name] = stock.get(name, 0) + 1
            self.reply(200, {"name": name, "count": stock[name]})


if __name__ == "__main__":
    serve(Store, "store")
