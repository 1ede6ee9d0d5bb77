"""A failed TCP dial as Go's net package words it, which is how the kubelet and the API server
report one: "dial tcp 10.96.0.7:8080: connect: connection refused"."""

from __future__ import annotations

import os


def dial_error(host: str, port: int | str | None, exc: BaseException, network: str = "tcp") -> str:
    """`network`: Go's name for it ("tcp", or "tcp4" where the address family was chosen)."""
    if isinstance(exc, TimeoutError):  # socket.timeout and asyncio.TimeoutError too
        return f"dial {network} {host}:{port}: i/o timeout"
    code = getattr(exc, "errno", None)
    why = os.strerror(code).lower() if code else str(exc)
    return f"dial {network} {host}:{port}: connect: {why}"
