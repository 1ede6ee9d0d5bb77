"""Read manifests from files, directories and stdin into documents, safely.

Nothing here raises on bad input: unreadable files, non-UTF-8 bytes, malformed YAML or JSON,
documents that are not mappings, oversized files and alias bombs all become `Problem`s.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Iterator, TextIO

import yaml

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 100  # Kubernetes objects nest ~20 deep; libyaml's composer crashes on ~100k
MAX_NODES = 1_000_000  # per document, counting every alias as the whole subtree it expands to
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


class ManifestError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """Safe loader that keeps timestamps as strings, as kubectl's YAML-to-JSON step does."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in _Base.yaml_implicit_resolvers.items()
}


class _Refused(Exception):
    def __init__(self, index: int, message: str):
        self.index, self.message = index, message


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
                data = _read_stdin(stdin if stdin is not None else sys.stdin, problems)
                if data is not None:
                    _load_bytes("<stdin>", data, docs, problems, json_first=None)
            elif os.path.isdir(path):
                files = _walk(path)
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


def _walk(root: str) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=None):
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
    objects: list[tuple[int, Any]] = []
    if json_first:
        err = _parse_json(text, objects)
        if err is not None and source == "<stdin>":  # stdin has no extension: maybe it was YAML
            objects = []
            err = _parse_yaml(text, objects)
    else:
        err = _parse_yaml(text, objects)
    for index, obj in objects:
        if isinstance(obj, _Refused):
            problems.append(Problem(source, index, obj.message))
        elif obj is not None:
            _add_doc(source, index, obj, docs, problems)
    if err is not None:
        problems.append(Problem(source, err.index, err.message))


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
            problems.append(Problem(source, index, f"{kind}: items: must be a list, not a {_type_name(items)}"))
            return
        for i, item in enumerate(items):
            if isinstance(item, dict):
                _add_doc(source, index, item, docs, problems)
            else:
                problems.append(Problem(source, index, f"{kind}: items[{i}]: is a {_type_name(item)}, "
                                                       "not a mapping"))
        return
    docs.append(Doc(source, index, obj))


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string",
            list: "list", dict: "mapping"}.get(type(v), type(v).__name__)


# -- JSON -------------------------------------------------------------------------------

def _parse_json(text: str, out: list[tuple[int, Any]]) -> _Refused | None:
    """A JSON document or a stream of them (kubectl accepts concatenated objects)."""
    decoder = json.JSONDecoder()
    pos, index = 0, 0
    try:
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos >= len(text):
                return None
            obj, pos = decoder.raw_decode(text, pos)
            out.append((index, _normalize_or_refuse(obj, index)))
            index += 1
    except json.JSONDecodeError as e:
        return _Refused(index, f"invalid JSON: {e.msg} at line {e.lineno}, column {e.colno}")
    except RecursionError:
        return _Refused(index, f"invalid JSON: nested more than {MAX_DEPTH} levels deep")
    except ValueError as e:
        return _Refused(index, f"invalid JSON: {e}")


# -- YAML -------------------------------------------------------------------------------

def _parse_yaml(text: str, out: list[tuple[int, Any]]) -> _Refused | None:
    refusal = _scan_events(text)
    stop = refusal.index if refusal is not None else None
    loader = _Loader(text)
    try:
        index = 0
        while (stop is None or index < stop) and loader.check_node():
            node = loader.get_node()
            try:
                obj = loader.construct_document(node)
            except Exception as e:  # constructor errors, int() digit limits, ...
                loader.constructed_objects, loader.recursive_objects, loader.state_generators = {}, {}, []
                obj = _Refused(index, _yaml_message(e))
            out.append((index, obj if isinstance(obj, _Refused) else _normalize_or_refuse(obj, index)))
            index += 1
    except Exception as e:  # the scan pass already saw the syntax; this is a safety net
        if refusal is None:
            refusal = _Refused(len(out), _yaml_message(e))
    finally:
        loader.dispose()
    return refusal


def _scan_events(text: str) -> _Refused | None:
    """Walk the parser's events (no recursion) to bound nesting depth and alias expansion
    before anything is composed: libyaml's composer recurses in C, and a "billion laughs"
    document is tiny as text and enormous once expanded."""
    loader = _Loader(text)
    index, in_doc = -1, False
    try:
        anchors: dict[str, int | None] = {}
        stack: list[list] = []  # [expanded size so far, anchor] per open collection
        expanded = 0
        while loader.check_event():
            ev = loader.get_event()
            if isinstance(ev, yaml.DocumentStartEvent):
                index, in_doc, anchors, expanded = index + 1, True, {}, 0
                continue
            if isinstance(ev, yaml.DocumentEndEvent):
                in_doc = False
                continue
            if isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    return _Refused(index, f"document is nested more than {MAX_DEPTH} levels deep; "
                                           "refusing to read it")
                if ev.anchor is not None:
                    anchors[ev.anchor] = None
                stack.append([1, ev.anchor])
                expanded += 1
                continue
            if isinstance(ev, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                size, anchor = stack.pop()
                if anchor is not None:
                    anchors[anchor] = size
                if stack:
                    stack[-1][0] += size
                continue
            if isinstance(ev, yaml.ScalarEvent):
                size = 1
                if ev.anchor is not None:
                    anchors[ev.anchor] = 1
            elif isinstance(ev, yaml.AliasEvent):
                if ev.anchor not in anchors:
                    return _Refused(index, f"invalid YAML: found undefined alias {ev.anchor!r}")
                size = anchors[ev.anchor]
                if size is None:
                    return _Refused(index, f"alias *{ev.anchor} refers to a node that contains it; "
                                           "recursive YAML is not allowed")
            else:
                continue
            expanded += size
            if stack:
                stack[-1][0] += size
            if expanded > MAX_NODES:
                return _Refused(index, f"document expands to more than {MAX_NODES} nodes through YAML "
                                       "aliases (a \"billion laughs\" alias bomb?); refusing to read it")
        return None
    except yaml.YAMLError as e:
        return _Refused(index if in_doc else index + 1, _yaml_message(e))
    finally:
        loader.dispose()


def _yaml_message(e: Exception) -> str:
    if isinstance(e, yaml.MarkedYAMLError):
        where = ""
        mark = e.problem_mark or e.context_mark
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        what = e.problem or e.context or "syntax error"
        return f"invalid YAML: {what}{where}"
    if isinstance(e, yaml.YAMLError):
        return "invalid YAML: " + str(e).splitlines()[0]
    return f"cannot read this document: {e}"


# -- normalisation ----------------------------------------------------------------------

def _normalize_or_refuse(obj: Any, index: int) -> Any:
    try:
        return _normalize(obj, 0)
    except _TooDeep:
        return _Refused(index, f"document is nested more than {MAX_DEPTH} levels deep; refusing to read it")


class _TooDeep(Exception):
    pass


def _normalize(v: Any, depth: int) -> Any:
    """A fresh tree of JSON-like values: mapping keys become strings as in kubectl's YAML-to-JSON
    step, !!binary becomes base64 text, and no two places share one object (YAML anchors do)."""
    if depth > MAX_DEPTH:
        raise _TooDeep
    if isinstance(v, dict):
        return {_key(k): _normalize(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_normalize(x, depth + 1) for x in v]
    if isinstance(v, (set, frozenset)):
        return {_key(k): None for k in v}
    if isinstance(v, bytes):
        return base64.b64encode(v).decode("ascii")
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    return str(v)


def _key(k: Any) -> str:
    if isinstance(k, str):
        return k
    if k is None:
        return "null"
    if isinstance(k, bool):
        return "true" if k else "false"
    return str(k)
