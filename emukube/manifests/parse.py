"""Parse YAML and JSON text into plain documents, refusing hostile input.

`parse_text` never raises: what cannot be read becomes a `Refusal` at the document where it
happened. Depth, alias expansion and document count are bounded *before* libyaml composes a
document (its composer recurses in C and would crash), and results are fresh JSON-like trees.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

MAX_DEPTH = 100  # Kubernetes objects nest ~20 deep; libyaml's composer crashes on ~100k
MAX_ALIAS_NODES = 100_000  # nodes that aliases may add to one document once expanded
MAX_DOCUMENTS = 10_000  # per file
_TOO_DEEP = f"document is nested more than {MAX_DEPTH} levels deep; refusing to read it"

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """Safe loader that keeps timestamps as strings, as kubectl's YAML-to-JSON step does."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in _Base.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Refusal:
    index: int
    message: str


def parse_text(text: str, json_first: bool, yaml_fallback: bool) -> list[tuple[int, Any]]:
    """(index, value) of every document in `text`, in order. Empty documents read as None; what
    could not be read is a Refusal, and nothing after a syntax error or a refused document is read."""
    out: list[tuple[int, Any]] = []
    if json_first:
        refusal = _parse_json(text, out)
        if refusal is not None and yaml_fallback:
            out = []
            refusal = _parse_yaml(text, out)
    else:
        refusal = _parse_yaml(text, out)
    if refusal is not None:
        out.append((refusal.index, refusal))
    return out


# -- JSON -------------------------------------------------------------------------------

def _parse_json(text: str, out: list[tuple[int, Any]]) -> Refusal | None:
    """A JSON document or a stream of them (kubectl accepts concatenated objects)."""
    decoder = json.JSONDecoder()
    pos, index = 0, 0
    try:
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos >= len(text):
                return None
            if index >= MAX_DOCUMENTS:
                return Refusal(index, f"more than {MAX_DOCUMENTS} documents in one file; refusing to read the rest")
            obj, pos = decoder.raw_decode(text, pos)
            out.append((index, _normalize_or_refuse(obj, index)))
            index += 1
    except json.JSONDecodeError as e:
        return Refusal(index, f"invalid JSON: {e.msg} at line {e.lineno}, column {e.colno}")
    except RecursionError:
        return Refusal(index, _TOO_DEEP)
    except ValueError as e:
        return Refusal(index, f"invalid JSON: {e}")


# -- YAML -------------------------------------------------------------------------------

def _parse_yaml(text: str, out: list[tuple[int, Any]]) -> Refusal | None:
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
                obj = Refusal(index, _yaml_message(e))
            out.append((index, obj if isinstance(obj, Refusal) else _normalize_or_refuse(obj, index)))
            index += 1
    except Exception as e:  # the scan pass already saw the syntax; this is a safety net
        if refusal is None:
            refusal = Refusal(len(out), _yaml_message(e))
    finally:
        loader.dispose()
    return refusal


def _scan_events(text: str) -> Refusal | None:
    """Walk the parser's events (no recursion) to bound nesting depth, alias expansion and the
    number of documents before anything is composed: libyaml's composer recurses in C, and a
    "billion laughs" document is tiny as text and enormous once expanded."""
    # Long because: one loop over the events keeps the three limits' state together; split up,
    # each piece would need all of it.
    loader = _Loader(text)
    index, in_doc = -1, False
    try:
        anchors: dict[str, int | None] = {}  # anchor -> expanded size (None while still open)
        stack: list[list] = []  # [expanded size so far, anchor] per open collection
        via_aliases = 0
        while loader.check_event():
            ev = loader.get_event()
            if isinstance(ev, yaml.DocumentStartEvent):
                index, in_doc, anchors, via_aliases = index + 1, True, {}, 0
                if index >= MAX_DOCUMENTS:
                    return Refusal(index, f"more than {MAX_DOCUMENTS} documents in one file; "
                                           "refusing to read the rest")
                continue
            if isinstance(ev, yaml.DocumentEndEvent):
                in_doc = False
                continue
            if isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    return Refusal(index, _TOO_DEEP)
                if ev.anchor is not None:
                    anchors[ev.anchor] = None
                stack.append([1, ev.anchor])
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
                    return Refusal(index, f"invalid YAML: found undefined alias {ev.anchor!r}")
                size = anchors[ev.anchor]
                if size is None:
                    return Refusal(index, f"alias *{ev.anchor} refers to a node that contains it; "
                                           "recursive YAML is not allowed")
                via_aliases += size
                if via_aliases > MAX_ALIAS_NODES:
                    return Refusal(index, f"YAML aliases expand this document by more than {MAX_ALIAS_NODES} "
                                           "nodes (an alias bomb?); refusing to read it")
            else:
                continue
            if stack:
                stack[-1][0] += size
        return None
    except yaml.YAMLError as e:
        # libyaml >= 0.2.6 has its own depth limit (1000), met while scanning ahead of the events.
        if "maximum nesting depth" in str(getattr(e, "problem", "") or e):
            return Refusal(index if in_doc else index + 1, _TOO_DEEP)
        return Refusal(index if in_doc else index + 1, _yaml_message(e))
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
        return Refusal(index, _TOO_DEEP)


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
    if isinstance(v, str):
        return _LONE_SURROGATE.sub("\ufffd", v)
    if v is None or isinstance(v, (bool, int, float)):
        return v
    return str(v)


# JSON escapes can spell half a UTF-16 pair; Go's decoder turns those into U+FFFD, and so do we.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _key(k: Any) -> str:
    if isinstance(k, str):
        return _LONE_SURROGATE.sub("\ufffd", k)
    if k is None:
        return "null"
    if isinstance(k, bool):
        return "true" if k else "false"
    return str(k)
