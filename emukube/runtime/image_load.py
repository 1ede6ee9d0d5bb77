"""`emukube load IMAGE.tar`: images into the engine from `docker save` archives, for machines
without a registry (the archive may be gzip, bzip2 or xz compressed, as for `docker load`)."""

from __future__ import annotations

import os
from typing import Callable, Iterator

from docker.errors import APIError

from ..errors import EmukubeError


def load_archive(client, path: str, log: Callable[[str], None] = print) -> list[str]:
    """Load one archive (streamed, never read whole into memory); returns docker's lines
    ("Loaded image: web:ci"). Raises EmukubeError in docker load's words."""
    if not os.path.isfile(path):
        raise EmukubeError(f"open {path}: no such file or directory")
    lines = []
    try:
        with open(path, "rb") as fh:
            for line in _messages(client.api.load_image(fh, quiet=True)):
                log(line)
                lines.append(line)
    except APIError as exc:
        raise EmukubeError(f"Error response from daemon: {exc.explanation or exc}") from None
    return lines


def _messages(stream) -> Iterator[str]:
    for chunk in stream:
        if "error" in chunk:
            raise EmukubeError(f"Error response from daemon: {chunk['error'].strip()}")
        text = (chunk.get("stream") or "").strip()
        if text:
            yield text
