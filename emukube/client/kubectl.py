"""The real kubectl, run against one cluster: `emukube kubectl -- ARGS`, `emukube describe` and
Cluster.describe(). kubectl's describers are hundreds of client-side layouts kept in step with
every kind; emukube runs them rather than copying a few.

kubectl gets a kubeconfig of this cluster alone (a temporary file) with the credentials of the
client given, so the user's current context and other clusters' entries never matter."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from ..errors import EmukubeError
from ..k8s.client import KubeClient

INSTALL_HINT = "run scripts/ensure-kubectl.sh, or install kubectl 1.35"


def path() -> str:
    """kubectl from emukube's venv (scripts/ensure-kubectl.sh puts it there), else from PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "kubectl")
    found = beside if os.access(beside, os.X_OK) else shutil.which("kubectl")
    if not found:
        raise EmukubeError(f"error: kubectl not found ({INSTALL_HINT})")
    return found


def run(cluster: str, api: KubeClient, args: list[str], capture: bool = False,
        timeout: float | None = None) -> subprocess.CompletedProcess:
    """kubectl ARGS with this cluster's context (emukube-CLUSTER), reaching it as `api` does."""
    from ..lifecycle import kubeconfig

    binary = path()
    creds = api.creds
    text = kubeconfig.dump(kubeconfig.render(cluster, creds.server, creds.ca_pem, creds.token))
    with tempfile.NamedTemporaryFile("w", prefix="emukube-kubeconfig-", suffix=".yaml") as fh:
        fh.write(text)
        fh.flush()
        env = dict(os.environ, KUBECONFIG=fh.name)
        return subprocess.run([binary, *args], env=env, capture_output=capture, text=capture, timeout=timeout)
