"""The status report: `main.py status` and /health show uptime, last cycle, queue, failures."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app.status import collect_status
from bot.core.errors import FeedErrorKind
from bot.core.feed_state import FeedStatus
from bot.core.models import CycleReport
from bot.core.records import CycleRecord, FailingFeed
from bot.core.status_report import StatusReport, render_html, render_text
from tests.conftest import run_main, write_feed_list
from tests.fakes.feed_server import FeedServer, rss
from tests.fakes.telegram_api import parse_telegram_html
from tests.harness import make_pipeline

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def report(**overrides: Any) -> StatusReport:
    values = dict(
        now=NOW,
        db_path="/var/lib/newswatch/newswatch.db",
        db_bytes=3 * 1024 * 1024,
        pending=2,
        feeds={FeedStatus.ACTIVE: 20, FeedStatus.PAUSED: 1},
        failing=(
            FailingFeed(
                "https://evil.example/<b>feed</b>?a=1&b=2",
                FeedStatus.PAUSED,
                12,
                "HTTP 500 <script>alert(1)</script> & more",
                None,
            ),
        ),
        last_cycle=CycleRecord(
            id=7,
            started_at=NOW - timedelta(minutes=4),
            finished_at=NOW - timedelta(minutes=4) + timedelta(seconds=3.21),
            feeds_due=21,
            fetched=18,
            not_modified=9,
            errors=1,
            items_new=5,
            alerts=2,
            duration=3.21,
        ),
        running=True,
        pid=4242,
        command="run",
        started_at=NOW - timedelta(hours=2, minutes=3),
    )
    values.update(overrides)
    return StatusReport(**values)  # type: ignore[arg-type]


def test_text_report_has_every_field() -> None:
    text = render_text(report())
    assert "service: running (pid 4242, run, up 2h 03m)" in text
    assert "(4m 00s ago): 21 feeds due, 18 fetched, 9 not modified (304), 1 errors" in text
    assert "5 new items, 2 alerts, 3.2s" in text
    assert "queue: 2 pending deliveries" in text
    assert "admin notice" not in text
    stuck = render_text(report(pending_notices=3))
    assert "queue: 2 pending deliveries, 3 admin notice(s) not delivered yet" in stuck
    assert "feeds: 20 active, 1 paused" in text
    assert "[paused, 12 failures]: HTTP 500" in text
    assert "database: 3.0 MB" in text


def test_html_report_escapes_feed_text_and_is_valid_telegram_html() -> None:
    html = render_html(report())
    plain = parse_telegram_html(html)  # raises like Telegram on bad HTML
    assert "<script>" in plain and "<b>feed</b>" in plain  # shown, not interpreted
    assert "&lt;script&gt;" in html and "&amp; more" in html


def test_long_failure_lists_are_bounded() -> None:
    many = tuple(
        FailingFeed(f"https://x{i}.example/feed", FeedStatus.ACTIVE, 1, "e" * 500, None)
        for i in range(40)
    )
    html = render_html(report(failing=many))
    assert "… and 30 more" in html
    assert len(html) < 4096


def test_failing_feeds_are_grouped_by_kind_most_common_first() -> None:
    def failing(
        host: str, kind: FeedErrorKind | None, detail: str, status: int | None = None
    ) -> FailingFeed:
        return FailingFeed(f"https://{host}/rss", FeedStatus.ACTIVE, 2, detail, None, kind, status)

    dns = "DNS failure: [Errno -2] Name or service not known"
    feeds = (
        failing("a.example", FeedErrorKind.HTTP_STATUS, "HTTP 503 Service Unavailable", 503),
        failing("b.example", FeedErrorKind.DNS, dns),
        failing(
            "c.example", FeedErrorKind.NOT_A_FEED, "not a feed: the server sent an HTML page", 200
        ),
        failing("d.example", FeedErrorKind.DNS, dns),
        failing("e.example", FeedErrorKind.HTTP_STATUS, "HTTP 502 Bad Gateway", 502),
        failing("f.example", FeedErrorKind.DNS, dns),
    )
    lines = render_text(report(failing=feeds)).splitlines()
    start = lines.index(
        "failing feeds (6): 3 DNS lookup failed, 1 HTTP 502, 1 HTTP 503, 1 not a feed"
    )
    body = lines[start + 1 : start + 11]
    assert body[0] == "  DNS lookup failed:"
    assert [line.split()[1] for line in body[1:4]] == [
        "https://b.example/rss",
        "https://d.example/rss",
        "https://f.example/rss",
    ]
    assert body[4:6] == [
        "  HTTP 502:",
        "  - https://e.example/rss [active, 2 failures]: HTTP 502 Bad Gateway",
    ]
    assert "  not a feed:" in body
    plain = parse_telegram_html(render_html(report(failing=feeds)))  # /health: the same groups
    assert "failing feeds (6): 3 DNS lookup failed, 1 HTTP 502" in plain


def test_quiet_states() -> None:
    text = render_text(report(running=False, last_cycle=None, failing=(), pending=0))
    assert "service: not running" in text and "last cycle: none yet" in text
    assert "failing feeds: none" in text


def test_collect_status_from_a_real_cycle(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set("/ok.xml", rss([{"title": "Bamako", "guid": "1"}]))
        server.set("/bad.xml", "", status=503)
        pipeline, repo, fetcher, _ = make_pipeline(
            tmp_path / "nw.db", [server.url("/ok.xml"), server.url("/bad.xml")]
        )

        async def run() -> CycleReport:
            try:
                return await pipeline.run_cycle(force=True)
            finally:
                await fetcher.aclose()

        asyncio.run(run())
    status = collect_status(repo.db, tmp_path / "nw.db")
    assert status.running is False  # nobody holds the instance lock
    assert status.last_cycle is not None and status.last_cycle.fetched == 1
    assert status.last_cycle.errors == 1
    assert [f.url for f in status.failing] == [server.url("/bad.xml")]
    assert status.failing[0].last_error == "HTTP 503 Service Unavailable"
    assert status.pending_notices == 0
    assert status.feeds == {FeedStatus.ACTIVE: 2}
    assert all(type(s) is FeedStatus for s in status.feeds)
    with repo.db.conn:  # a status written by a newer version counts as active, as it is read
        repo.db.execute(
            "UPDATE feeds SET status = 'resting' WHERE url = ?", [server.url("/bad.xml")]
        )
    assert collect_status(repo.db, tmp_path / "nw.db").feeds == {FeedStatus.ACTIVE: 2}
    repo.outbox.queue_admin_notice([1, 2], "Feed paused", datetime.now(UTC))
    assert collect_status(repo.db, tmp_path / "nw.db").pending_notices == 2
    assert status.db_bytes > 0 and status.pending == 0


@pytest.mark.slow
def test_status_command(feed_server: FeedServer, nw_env: dict[str, str], tmp_path: Path) -> None:
    missing = run_main(["status"], nw_env, timeout=60)
    assert missing.returncode == 1 and "has not run yet" in missing.stderr
    feed_server.set("/rss.xml", rss([{"title": "Bamako", "guid": "1"}]))
    feed_server.set("/gone.xml", "", status=410)
    nw_env["NEWSWATCH_FEEDS"] = str(
        write_feed_list(tmp_path, [feed_server.url("/rss.xml"), feed_server.url("/gone.xml")])
    )
    assert run_main(["poll", "--once"], nw_env, timeout=60).returncode == 0
    result = run_main(["status"], nw_env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "service: not running" in result.stdout
    assert "2 feeds due, 1 fetched" in result.stdout
    assert f"{feed_server.url('/gone.xml')} [gone, 1 failures]: HTTP 410 Gone" in result.stdout
    assert "queue: 0 pending deliveries" in result.stdout
