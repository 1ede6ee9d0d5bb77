"""emukube: Kubernetes Services, workloads and DNS as real Docker containers.

    from emukube import Cluster
    with Cluster.up("k8s/") as c:
        print(c.url("svc/web"))
"""

from __future__ import annotations

_CLIENT = {"Cluster": "cluster", "Change": "cluster", "ExecResult": "cluster", "unique_name": "cluster",
           "PodRow": "snapshot"}
_ERRORS = ("EmukubeError", "EngineUnavailable", "NotFound", "WorkloadFailed")
__all__ = [*_CLIENT, *_ERRORS]


def __getattr__(name: str):
    # Lazy, so the controller (which imports emukube.controllers) does not load the API.
    if name in _CLIENT:
        import importlib

        return getattr(importlib.import_module(f".client.{_CLIENT[name]}", __name__), name)
    if name in _ERRORS:
        from . import errors

        return getattr(errors, name)
    raise AttributeError(name)
