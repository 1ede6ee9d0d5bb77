"""Field errors worded like the Kubernetes API server (apimachinery `field.Error`).

A `FieldErrors` collects `"<path>: <body>"` strings for one object. Its typed getters read
untrusted YAML values: a value of the wrong type is recorded as an error and read as missing,
so the validators never crash on malformed input.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Callable

from .load import Doc, Problem
from .text import MAX_SHOWN, go_quote, safe_text


def go_value(v: Any) -> str:
    """How the API server prints a bad value: strings %q, numbers and bools plain."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return go_quote(v)
    return go_quote(_short(v))


def go_string_map(m: dict | None) -> str:
    """Go's %#v of a map[string]string (keys sorted, as fmt does)."""
    if m is None:
        return "map[string]string(nil)"
    items = ", ".join(f"{go_quote(k)}:{go_quote(m[k])}" for k in sorted(m))
    return "map[string]string{" + items + "}"


def _short(v: Any) -> str:
    if isinstance(v, dict):
        return "{...}" if v else "{}"
    if isinstance(v, list):
        return "[...]" if v else "[]"
    return str(v)[:MAX_SHOWN]


_B64 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def base64_error(s: str) -> str | None:
    """Go's encoding/base64 complaint, if any (Go skips newlines too)."""
    text = s.replace("\r", "").replace("\n", "")
    for i, ch in enumerate(text.rstrip("=")):
        if ch not in _B64:
            return f"illegal base64 data at input byte {i}"
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return f"illegal base64 data at input byte {len(text) // 4 * 4}"  # where the short quantum starts
    return None


def base64_bytes(s: str) -> bytes | None:
    """A []byte field's content from its JSON (base64, newlines skipped); None when not base64."""
    return None if base64_error(s) else base64.b64decode(s.replace("\r", "").replace("\n", ""))


def join_path(path: str, child: str) -> str:
    return f"{path}.{child}" if path else child


class FieldErrors:
    def __init__(self) -> None:
        self.items: list[str] = []

    # -- the apimachinery error kinds --------------------------------------------------
    def required(self, path: str, detail: str = "") -> None:
        self.items.append(f"{path}: Required value" + (f": {detail}" if detail else ""))

    def forbidden(self, path: str, detail: str) -> None:
        self.items.append(f"{path}: Forbidden: {detail}")

    def invalid(self, path: str, value: Any, detail: str, shown: str | None = None) -> None:
        self.items.append(f"{path}: Invalid value: {shown or go_value(value)}: {detail}")

    def not_supported(self, path: str, value: Any, valid: list[str]) -> None:
        quoted = ", ".join(go_quote(v) for v in valid)
        self.items.append(f"{path}: Unsupported value: {go_value(value)}: supported values: {quoted}")

    def duplicate(self, path: str, value: Any, shown: str | None = None) -> None:
        self.items.append(f"{path}: Duplicate value: {shown or go_value(value)}")

    def not_found(self, path: str, value: Any) -> None:
        self.items.append(f"{path}: Not found: {go_value(value)}")

    def too_long(self, path: str, limit: int) -> None:
        self.items.append(f"{path}: Too long: may not be more than {limit} bytes")  # field.TooLong, v1.35

    def too_many(self, path: str, count: int, limit: int) -> None:
        self.items.append(f"{path}: Too many: {count}: must have at most {limit} items")

    def invalid_each(self, path: str, value: Any, messages: list[str]) -> None:
        for msg in messages:
            self.invalid(path, value, msg)

    # -- typed getters: a wrong type is an error and reads as missing -------------------
    def get_map(self, obj: dict, key: str, path: str) -> dict:
        v = obj.get(key)
        if v is None:
            return {}
        if not isinstance(v, dict):
            self.invalid(join_path(path, key), v, "must be an object")
            return {}
        return v

    def get_list(self, obj: dict, key: str, path: str) -> list:
        v = obj.get(key)
        if v is None:
            return []
        if not isinstance(v, list):
            self.invalid(join_path(path, key), v, "must be a list")
            return []
        return v

    def get_str(self, obj: dict, key: str, path: str) -> str:
        v = obj.get(key)
        if v is None:
            return ""
        if not isinstance(v, str):
            self.invalid(join_path(path, key), v, "must be a string")
            return ""
        return v

    def get_int(self, obj: dict, key: str, path: str) -> int | None:
        v = obj.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int):
            self.invalid(join_path(path, key), v, "must be an integer")
            return None
        return v

    def get_bool(self, obj: dict, key: str, path: str) -> bool:
        v = obj.get(key)
        if v is None:
            return False
        if not isinstance(v, bool):
            self.invalid(join_path(path, key), v, "must be a boolean")
            return False
        return v

    def get_int_or_str(self, obj: dict, key: str, path: str) -> int | str | None:
        v = obj.get(key)
        if v is None or isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)):
            return v
        self.invalid(join_path(path, key), v, "must be an integer or a string")
        return None

    def get_name(self, obj: dict, path: str, check: Callable[[str], list[str]]) -> str:
        """obj.name: required, and each of `check`'s complaints about it an Invalid value."""
        name = self.get_str(obj, "name", path)
        if not name:
            self.required(f"{path}.name")
        else:
            self.invalid_each(f"{path}.name", name, check(name))
        return name

    def get_str_map(self, obj: dict, key: str, path: str) -> dict[str, str]:
        """A map[string]string such as labels: non-string values are errors and dropped."""
        m = self.get_map(obj, key, path)
        out = {}
        for k, v in m.items():
            if v is None:
                v = ""
            if not isinstance(v, str):
                self.invalid(key_path(join_path(path, key), k), v, "must be a string")
                continue
            out[k] = v
        return out

    def maps_in(self, items: list, path: str) -> list[tuple[int, dict]]:
        """The entries of a list that are objects, with their index; others are errors."""
        return self._typed_in(items, path, dict, "an object")

    def strings_in(self, items: list, path: str) -> list[tuple[int, str]]:
        return self._typed_in(items, path, str, "a string")

    def _typed_in(self, items: list, path: str, type_: type, what: str) -> list:
        out = []
        for i, item in enumerate(items):
            if isinstance(item, type_):
                out.append((i, item))
            else:
                self.invalid(f"{path}[{i}]", item, f"must be {what}")
        return out


def key_path(path: str, key: str) -> str:
    return f"{path}[{safe_text(key)}]"


def object_label(obj: dict) -> tuple[str, str]:
    """(kind, name) of an object, printable even when the manifest holds junk there."""
    kind = obj.get("kind")
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return (safe_text(kind) if isinstance(kind, str) and kind else "object",
            name if isinstance(name, str) else "")


def to_problems(doc: Doc, errs: FieldErrors) -> list[Problem]:
    """One Problem per field error, prefixed the way the API server words it."""
    kind, name = object_label(doc.obj)
    prefix = f"The {kind} {go_quote(name)} is invalid: "
    return [Problem(doc.source, doc.index, prefix + item) for item in errs.items]

