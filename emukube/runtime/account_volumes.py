"""Service-account volumes (token, ca.crt, namespace), bind-mounted read-only from a folder per
(namespace, account) in the cluster's DNS volume, which the controller writes once.

Copied into each pod's container before it started, they cost every pod an engine call
(0.05-0.1 s on a quiet engine, several times that while `up` starts a dozen containers), on
the StatefulSet's ordered chain too. A container that mounts something of its own at that
path, or above or below it, gets the copy as before: a bind there would clash with its mount."""

from __future__ import annotations

import os
from pathlib import Path

from docker.types import Mount

from .files import replace_file

FOLDER = "accounts"


def account_mount(dirs: tuple[str, str] | None, namespace: str, account: str,
                  files: dict[str, tuple[bytes, int]], container: dict) -> Mount | None:
    """The bind mount serving these files (full paths in one folder); None to copy them in.
    dirs: (the folder as the controller sees it, the same on the engine's host)."""
    if dirs is None or not files:
        return None
    target = os.path.dirname(next(iter(files)))
    if any(os.path.dirname(path) != target for path in files):
        return None
    for mount in container.get("volumeMounts") or []:
        path = str(mount.get("mountPath") or "").rstrip("/") or "/"
        if path == target or path.startswith(target + "/") or target.startswith(path.rstrip("/") + "/"):
            return None
    local, host = dirs
    folder = f"{namespace}/{account}"
    _write(Path(local) / folder, {os.path.basename(path): data for path, data in files.items()})
    return Mount(target=target, source=f"{host}/{folder}", type="bind", read_only=True)


def _write(folder: Path, files: dict[str, tuple[bytes, int]]) -> None:
    """Each file replaced whole (a pod reading it meanwhile sees the old or the new one). A
    token already there stays: tokens of an account do not expire, and pods running keep theirs."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (content, mode) in files.items():
        path = folder / name
        if path.exists() and (name == "token" or path.read_bytes() == content):
            continue
        replace_file(path, content, mode)
