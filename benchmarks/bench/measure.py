"""Rows of the benchmark table: samples, the baseline they are compared with, the goal.

Every figure is the median of its samples; a row with a baseline shows both side by side,
measured in the same run (interleaved), and the ratio (or the difference, for added latency).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Goal:
    text: str  # as printed in the goal column
    check: Callable[[float, float | None], bool]
    compare: str = "ratio"  # how the ratio column reads: "ratio" (x) or "diff" (+unit)


def at_most_x(limit: float) -> Goal:
    return Goal(f"<= {limit:g}x", lambda v, b: b is not None and v <= limit * b)


def at_least_x(limit: float) -> Goal:
    return Goal(f">= {limit:g}x", lambda v, b: b is not None and v >= limit * b)


def added_below(limit: float, unit: str) -> Goal:
    return Goal(f"+ < {limit:g} {unit}", lambda v, b: b is not None and v - b < limit, "diff")


def below(limit: float, unit: str) -> Goal:
    return Goal(f"< {limit:g} {unit}", lambda v, b: v < limit)


def at_most(limit: float, unit: str) -> Goal:
    return Goal(f"<= {limit:g} {unit}", lambda v, b: v <= limit)


ZERO = Goal("0", lambda v, b: v == 0)


@dataclass
class Row:
    section: str  # "1", "2", ... as in the brief
    measure: str
    unit: str  # "s", "ms", "req/s", "MB", "errors", "q/s"
    samples: list[float] = field(default_factory=list)
    baseline: str = ""  # what the baseline is ("docker run", "direct to pod IP")
    base_samples: list[float] = field(default_factory=list)
    goal: Goal | None = None
    note: str = ""
    error: str = ""  # the measurement failed: why

    @property
    def value(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def base(self) -> float | None:
        return statistics.median(self.base_samples) if self.base_samples else None

    def comparison(self) -> str:
        v, b = self.value, self.base
        if v is None or b is None:
            return ""
        if self.goal is not None and self.goal.compare == "diff":
            return f"{v - b:+.{_digits(v - b)}f} {self.unit}"
        return f"{v / b:.2f}x" if b else ""

    def verdict(self) -> str:
        if self.error:
            return "ERROR"
        if self.goal is None or self.value is None:
            return ""
        return "ok" if self.goal.check(self.value, self.base) else "MISS"


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "errors":  # counts: whole numbers unless a median falls between two
        return f"{value:g} {unit}"
    return f"{value:.{_digits(value)}f} {unit}"


def _digits(value: float) -> int:
    a = abs(value)
    return 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 0.1 else 3


class Stopwatch:
    """`with Stopwatch() as sw: ...` then sw.seconds."""

    def __enter__(self) -> Stopwatch:
        self.t0 = time.monotonic()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.monotonic() - self.t0


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05, what: str = "") -> float:
    """Poll until predicate() is true; returns the seconds it took. Raises TimeoutError."""
    t0 = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"not within {timeout:.0f}s: {what}")
        time.sleep(interval)
