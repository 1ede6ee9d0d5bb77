"""The machine the figures come from, and small engine helpers the sections share."""

from __future__ import annotations

import ipaddress
import os
import platform
import subprocess
import time

BENCH_LABEL = "emukube-bench"  # on every container and network the baselines make


def describe(client) -> dict[str, str]:
    with open("/proc/meminfo") as f:
        total_kb = int(f.readline().split()[1])
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpus": str(os.cpu_count()),
        "memory": f"{total_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "docker": client.version().get("Version", "?"),
        "load average at start": load,
        "containers running at start": str(len(client.api.containers())),
    }


def memory_mb(container) -> float:
    """What `docker stats` shows: usage less inactive page cache (cgroup v1 and v2)."""
    stats = container.client.api.stats(container.id, stream=False, one_shot=True)
    mem = stats.get("memory_stats") or {}
    usage = mem.get("usage", 0)
    detail = mem.get("stats") or {}
    inactive = detail.get("total_inactive_file", detail.get("inactive_file", 0))
    if inactive < usage:
        usage -= inactive
    return usage / 1024 / 1024


def cpu_seconds(container) -> float:
    """CPU time the container has used so far (user + system, all its processes)."""
    stats = container.client.api.stats(container.id, stream=False, one_shot=True)
    return stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9


def free_subnet(client, prefix: str = "10.201.0.0/16") -> str:
    """A /24 no network on this engine uses, outside emukube's 10.96-10.127 range."""
    taken = []
    for n in client.networks.list():
        for cfg in (n.attrs.get("IPAM") or {}).get("Config") or []:
            if cfg.get("Subnet"):
                taken.append(ipaddress.ip_network(cfg["Subnet"], strict=False))
    for net in ipaddress.ip_network(prefix).subnets(new_prefix=24):
        if not any(net.overlaps(t) for t in taken):
            return str(net)
    raise RuntimeError(f"no free /24 in {prefix}")


def remove_labelled(client, value: str) -> None:
    """Remove the containers and networks a baseline made (label emukube-bench=value)."""
    wanted = {"label": f"{BENCH_LABEL}={value}"}
    ids = [c.id for c in client.containers.list(ignore_removed=True, all=True, filters=wanted)]
    if ids:
        subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True, timeout=300)
    for net in client.networks.list(filters=wanted):
        subprocess.run(["docker", "network", "rm", net.id], capture_output=True, timeout=120)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
