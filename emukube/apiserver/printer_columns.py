"""A CRD's additionalPrinterColumns as a Table printer, as apiextensions-apiserver's
tableconvertor builds it: Name first, then each column's simple JSONPath (first match only;
`date` columns as an age, `string` ones printed as client-go's jsonpath prints them), and a
single Age column when the CRD declares none."""

from __future__ import annotations

import re

from .cr_schema import go_value
from .printers.format import human_duration, parse_time
from .tables import AGE, NAME, Printer, col

_AGE_COLUMN = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
_TOKEN = re.compile(r"""\.\.?([A-Za-z0-9_\-$]+)|\[\s*'([^']*)'\s*\]|\[\s*"([^"]*)"\s*\]|\[\s*(\*|-?\d+)\s*\]"""
                    r"""|\[\s*\?\(\s*@((?:\.[A-Za-z0-9_\-]+)+)\s*(==|!=)\s*(?:"([^"]*)"|'([^']*)'|([^)\s]+))\s*\)\s*\]""")


def _steps(path: str) -> list[tuple]:
    """".status.conditions[?(@.type=="Ready")].status" -> [("key","status"), ...]."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    steps: list[tuple] = []
    i = 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            raise ValueError(f"unrecognized column definition {path!r}")
        if m.group(1) or m.group(2) is not None or m.group(3) is not None:
            steps.append(("key", m.group(1) or m.group(2) or m.group(3)))
        elif m.group(4) is not None:
            steps.append(("all",) if m.group(4) == "*" else ("index", int(m.group(4))))
        else:
            value = next(v for v in (m.group(7), m.group(8), m.group(9)) if v is not None)
            steps.append(("filter", m.group(5).strip(".").split("."), m.group(6) == "!=", value))
        i = m.end()
    return steps


def _get(node, keys: list[str]):
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def find(obj: dict, path: str) -> list:
    """Every value the path reaches (client-go's jsonpath with missing keys allowed)."""
    current = [obj]
    for step in _steps(path):
        nxt = []
        for node in current:
            if step[0] == "key":
                if isinstance(node, dict) and step[1] in node:
                    nxt.append(node[step[1]])
            elif step[0] == "index":
                if isinstance(node, list) and -len(node) <= step[1] < len(node):
                    nxt.append(node[step[1]])
            elif step[0] == "all":
                nxt.extend(node if isinstance(node, list) else node.values() if isinstance(node, dict) else [])
            else:
                _, keys, negate, value = step
                items: list = node if isinstance(node, list) else []
                nxt.extend(i for i in items if (_text(_get(i, keys)) == value) != negate)
        current = nxt
    return current


def _text(value) -> str:
    """jsonpath's PrintResults: strings bare, maps and lists as JSON, the rest as Go's fmt prints them."""
    if isinstance(value, str):
        return value
    return "<nil>" if value is None else go_value(value)


def _cell(kind: str, value, now: float):
    if value is None:
        return None
    if kind == "string":
        return _text(value)
    if kind == "integer" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "date" and isinstance(value, str):
        when = parse_time(value)
        return "<invalid>" if when is None else human_duration(now - when)
    return None


def columns_of(version: dict) -> list[dict]:
    return list(version.get("additionalPrinterColumns") or []) or [_AGE_COLUMN]


def printer(columns: list[dict]) -> Printer:
    defs = [NAME]
    for c in columns:
        if c is _AGE_COLUMN:
            defs.append({**AGE, "type": "date"})
            continue
        defs.append(col(c["name"], c.get("description") or
                        f"Custom resource definition column (in JSONPath format): {c['jsonPath']}",
                        c.get("type", "string"), int(c.get("priority") or 0), c.get("format") or ""))

    def cells(obj: dict, now: float) -> list:
        row: list = [(obj.get("metadata") or {}).get("name", "")]
        for c in columns:
            try:
                found = find(obj, c["jsonPath"])
            except ValueError:
                found = []
            row.append(_cell(c.get("type", "string"), found[0], now) if found else None)
        return row

    return Printer(tuple(defs), cells)
