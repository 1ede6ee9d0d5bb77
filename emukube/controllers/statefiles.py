"""Files the controller keeps in the cluster's state volume (/state): written atomically, so a
reader (the CLI, the next controller) never sees half a file."""

from __future__ import annotations

from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def read_text(path: Path) -> str:
    """The file's text, "" when there is none (a new cluster)."""
    try:
        return path.read_text()
    except OSError:
        return ""
