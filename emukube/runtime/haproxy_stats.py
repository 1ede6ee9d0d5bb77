"""Per-endpoint counters of a Service proxy, read from HAProxy's runtime API (`show stat`).

The controller connects to every Service each tick to see that it answers; those connections
carry no bytes, so "bytes sent by the server" (bout) moves only for real traffic, whereas the
session count (stot) moves all the time.
"""

from __future__ import annotations

from dataclasses import dataclass

from docker.errors import DockerException

from ..render.haproxy import HAPROXY_SOCKET_PATH

COUNTERS = ("stot", "bin", "bout", "econ")


@dataclass(frozen=True)
class ServerStats:
    listener: str  # tcp-80: the proxy section of one Service port
    server: str  # the pod name, as HAProxy spells it
    address: str  # ip:port of the endpoint
    counters: dict


def read(container) -> list[ServerStats]:
    """Every endpoint line of the proxy's stats; [] when the proxy cannot be asked."""
    try:
        result = container.exec_run(["sh", "-c", f'echo "show stat" | nc -U {HAPROXY_SOCKET_PATH}'])
    except DockerException:
        return []
    lines = (result.output or b"").decode(errors="replace").splitlines()
    if not lines or not lines[0].startswith("# "):
        return []
    header = lines[0][2:].split(",")
    rows = []
    for line in lines[1:]:
        row = dict(zip(header, line.split(",")))
        if row.get("svname") in (None, "FRONTEND", "BACKEND") or row.get("pxname") == "stats":
            continue
        counters = {k: int(row.get(k) or 0) for k in COUNTERS}
        rows.append(ServerStats(row["pxname"], row["svname"], row.get("addr", ""), counters))
    return rows


def moved(before: list[ServerStats], after: list[ServerStats], counter: str) -> list[ServerStats]:
    """The endpoints whose `counter` grew between two readings (a reload resets counters)."""
    old = {(s.listener, s.server, s.address): s.counters.get(counter, 0) for s in before}
    return [s for s in after
            if s.counters.get(counter, 0) > old.get((s.listener, s.server, s.address), 0)]
