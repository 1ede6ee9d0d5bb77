"""Cron schedules as the CronJob controller reads them (robfig/cron's standard parser, which
Kubernetes uses): five fields, `*`, `?`, ranges, lists, steps (`*/5`, `1-30/2`), month and
weekday names, and the @yearly/@monthly/@weekly/@daily/@hourly shorthands. Pure.

Day of month and day of week combine as in cron: when either field is `*` (or `?`) both must
match, else either may (robfig's star bit; `*/2` is not a star)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

_MONTHS = {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}
_DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
# (low, high, names) per field: minute, hour, day of month, month, day of week.
_FIELDS: tuple[tuple[int, int, dict[str, int]], ...] = ((0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS),
                                                       (0, 6, _DAYS))
_SHORTHANDS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
               "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
SEARCH_YEARS = 5  # robfig gives up looking for a next time after five years (e.g. 30 February)


class ScheduleError(ValueError):
    """An unparsable schedule; str() is robfig's wording."""


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset
    hours: frozenset
    days: frozenset
    months: frozenset
    weekdays: frozenset
    days_star: bool
    weekdays_star: bool

    def day_matches(self, t: datetime) -> bool:
        dom = t.day in self.days
        dow = (t.isoweekday() % 7) in self.weekdays
        if self.days_star or self.weekdays_star:
            return dom and dow
        return dom or dow

    def next_after(self, t: datetime) -> datetime | None:
        """The first scheduled time strictly after t (whole minutes, in t's zone); None when
        none comes within SEARCH_YEARS."""
        t = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = t.year + SEARCH_YEARS
        while t.year <= limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
                continue
            if not self.day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t += timedelta(minutes=1)
                continue
            return t
        return None


def _number(text: str, names: dict, whole: str) -> int:
    if text.lower() in names:
        return int(names[text.lower()])
    if not text.isdigit():
        raise ScheduleError(f"failed to parse int from {text}: strconv.Atoi: parsing {text!r}: invalid syntax"
                            .replace("'", '"'))
    return int(text)


def _field(expr: str, low: int, high: int, names: dict) -> tuple[frozenset, bool]:
    values: set[int] = set()
    star = False
    for part in expr.split(","):
        range_part, _, step_text = part.partition("/")
        step = 1
        if step_text:
            step = _number(step_text, {}, part)
            if step == 0:
                raise ScheduleError(f"step of range should be a positive number: {part}")
        if range_part in ("*", "?"):
            start, end = low, high
            star = star or not step_text or step == 1
        else:
            first, dash, last = range_part.partition("-")
            start = _number(first, names, part)
            end = _number(last, names, part) if dash else (high if step_text else start)
        if start < low:
            raise ScheduleError(f"beginning of range ({start}) below minimum ({low}): {part}")
        if end > high:
            raise ScheduleError(f"end of range ({end}) above maximum ({high}): {part}")
        if start > end:
            raise ScheduleError(f"beginning of range ({start}) beyond end of range ({end}): {part}")
        values.update(range(start, end + 1, step))
    return frozenset(values), star


def parse(schedule: str) -> Schedule:
    """A CronJob's spec.schedule. Raises ScheduleError."""
    text = schedule.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        text = text.split(None, 1)[1] if " " in text else ""
    text = _SHORTHANDS.get(text, text)
    if text.startswith("@"):
        raise ScheduleError(f"unrecognized descriptor: {text}")
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    parsed = [_field(f, low, high, names) for f, (low, high, names) in zip(fields, _FIELDS)]
    return Schedule(parsed[0][0], parsed[1][0], parsed[2][0], parsed[3][0], parsed[4][0], parsed[2][1], parsed[4][1])


def zone(name: str | None) -> tzinfo:
    """spec.timeZone, UTC when unset (the controller's own zone) or unknown here."""
    if not name:
        return UTC
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # noqa: BLE001 - no tz database in the image: UTC rather than no schedule
        return UTC


def most_recent(schedule: Schedule, since: datetime, now: datetime) -> tuple[datetime | None, int]:
    """(the latest scheduled time in (since, now], how many there were, at most 101) — the
    CronJob controller's mostRecentScheduleTime: only the latest missed run is started."""
    latest, count = None, 0
    t = schedule.next_after(since)
    while t is not None and t <= now:
        latest, count = t, count + 1
        if count > 100:
            break
        t = schedule.next_after(t)
    if count > 100:  # too many missed: the latest one in the shortest window before now that has one
        for window in (timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=366 * SEARCH_YEARS)):
            t = schedule.next_after(now - window)
            if t is not None and t <= now:
                while t is not None and t <= now:
                    latest, t = t, schedule.next_after(t)
                break
    return latest, count
