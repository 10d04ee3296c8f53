"""Reply rendering: valid HTML pages of at most 4096 UTF-16 units, stats changes, feed health."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.feed_state import FeedStatus
from bot.core.formatting import alert_time
from bot.core.incidents import EventType
from bot.core.records import AlertRecord, EventTypeCounts
from bot.core.reports import (
    AlertLine,
    FeedHealth,
    Health,
    alert_block,
    alerts_csv,
    bin_counts,
    change,
    classify,
    describe_retry,
    feeds_text,
    fill_days,
    paginate,
    relative,
    render_alert_list,
    render_feeds,
    render_stats,
    trend_bins,
)
from tests.fakes.telegram_api import parse_telegram_html, utf16_len

NOW = datetime(2026, 4, 25, 12, 0, tzinfo=UTC)


def line(n: int, title: str = "JNIM attack near <Bamako> & Kati") -> AlertLine:
    return AlertLine(n, title, f"https://x.example/{n}?a=1&b=2", "RFI", NOW, None, ("JNIM",), n)


@given(
    st.lists(st.text(min_size=0, max_size=300), min_size=0, max_size=60),
    st.sampled_from([200, 1000, 4096]),
)
@settings(max_examples=150, deadline=None)
def test_pages_are_valid_html_within_the_limit_and_lose_no_alert(
    titles: list[str], limit: int
) -> None:
    lines = [line(i, t) for i, t in enumerate(titles)]
    pages = paginate((alert_block(x) for x in lines), header="<b>H</b>", limit=limit)
    for page in pages:
        parse_telegram_html(page)  # raises on invalid Telegram HTML
        assert utf16_len(page) <= limit
    if limit == 4096:
        assert sum(p.count("• ") for p in pages) >= len(lines)


def test_a_block_longer_than_a_message_is_cut_to_plain_text() -> None:
    huge = line(1, "𝕏" * 5000)  # astral characters count twice in UTF-16
    pages = paginate([alert_block(huge)])
    assert len(pages) == 1 and utf16_len(pages[0]) <= 4096
    parse_telegram_html(pages[0])


def test_alert_list_escapes_and_links() -> None:
    pages = render_alert_list([line(1)], "<b>Latest</b>", "none")
    assert "&lt;Bamako&gt; &amp; Kati" in pages[0]
    assert 'href="https://x.example/1?a=1&amp;b=2"' in pages[0]
    assert render_alert_list([], "h", "No alerts.") == ["No alerts."]


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [(5, 5, "="), (3, 0, "new"), (6, 4, "+2, +50%"), (1, 4, "−3, −75%"), (0, 2, "−2, −100%")],
)
def test_change(now: int, before: int, expected: str) -> None:
    assert change(now, before) == expected


def test_stats_lists_entities_and_sources_with_changes() -> None:
    pages = render_stats("7d", (9, 6), ({"JNIM": 5, "Mali": 4}, {"JNIM": 2}), ({"RFI": 9}, {}))
    text = parse_telegram_html(pages[0])
    assert "Total: 9 (+3, +50%)" in text
    assert "JNIM: 5 (+3, +150%)" in text and "Mali: 4 (new)" in text and "RFI: 9 (new)" in text
    assert "No alerts" in render_stats("7d", (0, 0), ({}, {}), ({}, {}))[0]


def test_stats_by_event_type_names_types_as_stored() -> None:
    now = EventTypeCounts({EventType.BATTLES: 3}, {"looting": 1}, not_incident=5)
    before = EventTypeCounts({EventType.BATTLES: 1, EventType.PROTESTS: 2})
    pages = render_stats("7d", (9, 3), ({}, {}), ({}, {}), event_types=(now, before))
    text = parse_telegram_html(pages[0])
    block = text.split("By event type (stories)\n", 1)[1].split("\n\nBy source", 1)[0]
    assert block.splitlines() == [
        "none: 5 (new)",
        "battles: 3 (+2, +200%)",
        "looting: 1 (new)",
        "protests: 0 (−2, −100%)",
    ]


def test_fill_days_fills_gaps() -> None:
    days = fill_days({"2026-04-02": 3}, date(2026, 4, 1), date(2026, 4, 3))
    assert days == [(date(2026, 4, 1), 0), (date(2026, 4, 2), 3), (date(2026, 4, 3), 0)]


def feed(**kw: Any) -> FeedHealth:
    base = dict(url="https://f.example/rss", title=None, status=FeedStatus.ACTIVE,
                last_success=NOW - timedelta(hours=1), last_error=None, last_error_at=None,
                next_fetch=NOW + timedelta(minutes=5), failures=0)  # fmt: skip
    base.update(kw)
    return FeedHealth(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "state"),
    [
        ({}, Health.HEALTHY),
        ({"failures": 2, "last_error": "HTTP 500"}, Health.FAILING),
        ({"last_success": NOW - timedelta(days=2)}, Health.STALE),
        ({"last_success": None}, Health.NEW),
        ({"status": FeedStatus.PAUSED, "failures": 10}, Health.PAUSED),
        ({"status": FeedStatus.GONE}, Health.GONE),
        ({"status": FeedStatus.REMOVED, "failures": 3}, Health.REMOVED),
    ],
)
def test_classify(kw: dict[str, Any], state: Health) -> None:
    assert classify(feed(**kw), NOW, timedelta(hours=24)) is state


def test_feeds_detail_problems_and_summarise_healthy() -> None:
    feeds = [feed(url=f"https://ok{i}.example/rss") for i in range(30)]
    feeds.append(feed(url="https://bad.example/rss", failures=3, last_error="HTTP 503 <html>"))
    text = "\n".join(render_feeds(feeds, NOW))
    assert "30 healthy" in text and "ok1.example" not in text
    assert "https://bad.example/rss" in text and "HTTP 503 &lt;html&gt;" in text
    assert "next try: 2026-04-25 12:05 UTC (in 5 min)" in text


def test_feeds_group_failures_by_kind() -> None:
    def failing(host: str, kind: str, error: str, status: int | None = None) -> FeedHealth:
        return feed(url=f"https://{host}/rss", failures=2, last_error=error, error_kind=kind,
                    last_status=status, last_error_at=NOW)  # fmt: skip

    dns = "DNS failure: [Errno -2] Name or service not known"
    feeds = [
        failing("a.example", "http_status", "HTTP 503 Service Unavailable", 503),
        failing("b.example", "dns", dns),
        failing("c.example", "not_a_feed", "not a feed: the server sent an HTML page", 200),
        failing("d.example", "dns", dns),
        feed(url="https://ok.example/rss"),
    ]
    text = parse_telegram_html("\n".join(render_feeds(feeds, NOW)))
    assert "Failing by kind: 2 DNS lookup failed, 1 HTTP 503, 1 not a feed" in text
    order = [line.split()[1] for line in text.splitlines() if line.startswith("⚠️")]
    assert order == ["https://b.example/rss", "https://d.example/rss", "https://a.example/rss",
                     "https://c.example/rss"]  # fmt: skip
    assert "last error (DNS lookup failed): DNS failure" in text
    line = feeds_text(feeds, NOW, timedelta(hours=24)).splitlines()[0]
    assert "error (HTTP 503): HTTP 503 Service Unavailable" in line


def test_relative_times() -> None:
    assert relative(NOW - timedelta(hours=5), NOW) == "5h ago"
    assert relative(NOW + timedelta(minutes=12), NOW) == "in 12 min"
    assert relative(None, NOW) == "never"
    # "/mute Mali 2h" answered "(in 1h)": a few ms had passed since the mute's end was set.
    assert relative(NOW + timedelta(hours=2) - timedelta(milliseconds=3), NOW) == "in 2h"


def test_a_feed_never_fetched_says_never_once() -> None:
    text = "\n".join(render_feeds([feed(url="https://new.example/rss", last_success=None)], NOW))
    assert "last success: never" in text and "never (never)" not in text


def test_retry_of_an_active_feed_does_not_say_active_again() -> None:
    text = describe_retry("https://ok.example/rss", FeedStatus.ACTIVE)
    assert "already active" in text and "active again" not in text
    assert "active again" in describe_retry("https://x.example/rss", FeedStatus.PAUSED)


def test_alert_time_is_publication_then_arrival() -> None:
    early, late = NOW - timedelta(hours=2), NOW
    assert alert_time(early, late) == early
    assert alert_time(None, late) == late
    assert alert_time(late + timedelta(days=1), late) == late  # a feed clock in the future


@pytest.mark.parametrize(
    ("period", "unit", "bins"),
    [
        (timedelta(hours=2), "hour", 3),  # 10:05-12:05: the 10h, 11h and 12h bins
        (timedelta(days=2), "hour", 49),
        (timedelta(days=3), "day", 4),
        (timedelta(days=30), "day", 31),
        (timedelta(days=90), "day", 91),
        (timedelta(days=180), "week", 26),  # Mondays 2025-10-27 to 2026-04-20
    ],
)
def test_trend_bins_follow_the_period(period: timedelta, unit: str, bins: int) -> None:
    now = datetime(2026, 4, 25, 12, 5, tzinfo=UTC)
    cut = trend_bins(period, now)
    assert cut.unit == unit and len(cut.starts) == bins
    assert cut.starts[0] <= now - period < cut.starts[1]
    assert cut.starts[-1] <= now
    assert unit in cut.axis_label and "UTC" in cut.axis_label


def test_bin_counts_count_only_the_period() -> None:
    now = datetime(2026, 4, 25, 12, 5, tzinfo=UTC)
    cut = trend_bins(timedelta(hours=2), now)
    times = [now - timedelta(minutes=m) for m in (1, 30, 70, 119, 121, 500)]
    counts = bin_counts(cut, times)
    assert [n for _, n in counts] == [2, 1, 1]  # 121 and 500 minutes ago are outside


def test_csv_flattens_lists() -> None:
    rows = [
        AlertRecord(
            id=1, item_key="k", story_id=None, feed_url=None, source="Wire",
            title='A "quoted", title', link=None, summary="", published_at=None,
            created_at=None, entities=("JNIM", "Mali"),
        )
    ]  # fmt: skip
    out = alerts_csv(rows).splitlines()
    assert out[0].startswith("id,created_at")
    assert '"A ""quoted"", title"' in out[1] and "JNIM; Mali" in out[1]
