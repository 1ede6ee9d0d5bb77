"""`emukube up|apply -k DIR`: the kustomization built by kubectl's own kustomize, as `kubectl
apply -k DIR` builds it (no Python kustomize is kept up to date; kubectl 1.35 carries kustomize v5)."""

from __future__ import annotations

import io
import subprocess

from ..client.kubectl import path as kubectl_path
from ..errors import EmukubeError


def built(directory: str) -> io.StringIO:
    """`kubectl kustomize DIR`'s documents, named "kustomize DIR" in what problems they have."""
    try:
        done = subprocess.run([kubectl_path(), "kustomize", directory], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EmukubeError(f"error: kubectl kustomize {directory}: {exc}") from None
    if done.returncode != 0:
        raise EmukubeError(done.stderr.strip() or f"error: kubectl kustomize {directory} exited {done.returncode}")
    out = io.StringIO(done.stdout)
    out.name = f"kustomize {directory}"
    return out
