"""emukube: Kubernetes Services, workloads and DNS as real Docker containers.

    from emukube import Cluster
    with Cluster.up("k8s/") as c:
        print(c.url("svc/web"))
"""

from __future__ import annotations

__all__ = ["Cluster", "Change", "ExecResult", "EmukubeError", "unique_name"]


def __getattr__(name: str):
    # Lazy, so the controller (which imports emukube.controllers) does not load the API.
    if name in ("Cluster", "Change", "ExecResult", "unique_name"):
        from .client import cluster as api

        return getattr(api, name)
    if name == "EmukubeError":
        from .errors import EmukubeError

        return EmukubeError
    raise AttributeError(name)
