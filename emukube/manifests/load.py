"""Read manifests from files, directories and stdin into documents, safely.

Nothing here raises on bad input: unreadable files, non-UTF-8 bytes, malformed YAML or JSON,
documents that are not mappings, oversized files and alias bombs all become `Problem`s.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from dataclasses import dataclass
from typing import Any, Iterator, TextIO

from ..errors import EmukubeError
from .parse import Refusal, parse_text
from .text import safe_text

MAX_FILE_BYTES = 10 * 1024 * 1024
EXTENSIONS = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Doc:
    source: str
    index: int
    obj: dict


@dataclass(frozen=True)
class Problem:
    source: str
    index: int | None
    message: str

    def __str__(self) -> str:
        if self.index is None:
            return f"{self.source}: {self.message}"
        return f"{self.source} (document {self.index + 1}): {self.message}"


class ManifestError(EmukubeError):
    """Every problem in the input at once; exit code 2."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def load_paths(paths: list[str], stdin: TextIO | None = None) -> list[Doc]:
    """Load every document; raise ManifestError listing every problem found."""
    docs, problems = load_with_problems(paths, stdin)
    if problems:
        raise ManifestError(problems)
    return docs


def load_with_problems(paths: list[str], stdin: TextIO | None = None) -> tuple[list[Doc], list[Problem]]:
    docs: list[Doc] = []
    problems: list[Problem] = []
    stdin_used = False
    with _gc_paused():
        for path in paths:
            if path == "-":
                if stdin_used:
                    problems.append(Problem("<stdin>", None, "stdin ('-') was given more than once"))
                    continue
                stdin_used = True
                stream = stdin if stdin is not None else sys.stdin
                data = _read_stdin(stream, problems)
                if data is not None:  # "<stdin>", or what stands in for it (`up -k DIR`'s build)
                    label = getattr(stream, "name", None)
                    _load_bytes(label if isinstance(label, str) else "<stdin>", data, docs, problems,
                                json_first=None)
            elif os.path.isdir(path):
                files = _walk(path, problems)
                if not files:
                    problems.append(Problem(path, None, "no *.yaml, *.yml or *.json files in this directory"))
                for f in files:
                    _load_file(f, docs, problems)
            else:
                _load_file(path, docs, problems)
    return docs, problems


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    # Building many small containers triggers the cyclic GC over and over; parsing is 2-5x
    # faster without it, and the parsed trees hold no cycles.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _walk(root: str, problems: list[Problem]) -> list[str]:
    def unreadable(e: OSError) -> None:
        problems.append(Problem(e.filename or root, None, f"cannot read: {e.strerror or e}"))

    found = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        dirnames.sort()
        for name in filenames:
            if name.lower().endswith(EXTENSIONS):
                found.append(os.path.join(dirpath, name))
    return sorted(found)


def _too_big(size: int) -> str:
    return (f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB "
            f"({size / (1024 * 1024):.1f} MB or more); refusing to read it")


def _load_file(path: str, docs: list[Doc], problems: list[Problem]) -> None:
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size > MAX_FILE_BYTES:
                problems.append(Problem(path, None, _too_big(os.fstat(f.fileno()).st_size)))
                return
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        problems.append(Problem(path, None, f"cannot read: {e.strerror or e}"))
        return
    if len(data) > MAX_FILE_BYTES:
        problems.append(Problem(path, None, _too_big(len(data))))
        return
    _load_bytes(path, data, docs, problems, json_first=path.lower().endswith(".json"))


def _read_stdin(stream: TextIO, problems: list[Problem]) -> bytes | None:
    try:
        raw = getattr(stream, "buffer", None)
        data = raw.read(MAX_FILE_BYTES + 1) if raw is not None else stream.read(MAX_FILE_BYTES + 1)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        problems.append(Problem("<stdin>", None, f"cannot read: {e}"))
        return None
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > MAX_FILE_BYTES:
        problems.append(Problem("<stdin>", None, f"input is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; "
                                                 "refusing to read it"))
        return None
    return data


def _load_bytes(source: str, data: bytes, docs: list[Doc], problems: list[Problem],
                json_first: bool | None) -> None:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        problems.append(Problem(source, None, f"not valid UTF-8: byte 0x{data[e.start]:02x} at offset "
                                              f"{e.start} (line {line}); manifests must be UTF-8 text"))
        return
    if json_first is None:
        json_first = text.lstrip()[:1] in ("{", "[")
    # stdin has no file extension to go by: what does not parse as JSON may still be YAML
    for index, obj in parse_text(text, json_first, yaml_fallback=source == "<stdin>"):
        if isinstance(obj, Refusal):
            problems.append(Problem(source, index, obj.message))
        elif obj is not None:
            _add_doc(source, index, obj, docs, problems)


def _add_doc(source: str, index: int, obj: Any, docs: list[Doc], problems: list[Problem]) -> None:
    if not isinstance(obj, dict):
        problems.append(Problem(source, index, f"document is a {_type_name(obj)}, not a mapping "
                                               "(a Kubernetes object starts with apiVersion: and kind:)"))
        return
    kind = obj.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and "items" in obj:
        items = obj.get("items")
        if items is None:
            return
        if not isinstance(items, list):
            problems.append(Problem(source, index, f"{safe_text(kind)}: items: must be a list, "
                                                   f"not a {_type_name(items)}"))
            return
        for i, item in enumerate(items):
            if isinstance(item, dict):
                _add_doc(source, index, item, docs, problems)
            else:
                problems.append(Problem(source, index, f"{safe_text(kind)}: items[{i}]: is a {_type_name(item)}, "
                                                       "not a mapping"))
        return
    docs.append(Doc(source, index, obj))


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string",
            list: "list", dict: "mapping"}.get(type(v), type(v).__name__)
