"""NodePorts other clusters on this engine publish: host ports, so unique across clusters. Read
from the engine by the API server's admission (it cannot reach other clusters' APIs), with the
standard library's HTTP client: one listing did not justify the docker SDK in the API server
(requests, urllib3 and chardet with it: 5.6 MB of its resident memory)."""

from __future__ import annotations

import http.client
import json
import socket
import time
from urllib.parse import quote

from ..plan.allocate import NODE_PORT_RANGE
from . import labels as L
from .engine_address import address

_cache: tuple[float, dict[int, str]] = (0.0, {})


def node_ports_of(containers: list[dict], cluster: str) -> dict[int, str]:
    """NodePorts the other clusters' containers of an engine listing publish -> "cluster NAME"."""
    taken: dict[int, str] = {}
    for c in containers:
        other = (c.get("Labels") or {}).get(L.CLUSTER)
        for port in c.get("Ports") or [] if other != cluster else []:
            if port.get("PublicPort") in NODE_PORT_RANGE:
                taken[port["PublicPort"]] = f"cluster {other}"
    return taken


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def _clusters_containers(timeout: float) -> list[dict]:
    """GET /containers/json of the running containers with a cluster label."""
    kind, where = address()
    conn = _UnixConnection(where, timeout) if kind == "unix" else http.client.HTTPConnection(where, timeout=timeout)
    try:
        conn.request("GET", "/containers/json?filters=" + quote(json.dumps({"label": [L.CLUSTER]})))
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise OSError(f"engine: {resp.status} {body[:200]!r}")
        return json.loads(body)
    finally:
        conn.close()


def other_clusters_node_ports(cluster: str, max_age: float = 2.0) -> dict[int, str]:
    global _cache
    if time.monotonic() - _cache[0] < max_age:
        return _cache[1]
    try:
        taken = node_ports_of(_clusters_containers(timeout=10), cluster)
    except (OSError, ValueError, http.client.HTTPException):  # no engine reachable: nothing known to be taken
        return {}
    _cache = (time.monotonic(), taken)
    return taken
