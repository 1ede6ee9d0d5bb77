"""Quoting text from manifests for messages, the way Go's %q does."""

from __future__ import annotations

from ..plan.downward import quote

MAX_SHOWN = 256  # keep messages readable when a hostile manifest holds a megabyte-long value


def go_quote(s: str) -> str:
    """Go's %q: printable characters kept, the rest escaped (a long value cut short)."""
    if len(s) > MAX_SHOWN:
        s = s[:MAX_SHOWN] + "...(truncated)"
    return quote(s)


def safe_text(s: str) -> str:
    """Text from a manifest made safe to print inside our own messages (no control characters)."""
    return go_quote(s)[1:-1]
