"""Files other processes read while the controller rewrites them (zones, proxies' configs,
service-account tokens, the state volume's records), each replaced whole: written under a
temporary name beside it, then renamed over it. A reader sees the old file or the new one,
never half of either."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def replace_file(path: Path, data: str | bytes, mode: int | None = None) -> None:
    # A temporary name of this thread's own: two pods of one service account starting at once
    # write the same files, and with one shared name one writer renamed the other's file away
    # (FileNotFoundError at its chmod), which failed that pod's start.
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    if isinstance(data, str):
        tmp.write_text(data)
    else:
        tmp.write_bytes(data)
    if mode is not None:  # before the rename: the file never shows with other permissions
        os.chmod(tmp, mode)
    tmp.replace(path)
