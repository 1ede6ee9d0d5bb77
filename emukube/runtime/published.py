"""NodePorts other clusters on this engine publish: host ports, so unique across clusters. Read
from the engine by the API server's admission (it cannot reach other clusters' APIs)."""

from __future__ import annotations

import time

from .clusters import published_node_ports

_cache: tuple[float, dict[int, str]] = (0.0, {})


def other_clusters_node_ports(cluster: str, max_age: float = 2.0) -> dict[int, str]:
    global _cache
    if time.monotonic() - _cache[0] < max_age:
        return _cache[1]
    import docker

    try:
        taken = published_node_ports(docker.from_env(timeout=10), cluster)
    except Exception:  # noqa: BLE001 - no engine reachable: nothing known to be taken
        return {}
    _cache = (time.monotonic(), taken)
    return taken
