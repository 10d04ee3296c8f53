"""The publication date a report's link carries in its path (``/2022/08/19/``,
``/20120406-…``, ``…-2023-10-01-…``), for story grouping when the feed gives no date.

Many news sites put the day of publication in their URLs. When a feed gives no date and a
backlog arrives at once (a first poll, a restart after an outage, a republished archive),
that day is what tells last year's raid from today's (docs/dedup.md, "Dates in links").

Precision first: a wrong date would put a report in the wrong year, so a date is read only
where its shape says it is one, and every doubt gives None:

- only the path is read, never the query string (``utm_term=2022-12-09``) or the host;
- year, month and day must all be there: ``/2022/03/slug`` (a month) is not a date to
  group by (a month is 30 days wide, the model's gap is counted in hours);
- the shapes read: segments ``/YYYY/MM/DD/`` (month as digits or an English month name,
  ``/2012/apr/06/``), ``YYYY-MM-DD`` between non-digits anywhere in the path, ``YYYYMMDD``
  standing alone between separators (a segment, or ``-20160625-`` in a slug: not inside a
  longer number or word, as IDs are), ``DD-Mon-YYYY`` (``/17-Feb-2025/``);
- the date must exist (no 31 April), lie on or after ``LINK_DATE_FLOOR`` and not after the
  report's arrival plus ``FUTURE_SLACK`` (time zones: a site east of UTC dates its URL a day
  ahead);
- a path that carries two different dates gives none.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import unquote, urlsplit

__all__ = [
    "FUTURE_SLACK",
    "LINK_DATE_FLOOR",
    "link_date",
    "link_event_time",
]

# No news URL of interest predates the web's news sites; an earlier "date" is an ID.
LINK_DATE_FLOOR = date(1995, 1, 1)
# A date up to this after the arrival is accepted (a site in UTC+14 dates its URLs ahead).
FUTURE_SLACK = timedelta(days=1)
# Longer paths are read up to this many characters (a URL is a few hundred at most).
MAX_PATH = 2048

_MONTHS = {
    name: n
    for n, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_YEAR = re.compile(r"(?:19|20)\d\d")
_SMALL = re.compile(r"\d{1,2}")
_DASHED = re.compile(r"(?<!\d)((?:19|20)\d\d)-(\d\d)-(\d\d)(?!\d)")
# YYYYMMDD standing alone: no letter or digit on either side (a segment, or between - _ .)
_COMPACT = re.compile(r"(?<![0-9A-Za-z])((?:19|20)\d\d)(\d\d)(\d\d)(?![0-9A-Za-z])")
_DAY_MONTH_YEAR = re.compile(
    r"(?<![0-9A-Za-z])(\d{1,2})-([A-Za-z]{3,9})-((?:19|20)\d\d)(?![0-9A-Za-z])"
)


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month(text: str) -> int | None:
    if _SMALL.fullmatch(text):
        return int(text)
    return _MONTHS.get(text.lower())


def _candidates(path: str) -> set[date]:
    """Every date of a readable shape in the path (possibly impossible ones left out)."""
    found: set[date] = set()
    segments = path.split("/")
    for i in range(len(segments) - 2):
        year, month, day = segments[i : i + 3]
        if _YEAR.fullmatch(year) and _SMALL.fullmatch(day):
            m = _month(month)
            if m is not None and (d := _valid(int(year), m, int(day))) is not None:
                found.add(d)
    for y, m, d in _DASHED.findall(path):
        if (got := _valid(int(y), int(m), int(d))) is not None:
            found.add(got)
    for y, m, d in _COMPACT.findall(path):
        if (got := _valid(int(y), int(m), int(d))) is not None:
            found.add(got)
    for d, name, y in _DAY_MONTH_YEAR.findall(path):
        number = _MONTHS.get(name.lower())
        if number is not None and (got := _valid(int(y), number, int(d))) is not None:
            found.add(got)
    return found


def link_date(url: str, arrived: datetime | None = None) -> date | None:
    """The publication day a URL's path states, or None when it states none, states a
    partial or impossible one, two different ones, one before ``LINK_DATE_FLOOR``, or one
    after ``arrived`` (the report's arrival, when known) plus ``FUTURE_SLACK``."""
    if not url:
        return None
    try:
        path = urlsplit(url[: MAX_PATH * 2]).path
    except ValueError:  # e.g. an unclosed IPv6 host: no path to trust
        return None
    path = unquote(path[:MAX_PATH])
    found = _candidates(path)
    if len(found) != 1:
        return None
    (day,) = found
    if day < LINK_DATE_FLOOR:
        return None
    if arrived is not None and day > (arrived + FUTURE_SLACK).date():
        return None
    return day


def link_event_time(url: str, arrived: datetime) -> datetime | None:
    """When a report happened for story grouping, from its link's date (``link_date``): noon
    UTC of that day (the day is known, not the hour: noon is at most 12 h off in UTC), never
    later than its arrival; None when the link carries no date."""
    if arrived.tzinfo is None:  # a naive time is read as UTC, as the bot stores them
        arrived = arrived.replace(tzinfo=UTC)
    day = link_date(url, arrived)
    if day is None:
        return None
    return min(datetime.combine(day, time(12), tzinfo=UTC), arrived)
