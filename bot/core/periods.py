"""Parse command arguments for counts, periods and clock times: ``20``, ``6h``, ``22:00-07:00``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta

from bot.core.errors import PeriodError

# The one table of time words (docs/commands.md, "Time words"): minutes, hours, days, weeks,
# months of 30 days. "m" is a minute everywhere, as in 30m; a month is "mo".
UNITS = {
    "m": 60,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "mo": 30 * 86400,
}
MAX_DURATION = timedelta(days=3660)  # ten years: anything longer is a typo
MAX_COUNT = 500
_DURATION = re.compile(r"^\s*(\d{1,6})\s*(min|mo|m|h|d|w)\s*$", re.IGNORECASE)
_CLOCK = re.compile(r"^\s*([01]?\d|2[0-3])[:h.]([0-5]\d)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Span:
    """What ``/recent`` asked for: the last ``count`` alerts, or those of the last ``period``."""

    count: int | None = None
    period: timedelta | None = None


def parse_duration(text: str) -> timedelta:
    """``30m``, ``6h``, ``3d``, ``2w`` as a timedelta; raises PeriodError with a clear message."""
    match = _DURATION.match(text or "")
    if not match:
        raise PeriodError(
            f"{_shown(text)} is not a period: use a number and a unit: 30m (minutes), 6h,"
            " 3d, 2w or 1mo (months)."
        )
    value = int(match.group(1))
    if value <= 0:
        raise PeriodError("A period must be longer than zero.")
    duration = timedelta(seconds=value * UNITS[match.group(2).lower()])
    if duration > MAX_DURATION:
        raise PeriodError("That period is too long (at most 3660d).")
    return duration


def is_duration(text: str) -> bool:
    return bool(_DURATION.match(text or ""))


def parse_span(text: str | None, default_count: int = 10) -> Span:
    """``/recent`` argument: empty (the default count), ``N`` (a count) or a period."""
    if text is None or not text.strip():
        return Span(count=default_count)
    stripped = text.strip()
    if stripped.isdecimal():
        count = int(stripped)
        if not 1 <= count <= MAX_COUNT:
            raise PeriodError(f"Ask for between 1 and {MAX_COUNT} alerts.")
        return Span(count=count)
    return Span(period=parse_duration(stripped))


def parse_period(text: str | None, default: timedelta) -> timedelta:
    """An optional period argument (``7d``); ``default`` when empty."""
    if text is None or not text.strip():
        return default
    return parse_duration(text)


def parse_clock(text: str) -> time:
    """``07:30`` (also ``7h30``) as a time of day."""
    match = _CLOCK.match(text or "")
    if not match:
        raise PeriodError(f"{_shown(text)} is not a time of day: use HH:MM, like 07:30.")
    return time(int(match.group(1)), int(match.group(2)))


def parse_clock_range(text: str) -> tuple[time, time]:
    """``22:00-07:00`` as (start, end); the range may cross midnight, but not be empty."""
    parts = (text or "").split("-")
    if len(parts) != 2:
        raise PeriodError(f"{_shown(text)} is not a time range: use HH:MM-HH:MM, like 22:00-07:00.")
    start, end = parse_clock(parts[0]), parse_clock(parts[1])
    if start == end:
        raise PeriodError("The start and the end of quiet hours must differ.")
    return start, end


def minutes_hint(text: str | None) -> str:
    """For a period written in minutes (``1m``): a reminder that a month is ``mo``."""
    match = _DURATION.match(text or "")
    if match and match.group(2).lower() in ("m", "min"):
        return (
            f" ({match.group(1)}{match.group(2)} is minutes: for months write {match.group(1)}mo.)"
        )
    return ""


def describe_duration(duration: timedelta) -> str:
    """A short label: ``7d``, ``6h``, ``90m``, ``1d 6h`` (a month is shown as ``30d``)."""
    seconds = int(duration.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    if seconds >= 86400:
        return f"{seconds // 86400}d {seconds % 86400 // 3600}h"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def _shown(text: str | None) -> str:
    shown = (text or "").strip()
    if len(shown) > 40:
        shown = shown[:40] + "…"
    return f"“{shown}”" if shown else "An empty value"
