"""A Service proxy's counters, read from HAProxy's runtime API (`show stat`): the one reader, for
`emukube curl` (which endpoint answered) and `emukube top` (connections per Service and pod).

The controller connects to every Service each tick to see that it answers; those connections
carry no bytes, so "bytes sent by the server" (bout) moves only for real traffic, whereas the
session count (stot) moves all the time.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from docker.errors import DockerException

from ..render.haproxy import HAPROXY_SOCKET_PATH

COUNTERS = ("stot", "bin", "bout", "econ")
# Run in the proxy container (the base image has python3): the whole answer, up to the socket's close.
_SHOW_STAT = f"""
import socket
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect({HAPROXY_SOCKET_PATH!r})
s.sendall(b"show stat\\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(data.decode(errors="replace"))
"""


@dataclass(frozen=True)
class ServerStats:
    listener: str  # tcp-80: the proxy section of one Service port
    server: str  # the pod name, as HAProxy spells it
    address: str  # ip:port of the endpoint
    counters: dict


def show_stat(container) -> str:
    """The proxy's `show stat` CSV; "" when the proxy cannot be asked."""
    try:
        result = container.exec_run(["python3", "-c", _SHOW_STAT])
    except DockerException:
        return ""
    return (result.output or b"").decode(errors="replace") if result.exit_code == 0 else ""


def rows(text: str) -> list[dict]:
    """`show stat` CSV as one dict per line (FRONTEND, BACKEND and servers); [] for anything else."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# "):
        return []
    return list(csv.DictReader(io.StringIO("\n".join([lines[0][2:]] + lines[1:]))))


def servers(text: str) -> list[ServerStats]:
    """The endpoint lines of `show stat` (not the stats listener's, FRONTEND or BACKEND)."""
    out = []
    for row in rows(text):
        if row.get("svname") in (None, "FRONTEND", "BACKEND") or row.get("pxname") == "stats":
            continue
        counters = {k: int(row.get(k) or 0) for k in COUNTERS}
        out.append(ServerStats(row["pxname"], row["svname"], row.get("addr") or "", counters))
    return out


def read(container) -> list[ServerStats]:
    """Every endpoint line of the proxy's stats; [] when the proxy cannot be asked."""
    return servers(show_stat(container))


def moved(before: list[ServerStats], after: list[ServerStats], counter: str) -> list[ServerStats]:
    """The endpoints whose `counter` grew between two readings (a reload resets counters)."""
    old = {(s.listener, s.server, s.address): s.counters.get(counter, 0) for s in before}
    return [s for s in after
            if s.counters.get(counter, 0) > old.get((s.listener, s.server, s.address), 0)]
