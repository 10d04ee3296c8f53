"""The publication date a report's link carries (bot.core.link_dates): the shapes read, the
doubts that give none, and a property: any string, never a crash, never an impossible or
out-of-bounds date."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.link_dates import FUTURE_SLACK, LINK_DATE_FLOOR, link_date, link_event_time
from bot.cycle.story_grouping import report_date

ARRIVED = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)

# (case, url, the date it carries or None)
CASES = [
    # the shapes read (real links of ../shared/eval/sahel-news-dev.jsonl and their like)
    (
        "segments",
        "https://fr.africanews.com/2025/05/26/mali-au-moins-41-soldats",
        date(2025, 5, 26),
    ),
    (
        "segments, one-digit month",
        "https://www.aljazeera.com/news/2023/8/21/wagner-boss",
        date(2023, 8, 21),
    ),
    (
        "segments, month name",
        "https://www.theguardian.com/world/2012/apr/06/mali-tuareg",
        date(2012, 4, 6),
    ),
    (
        "segments before amp",
        "https://japap.info/blog/2025/03/18/aes-quitte/amp/?noamp=mobile",
        date(2025, 3, 18),
    ),
    (
        "compact segment",
        "https://fr.sputniknews.africa/20230805/mali-la-minusma-1061077239.html",
        date(2023, 8, 5),
    ),
    (
        "compact at a slug's head",
        "http://www.france24.com/en/20120406-france-24-exclusive",
        date(2012, 4, 6),
    ),
    (
        "compact inside a slug",
        "https://www.latimes.com/world/la-fg-somalia-hotel-attack-20160625-snap-story.html",
        date(2016, 6, 25),
    ),
    (
        "dashed segment",
        "https://www.rtl.be/actu/monde/mali-la-rebellion/2023-10-01/article/593472",
        date(2023, 10, 1),
    ),
    (
        "dashed with a time after it",
        "https://wetani.info/index.php/k8u/5447-2024-01-31-20-05-36",
        date(2024, 1, 31),
    ),
    (
        "dashed then an id",
        "http://www.emaratalyoum.com/life/four-sides/2010-03-06-1.64475",
        date(2010, 3, 6),
    ),
    (
        "day-month-year",
        "https://www.nation.com.pk/17-Feb-2025/mali-gold-mine-accident",
        date(2025, 2, 17),
    ),
    ("the same date twice", "https://example.org/2024/07/04/niamey-2024-07-04", date(2024, 7, 4)),
    ("percent-encoded path", "https://example.org/2023%2F03%2F21/slug", date(2023, 3, 21)),
    ("the day of arrival", "https://example.org/2026/11/28/today", date(2026, 11, 28)),
    (
        "a day ahead (time zones)",
        "https://example.org/2026/11/29/tomorrow-in-fiji",
        date(2026, 11, 29),
    ),
    # partial dates: a month is not a day
    (
        "year and month only",
        "https://lanouvelletribune.info/2022/03/le-mali-suspend-france24",
        None,
    ),
    ("year and month, then an id", "https://banglapost.co.uk/2020/10/18971/", None),
    ("year, then a day-ish slug", "https://africa.actucarte.com/2025/29-mai-attaque-mali", None),
    ("year only", "https://www.samaa.tv/sports/2020/shoaib-malik", None),
    ("year and day of a slug", "https://example.org/2019/10/3-killed-in-an-attack", None),
    # impossible or out of bounds
    ("31 April", "https://example.org/2023/04/31/slug", None),
    ("month 13", "https://example.org/2023/13/01/slug", None),
    ("29 February of a common year", "https://example.org/20230229-slug", None),
    ("29 February of a leap year", "https://example.org/20240229-slug", date(2024, 2, 29)),
    ("before 1995", "https://example.org/1994/12/31/slug", None),
    ("two days ahead", "https://example.org/2026/11/30/future", None),
    ("next year", "https://example.org/2027/01/05/future", None),
    # ids and other numbers
    (
        "twelve digits (an id, even if it starts like a date)",
        "https://allafrica.com/stories/202502170627.html",
        None,
    ),
    ("eight digits inside a longer word", "https://example.org/news/a20230805b", None),
    ("eight digits glued to letters", "https://example.org/id20230805", None),
    ("unix time", "https://al-ain.com/article/1706447760", None),
    ("a numeric id", "https://dostor.org/3685861", None),
    ("an id that is no date", "https://example.org/article/20231345", None),
    # the query string and the host are not read
    ("date in the query only", "https://www.france24.com/en/africa/x?utm_term=2022-12-09", None),
    (
        "date in a blog search query",
        "http://issikta.blogspot.com/search?updated-max=2012-04-16T02%3A09%3A00",
        None,
    ),
    (
        "path date wins over a query date",
        "https://www.france24.com/en/africa/20220127-denmark?utm_term=2022-12-09",
        date(2022, 1, 27),
    ),
    ("date-like host", "https://20230805.example.org/slug", None),
    # two different dates: none
    ("two dates", "https://example.org/2023/03/20/revisited-2021-05-24", None),
    ("segments and compact disagree", "https://example.org/2023/03/20/20230321-slug", None),
    # nothing
    ("empty", "", None),
    ("not a url", "just some words", None),
    ("unclosed ipv6 host", "http://[::1/2023/03/20/x", None),
]


@pytest.mark.parametrize(("url", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_link_date(url: str, expected: date | None) -> None:
    assert link_date(url, ARRIVED) == expected


def test_without_an_arrival_only_the_floor_bounds_it() -> None:
    assert link_date("https://example.org/2031/01/02/x") == date(2031, 1, 2)
    assert link_date("https://example.org/1990/01/02/x") is None


def test_event_time_is_noon_utc_never_after_the_arrival() -> None:
    url = "https://example.org/2022/08/19/mogadishu-hotel"
    assert link_event_time(url, ARRIVED) == datetime(2022, 8, 19, 12, tzinfo=UTC)
    early = datetime(2022, 8, 19, 7, 30, tzinfo=UTC)
    assert link_event_time(url, early) == early
    assert link_event_time("https://example.org/no-date", ARRIVED) is None
    naive = datetime(2022, 8, 20)  # read as UTC
    assert link_event_time(url, naive) == datetime(2022, 8, 19, 12, tzinfo=UTC)


URLISH = st.one_of(
    st.text(max_size=300),
    st.builds(
        lambda host, parts, query: f"https://{host}/{'/'.join(parts)}{query}",
        st.text(min_size=1, max_size=20),
        st.lists(
            st.one_of(
                st.text(max_size=12),
                st.integers(0, 99_999_999).map(str),
                st.from_regex(r"(19|20)\d\d-\d\d-\d\d", fullmatch=True),
                st.from_regex(r"\d{1,2}-[A-Za-z]{3}-\d{4}", fullmatch=True),
            ),
            max_size=6,
        ),
        st.text(max_size=20),
    ),
)


@given(URLISH, st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)))
def test_any_string_gives_none_or_a_date_within_bounds(url: str, arrived: datetime) -> None:
    arrived = arrived.replace(tzinfo=UTC)
    day = link_date(url, arrived)
    if day is not None:
        assert isinstance(day, date)
        assert LINK_DATE_FLOOR <= day <= (arrived + FUTURE_SLACK).date()
    event = link_event_time(url, arrived)
    assert (event is None) == (day is None)
    if event is not None:
        assert day is not None
        assert event == min(datetime.combine(day, time(12), tzinfo=UTC), arrived)


DATED_LINK = "https://example.org/2022/08/19/mogadishu-hotel"
# (case, feed date, stored bound, link, link dates on, event time, dated)
REPORT_DATES = [
    ("the feed's date wins", ARRIVED - timedelta(hours=3), None, DATED_LINK, True,
     ARRIVED - timedelta(hours=3), True),
    ("the arrival bound wins", None, ARRIVED - timedelta(hours=1), DATED_LINK, True,
     ARRIVED, True),
    ("no feed date, no bound: the link's day", None, None, DATED_LINK, True,
     datetime(2022, 8, 19, 12, tzinfo=UTC), True),
    ("a bound after an outage is none: the link's day", None, ARRIVED - timedelta(days=2),
     DATED_LINK, True, datetime(2022, 8, 19, 12, tzinfo=UTC), True),
    ("a link without a date: undated", None, None, "https://example.org/mali-1", True,
     ARRIVED, False),
    ("no link", None, None, None, True, ARRIVED, False),
    ("link dates off", None, None, DATED_LINK, False, ARRIVED, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("published", "bound", "link", "on", "event", "dated"),
    [c[1:] for c in REPORT_DATES],
    ids=[c[0] for c in REPORT_DATES],
)
def test_report_date(
    published: datetime | None,
    bound: datetime | None,
    link: str | None,
    on: bool,
    event: datetime,
    dated: bool,
) -> None:
    assert report_date(published, bound, link, ARRIVED, on) == (event, dated)
