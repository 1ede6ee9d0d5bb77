"""Time as Kubernetes objects and the engine write it (RFC 3339), as kubectl prints it
(apimachinery's HumanDuration and ShortHumanDuration) and as Go prints a time.Duration: the one
parser, the printers' ages, and the durations in messages and metav1.Duration fields."""

from __future__ import annotations

import calendar
import re
import time

_NS = 1_000_000_000
_MINUTE, _HOUR = 60 * _NS, 3600 * _NS

_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|z|[+-]\d\d:?\d\d)?$")


def _quo(a: int, b: int) -> int:
    """Go's integer division, which truncates toward zero (Python's // floors)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def human_duration(seconds: float) -> str:
    """duration.HumanDuration: ~2-3 significant figures ("90s", "3m2s", "10m", "2d3h", "3y12d")."""
    d = round(seconds * _NS)
    secs = _quo(d, _NS)
    if secs < -1:  # up to 2 s of clock skew reads as "now"
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    minutes = d // _MINUTE
    if minutes < 10:
        s = (d // _NS) % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = d // _HOUR
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def short_human_duration(seconds: float) -> str:
    """duration.ShortHumanDuration: one unit only ("59s", "5m", "3h", "12d", "2y")."""
    d = round(seconds * _NS)
    secs = _quo(d, _NS)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60:
        return f"{secs}s"
    if d // _MINUTE < 60:
        return f"{d // _MINUTE}m"
    hours = d // _HOUR
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


def parse_time(value: object) -> float | None:
    """An RFC 3339 timestamp (metav1.Time or MicroTime) as epoch seconds; None for a missing,
    unparsable or Go zero time, which the printers all treat as unset."""
    if not isinstance(value, str):
        return None
    m = _RFC3339.match(value.strip())
    if not m:
        return None
    year, month, day, hh, mm, ss = (int(g) for g in m.groups()[:6])
    if year <= 1:  # 0001-01-01T00:00:00Z is Go's zero time.Time
        return None
    try:
        epoch = calendar.timegm((year, month, day, hh, mm, ss, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    frac, zone = m.group(7), m.group(8)
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        epoch -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return epoch + (int(frac[:9].ljust(9, "0")) / _NS if frac else 0.0)


def since(value: object, now: float) -> str:
    """translateTimestampSince: the age of a timestamp, "<unknown>" when it is not set."""
    t = parse_time(value)
    return "<unknown>" if t is None else human_duration(now - t)


def now_or(now: float | None) -> float:
    return time.time() if now is None else now


def age(since_when: float | str | None) -> str:
    """emukube's own tables' AGE ("45s", "3m", "5h", "2d"): one unit, from epoch seconds or a
    timestamp; "<unknown>" when unset."""
    if isinstance(since_when, str):
        since_when = parse_time(since_when)
    if not since_when:
        return "<unknown>"
    seconds = max(0, int(time.time() - since_when))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 3600 * 2:
        return f"{seconds // 60}m"
    if seconds < 86400 * 2:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def epoch(text: str | None) -> float:
    """A timestamp as epoch seconds, 0.0 when missing or unparsable (Docker's zero time too)."""
    return parse_time(text) or 0.0


def timestamp(seconds: float) -> str:
    """A metav1.Time as the API writes it: RFC 3339 in UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def go_duration(nanoseconds: int) -> str:
    """time.Duration.String(): 1h2m3.5s, 1.5ms, 0s (metav1.Duration fields, the kubelet's messages)."""
    if nanoseconds == 0:
        return "0s"
    sign, n = ("-", -nanoseconds) if nanoseconds < 0 else ("", nanoseconds)
    if n < _NS:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if n >= size:
                return sign + _fraction(n, size) + unit
    hours, rest = divmod(n, _HOUR)
    minutes, rest = divmod(rest, _MINUTE)
    text = _fraction(rest, _NS) + "s"
    if hours or minutes:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return sign + text


def _fraction(n: int, size: int) -> str:
    whole, frac = divmod(n, size)
    digits = str(frac).rjust(len(str(size)) - 1, "0").rstrip("0") if size > 1 else ""
    return f"{whole}.{digits}" if digits else str(whole)
