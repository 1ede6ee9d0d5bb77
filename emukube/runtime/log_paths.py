"""Where a container's output is kept once the container is gone: the controller writes it, the
API server's pods/log reads it. Apart from runtime/pods.py and restart.py, so that reading a log
does not load the docker SDK into the API server."""

from __future__ import annotations

from pathlib import Path


def init_log_path(container: str) -> str:
    """Where the sandbox keeps an init container's output (timestamped) once the container is
    removed: `kubectl logs -c INIT` reads it from there."""
    return f"/.emukube/init-logs/{container}.log"


def previous_log_path(state_dir: str | Path, namespace: str, pod: str, container: str) -> Path:
    """Where, in the state volume, a container's previous run's output is kept (timestamped
    lines) for `logs --previous`: the controller writes it, the API server reads it."""
    return Path(state_dir) / "previous-logs" / namespace / pod / f"{container}.log"


def exited_log_path(state_dir: str | Path, namespace: str, pod: str, container: str) -> Path:
    """Where an init container that failed leaves its output (timestamped lines) once it is
    removed, until it runs again (controllers/start_failures.py): `kubectl logs -c` reads it."""
    return Path(state_dir) / "exited-logs" / namespace / pod / f"{container}.log"
