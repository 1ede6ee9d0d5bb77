"""Section 2: HTTP through a Service's ClusterIP (its HAProxy container) vs straight to the one
pod behind it, from the same client pod, with hey. Direct and proxied alternate within each
run. Also the memory of each proxy container while idle."""

from __future__ import annotations

import re

from emukube.runtime import engine
from emukube.runtime import labels as L

from . import tools
from .context import Context, Workload, log
from .machine import cpu_seconds, memory_mb
from .measure import Row, added_below, at_least_x, below

PATH = "/hostname"


def hey(w: Workload, url: str, *args: str) -> dict:
    """requests/s, p50 and p99 (ms) and errors from hey's summary (0.1 ms resolution)."""
    code, out, err = tools.run_in(w.client_container, [f"{tools.IN_POD}/hey", *args, url], timeout=180)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if code or not rps:
        raise RuntimeError(f"hey exited {code}: {(err or out).strip()[-300:]}")
    pct = {int(p): float(s) * 1000 for p, s in re.findall(r"(\d+)% in ([\d.]+) secs", out)}
    errors = sum(int(n) for n in re.findall(r"^\s+\[(\d+)\]\s+\S", out.split("Error distribution:")[-1], re.M)) \
        if "Error distribution:" in out else 0
    bad = sum(int(n) for code_, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", out) if code_ != "200")
    return {"rps": float(rps.group(1)), "p50": pct.get(50, 0.0), "p99": pct.get(99, 0.0), "errors": errors + bad}


class HeyResults:
    """hey's summaries by (load, way) over the runs, as the columns of a section's rows."""

    def __init__(self) -> None:
        self.got: dict[tuple[str, str], list[dict]] = {}

    def add(self, load: str, way: str, result: dict) -> None:
        self.got.setdefault((load, way), []).append(result)

    def col(self, load: str, way: str, key: str) -> list[float]:
        return [r[key] for r in self.got[(load, way)]]

    def note(self) -> str:
        errors = sum(r["errors"] for runs in self.got.values() for r in runs)
        return f"{errors} failed requests" if errors else ""


def alternated(ways: list, run_: int) -> list:
    """Every other run in reverse order, so neither way always goes first."""
    return ways[::-1] if run_ % 2 else ways


def proxies(ctx: Context, w: Workload) -> list:
    return [c for c in engine.containers(ctx.client, w.cluster.name, all=False)
            if c.labels.get(L.ROLE) in ("proxy", "proxy-udp")]


def measured_cpu(containers: list, fn) -> tuple[dict, list[float]]:
    """fn()'s result and the CPU seconds each container used meanwhile."""
    before = [cpu_seconds(c) for c in containers]
    result = fn()
    return result, [cpu_seconds(c) - b for c, b in zip(containers, before)]


def run(ctx: Context) -> list[Row]:
    w = ctx.workload()
    direct = f"http://{w.cluster.pods('app=solo')[0].ip}:8080{PATH}"
    proxied = f"http://{w.cluster_ip('solo')}{PATH}"
    n_tp, n_lat, n_new = (2000, 800, 1000) if ctx.quick else (20000, 4000, 10000)
    loads = {  # name -> hey arguments
        "keepalive": ["-n", str(n_tp), "-c", "16"],
        "fixed": ["-n", str(n_lat), "-c", "4", "-q", "100"],  # 4 x 100 = 400 requests/s
        "newconn": ["-n", str(n_new), "-c", "16", "-disable-keepalive"],
    }
    got = HeyResults()
    memory: list[float] = []
    # CPU per request of the proxy and of the pod, while proxied: why the ratio is what it is
    # when client, proxy and pod share the machine's cores.
    watched = [next(c for c in proxies(ctx, w) if c.labels.get(L.NAME) == "solo"),
               w.cluster.container_of("deploy/solo")]
    cpu_us: dict[str, tuple[list[float], list[float]]] = {"keepalive": ([], []), "newconn": ([], [])}
    for url in (direct, proxied):  # warm up both paths
        hey(w, url, "-n", "300", "-c", "4")
    for run_ in range(ctx.runs):
        memory.append(max(memory_mb(c) for c in proxies(ctx, w)))
        for load, args in loads.items():
            for path, url in alternated([("direct", direct), ("proxied", proxied)], run_):
                log(f"proxy run {run_ + 1}/{ctx.runs}: {load} {path}")
                result, used = measured_cpu(watched, lambda: hey(w, url, *args))
                got.add(load, path, result)
                if path == "proxied" and load in cpu_us:
                    for acc, seconds in zip(cpu_us[load], used):
                        acc.append(seconds * 1e6 / int(args[1]))

    col, note = got.col, got.note()
    pod = "direct to the pod IP"
    return [
        Row("2", "req/s via ClusterIP, keep-alive, 16 connections", "req/s", col("keepalive", "proxied", "rps"),
            pod, col("keepalive", "direct", "rps"), at_least_x(0.8), note),
        Row("2", "p99 latency via ClusterIP, same load", "ms", col("keepalive", "proxied", "p99"),
            pod, col("keepalive", "direct", "p99")),
        Row("2", "p50 latency via ClusterIP at 400 req/s", "ms", col("fixed", "proxied", "p50"),
            pod, col("fixed", "direct", "p50")),
        Row("2", "p99 latency via ClusterIP at 400 req/s", "ms", col("fixed", "proxied", "p99"),
            pod, col("fixed", "direct", "p99"), added_below(1, "ms")),
        Row("2", "req/s via ClusterIP, new connection per request", "req/s", col("newconn", "proxied", "rps"),
            pod, col("newconn", "direct", "rps"), at_least_x(0.8)),
        Row("2", "p99 latency via ClusterIP, new connection per request", "ms", col("newconn", "proxied", "p99"),
            pod, col("newconn", "direct", "p99")),
        Row("2", "CPU per request in the proxy, keep-alive", "us", cpu_us["keepalive"][0],
            "in the pod", cpu_us["keepalive"][1]),
        Row("2", "CPU per request in the proxy, new connection per request", "us", cpu_us["newconn"][0],
            "in the pod", cpu_us["newconn"][1]),
        Row("2", "memory of the largest proxy container, idle", "MB", memory, goal=below(15, "MB")),
    ]
