"""Quoting text from manifests for messages, the way Go's %q does."""

from __future__ import annotations

MAX_SHOWN = 256  # keep messages readable when a hostile manifest holds a megabyte-long value

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f",
            "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_quote(s: str) -> str:
    """Go's %q: printable characters kept, the rest escaped."""
    if len(s) > MAX_SHOWN:
        s = s[:MAX_SHOWN] + "...(truncated)"
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def safe_text(s: str) -> str:
    """Text from a manifest made safe to print inside our own messages (no control characters)."""
    return go_quote(s)[1:-1]
