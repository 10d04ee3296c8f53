"""The log of `run`: one `cycle:` line per poll round, none for empty ticks, and feeds failing
for the same reason summarised in one line at most once a minute (with the offline hint)."""

from __future__ import annotations

import logging

import pytest

from bot.core.errors import FeedError, FeedErrorKind
from bot.core.failures import OFFLINE_HINT, summarise_failures
from bot.core.models import CycleReport
from bot.cycle.cycle_log import CycleLog


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def report(due: int = 1, errors: dict[str, FeedError] | None = None) -> CycleReport:
    errors = errors or {}
    urls = [f"https://f{i}.example/rss" for i in range(due)]
    return CycleReport(
        feeds_due=due,
        fetched=due - len(errors),
        errors=len(errors),
        feed_errors=dict(errors),
        due_urls=urls,
    )


def cycle_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("cycle:")]


def fail(kind: str, detail: str, status: int | None = None) -> FeedError:
    return FeedError(FeedErrorKind(kind), detail, status)


@pytest.mark.parametrize(
    ("error", "group"),
    [
        (fail("dns", "DNS failure: [Errno -2] Name or service not known"), "DNS lookup failed"),
        (fail("connect", "connection failed: [Errno 111] Connection refused"), "connection failed"),
        (fail("connect_timeout", "timeout: connect timeout"), "connect timeout"),
        (fail("deadline", "gave up after 60s (overall fetch deadline)"), "overall fetch deadline"),
        (fail("http_status", "HTTP 503 Service Unavailable", 503), "HTTP 503"),
        (fail("gone", "HTTP 410 Gone", 410), "gone (410)"),
    ],
)
def test_failures_are_grouped_by_kind(error: FeedError, group: str) -> None:
    assert error.group == group


def test_two_http_statuses_are_two_groups_and_one_kind_is_one_whatever_the_detail() -> None:
    errors = {
        f"https://a{i}.example/rss": fail("http_status", f"HTTP 503 x{i}", 503) for i in range(3)
    }
    errors |= {
        f"https://b{i}.example/rss": fail("http_status", "HTTP 502 Bad", 502) for i in range(3)
    }
    errors |= {f"https://c{i}.example/rss": fail("not_a_feed", f"not a feed {i}") for i in range(3)}
    summary = summarise_failures(errors, attempted=9)
    assert [line.split(";")[0] for line in summary.groups] == [
        "3 of 9 feeds failed: HTTP 502",
        "3 of 9 feeds failed: HTTP 503",
        "3 of 9 feeds failed: not a feed",
    ]


def test_one_cycle_line_per_round_and_none_for_empty_ticks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """18 feeds due one by one used to give about 9 `cycle:` lines a minute."""
    caplog.set_level(logging.INFO)
    clock = Clock()
    cycles = CycleLog(every=300.0, monotonic=clock)
    cycles.add(report(due=18))  # the first round at start: logged at once
    assert cycle_lines(caplog) == [
        "cycle: feeds=18 fetched=18 304=0 unchanged=0 errors=0 new_items=0 alerts=0 duration=0.00s"
    ]
    for _ in range(18):  # then one feed due at a time, every 17 s
        clock.now += 17
        cycles.add(report(due=1))
        cycles.add(report(due=0))  # a tick with nothing due: never a line
    lines = cycle_lines(caplog)
    assert len(lines) == 2 and lines[1].startswith("cycle: feeds=18 ")
    assert not any("feeds=0" in line for line in lines)


def test_many_feeds_failing_alike_give_one_line_a_minute_with_the_offline_hint(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    cycles = CycleLog(every=300.0, failures_every=60.0, monotonic=clock)
    dns = fail("dns", "DNS failure: [Errno -3] Temporary failure in name resolution")
    errors = {f"https://f{i}.example/rss": dns for i in range(25)}
    cycles.add(report(due=25, errors=errors))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("25 of 25 feeds failed: DNS lookup failed")
    assert OFFLINE_HINT in warnings[0] and "https_proxy" in warnings[0]
    for _ in range(5):  # retries within the minute: no new line
        clock.now += 10
        cycles.add(report(due=25, errors=errors))
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    clock.now += 15
    cycles.add(report(due=25, errors=errors))
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


def test_a_feed_failing_on_its_own_is_named() -> None:
    summary = summarise_failures(
        {
            "https://a.example/rss": fail("http_status", "HTTP 404 Not Found", 404),
            "https://b.example/rss": fail("http_status", "HTTP 500 x", 500),
        },
        attempted=10,
    )
    assert summary.groups == ()
    assert str(dict(summary.singles)["https://a.example/rss"]) == "HTTP 404 Not Found"


def test_a_few_unreachable_hosts_are_no_offline_hint() -> None:
    errors = {
        f"https://f{i}.example/rss": fail("connect", "connection failed: refused") for i in range(3)
    }
    summary = summarise_failures(errors, attempted=20)
    assert summary.groups and OFFLINE_HINT not in summary.groups[0]
