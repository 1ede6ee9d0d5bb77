"""Where the engine listens (DOCKER_HOST), known without the docker SDK: the API server speaks the
engine's HTTP API itself (engine_stream.py, published.py), and the SDK with requests, urllib3 and
chardet held 5.6 MB of its memory for that."""

from __future__ import annotations

import os
from urllib.parse import urlparse


def socket_name() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def address() -> tuple[str, str]:
    """("unix", path) or ("tcp", "host:port") of DOCKER_HOST."""
    url = urlparse(socket_name())
    if url.scheme in ("unix", "npipe", ""):
        return "unix", url.path or "/var/run/docker.sock"
    return "tcp", url.netloc
