"""Files the controller keeps in the cluster's state volume (/state): written whole
(runtime/files.py), so a reader (the CLI, the next controller) never sees half a file."""

from __future__ import annotations

from pathlib import Path


def read_text(path: Path) -> str:
    """The file's text, "" when there is none (a new cluster)."""
    try:
        return path.read_text()
    except OSError:
        return ""
