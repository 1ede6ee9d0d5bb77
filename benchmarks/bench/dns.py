"""Section 4: how soon CoreDNS answers a new endpoint set (polled from the client pod every
5 ms), next to when the proxy showed the same change; and queries/s through CoreDNS from a
pod, next to Docker's embedded resolver on the same network."""

from __future__ import annotations

from emukube.runtime.dns import dns_name

from . import events
from .context import Context, log
from .measure import Goal, Row

WITHIN_1S = Goal("DNS <= proxy + 1 s", lambda v, b: b is not None and v - b <= 1.0, "diff")
LABELS = {
    "unready": "readiness failure -> DNS drops the pod",
    "ready": "readiness back -> DNS has the pod again",
    "kill": "docker kill a pod -> DNS has its replacement",
    "scale down": "scale 3 -> 2 -> DNS has 2 pods",
    "scale up": "scale 2 -> 3 -> DNS has 3 pods",
}


def run(ctx: Context) -> list[Row]:
    found = events.measure(ctx)
    rows = []
    for event in ("unready", "ready", "kill", "scale down", "scale up"):
        row = Row("4", LABELS[event], "s", found.get((event, "dns"), []), "the proxy",
                  found.get((event, "proxy"), []), WITHIN_1S)
        failed = found.get("failed", {})
        if (event, "dns") in failed or (event, "proxy") in failed:
            row.error = failed.get((event, "dns")) or failed.get((event, "proxy"))
        rows.append(row)
    w = ctx.workload()
    n = "4000" if ctx.quick else "40000"
    core, docker_dns = [], []
    docker_name = dns_name(w.cluster.name)  # a container name Docker's resolver knows
    for run_ in range(ctx.runs):
        log(f"DNS queries/s run {run_ + 1}/{ctx.runs}")
        core.append(w.ekload("dns-qps", "-server", w.dns_server, "-name", "web.default.svc.cluster.local",
                             "-c", "8", "-n", n, "-timeout", "60s", timeout=90))
        docker_dns.append(w.ekload("dns-qps", "-server", "127.0.0.11:53", "-name", docker_name,
                                   "-c", "8", "-n", n, "-timeout", "60s", timeout=90))
    errors = sum(r["errors"] for r in core)
    rows += [
        Row("4", "DNS queries/s through CoreDNS from a pod, 8 workers", "q/s", [r["qps"] for r in core],
            "Docker's resolver 127.0.0.11", [r["qps"] for r in docker_dns],
            note=f"{errors} failed queries" if errors else ""),
        Row("4", "p99 DNS latency, same load", "ms", [r["p99_ms"] for r in core],
            "Docker's resolver 127.0.0.11", [r["p99_ms"] for r in docker_dns]),
    ]
    return rows
