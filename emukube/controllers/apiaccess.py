"""How the controller reaches its API server: the cluster's CA and token from the state volume."""

from __future__ import annotations

import time
from pathlib import Path

from ..k8s.client import ApiError, Credentials, KubeClient


def credentials(state_dir: str, server: str) -> Credentials:
    pki = Path(state_dir) / "pki"
    token = (pki / "tokens").read_text().split()[0]
    return Credentials(server=server, ca_pem=(pki / "ca.crt").read_bytes(), token=token)


def wait_ready(api: KubeClient, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            api.request("GET", "/readyz")
            return
        except Exception:  # noqa: BLE001 - still starting
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def write_tolerantly(call) -> None:
    """A controller's write: an object gone or changed meanwhile is for the next tick to see."""
    try:
        call()
    except ApiError as exc:
        if exc.code not in (404, 409):
            raise
