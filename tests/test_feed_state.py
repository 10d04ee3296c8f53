"""Feed state transitions (bot/core/feed_state.py), table-driven: pause, 410, Retry-After,
recovery, notices and when a feed is due."""

from __future__ import annotations

import random
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.errors import FeedError, FeedErrorKind
from bot.core.feed_state import (
    Failure,
    FeedStatus,
    after_failure,
    after_success,
    should_fetch,
)
from bot.core.records import FeedState
from bot.core.schedule import SchedulePolicy

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
URL = "https://f.example/rss"
POLICY = SchedulePolicy(
    interval=300, backoff_base=60, backoff_cap=86400, jitter=0, pause_after_failures=3
)
A, P, G = FeedStatus.ACTIVE, FeedStatus.PAUSED, FeedStatus.GONE
HTTP_500 = FeedError(FeedErrorKind.HTTP_STATUS, "HTTP 500 Internal Server Error", 500)
GONE_410 = FeedError(FeedErrorKind.GONE, "HTTP 410 Gone", 410)
RATE_429 = FeedError(FeedErrorKind.RATE_LIMITED, "HTTP 429 Too Many Requests", 429)
NO_PREVIEW = FeedError(FeedErrorKind.SOURCE, "t.me/s/x has no public preview")


@dataclass(frozen=True)
class FailCase:
    name: str
    status: FeedStatus
    failures: int  # before this one
    failure: Failure
    want_status: FeedStatus
    want_newly_paused: bool
    want_delay: float  # seconds until the next fetch
    want_notice: str | None  # the notice starts with this; None: no notice


FAIL_CASES = [
    FailCase("first failure: backoff base", A, 0, Failure(HTTP_500), A, False, 60, None),
    FailCase("second: doubled", A, 1, Failure(HTTP_500), A, False, 120, None),
    FailCase(
        "third reaches pause_after_failures",
        A,
        2,
        Failure(HTTP_500),
        P,
        True,
        240,
        f"Feed paused after 3 consecutive failures: {URL}\nLast error: HTTP 500",
    ),
    FailCase("already paused: no second notice", P, 5, Failure(HTTP_500), P, False, 1920, None),
    FailCase("backoff capped", P, 40, Failure(HTTP_500), P, False, 86400, None),
    FailCase(
        "410 disables at once",
        A,
        0,
        Failure(GONE_410, gone=True),
        G,
        False,
        60,
        f"Feed disabled (410 Gone): {URL}\nLast error: HTTP 410 Gone",
    ),
    FailCase(
        "410 wins over the pause",
        A,
        2,
        Failure(GONE_410, gone=True),
        G,
        False,
        240,
        "Feed disabled (410 Gone)",
    ),
    FailCase(
        "Retry-After is a floor of the backoff",
        A,
        0,
        Failure(RATE_429, retry_after=7200),
        A,
        False,
        7200,
        None,
    ),
    FailCase(
        "Retry-After beyond the cap is capped",
        A,
        0,
        Failure(RATE_429, retry_after=10 * 86400),
        A,
        False,
        86400,
        None,
    ),
    FailCase(
        "a source that asks to pause: paused now, tried once a day, its notice + how to retry",
        A,
        0,
        Failure(NO_PREVIEW, pause_now=True, source_notice="t.me/s/x has no public preview"),
        P,
        True,
        86400,
        f"t.me/s/x has no public preview\nPaused: {URL} is not fetched again until you /retry",
    ),
    FailCase(
        "a paused source asking again: no repeat",
        P,
        1,
        Failure(NO_PREVIEW, pause_now=True, source_notice="t.me/s/x has no public preview"),
        P,
        False,
        86400,
        None,
    ),
    FailCase(
        "a source's notice on a plain failure goes out as is",
        A,
        0,
        Failure(HTTP_500, source_notice="selector matched 0 items"),
        A,
        False,
        60,
        "selector matched 0 items",
    ),
]


@pytest.mark.parametrize("case", FAIL_CASES, ids=[c.name for c in FAIL_CASES])
def test_after_failure(case: FailCase) -> None:
    feed = FeedState(URL, status=case.status, consecutive_failures=case.failures)
    after = after_failure(feed, case.failure, NOW, POLICY)
    assert after.status is case.want_status
    assert after.consecutive_failures == case.failures + 1
    assert after.newly_paused is case.want_newly_paused
    assert after.next_fetch_at == NOW + timedelta(seconds=case.want_delay)
    if case.want_notice is None:
        assert after.notice is None
    else:
        assert after.notice is not None and after.notice.startswith(case.want_notice)
    wait = case.failure.retry_after
    assert after.retry_not_before == (None if wait is None else NOW + timedelta(seconds=wait))


@pytest.mark.parametrize(
    ("status", "failures", "want_status", "recovered", "notice"),
    [
        (A, 0, A, False, None),
        (A, 2, A, False, None),  # failing but not paused: no notice
        (P, 12, A, True, f"Feed recovered after 12 consecutive failures: {URL}"),
    ],
)
def test_after_success(
    status: FeedStatus, failures: int, want_status: FeedStatus, recovered: bool, notice: str | None
) -> None:
    after = after_success(FeedState(URL, status=status, consecutive_failures=failures), NOW, POLICY)
    assert (after.status, after.recovered, after.notice) == (want_status, recovered, notice)
    assert after.next_fetch_at == NOW + timedelta(seconds=300)


@pytest.mark.parametrize(
    ("ttl", "max_age", "delay"),
    [(None, None, 300), (60, None, 3600), (None, 1800, 1800), (1, 30, 300), (600, None, 21600)],
)
def test_next_due_after_success_follows_the_feeds_hints_within_bounds(
    ttl: int | None, max_age: int | None, delay: float
) -> None:
    after = after_success(FeedState(URL), NOW, POLICY, ttl_minutes=ttl, max_age=max_age)
    assert after.next_fetch_at == NOW + timedelta(seconds=delay)


def test_jitter_stays_within_its_bounds() -> None:
    policy = SchedulePolicy(jitter=0.1, pause_after_failures=3)
    rng = random.Random(7)
    for failures in range(6):
        after = after_failure(
            FeedState(URL, status=A, consecutive_failures=failures),
            Failure(HTTP_500),
            NOW,
            policy,
            rng,
        )
        base = min(60 * 2**failures, policy.backoff_cap)
        delay = (after.next_fetch_at - NOW).total_seconds()
        assert base * 0.9 <= delay <= base * 1.1


LATER, EARLIER = NOW + timedelta(minutes=5), NOW - timedelta(minutes=5)


@pytest.mark.parametrize(
    ("feed", "force", "fetch"),
    [
        (FeedState(URL, status=A, next_fetch_at=None), False, True),  # never fetched
        (FeedState(URL, status=A, next_fetch_at=EARLIER), False, True),
        (FeedState(URL, status=A, next_fetch_at=LATER), False, False),
        (FeedState(URL, status=A, next_fetch_at=LATER), True, True),  # forced
        (FeedState(URL, status=A, next_fetch_at=EARLIER, retry_not_before=LATER), True, False),
        (FeedState(URL, status=A, next_fetch_at=EARLIER, retry_not_before=EARLIER), False, True),
        (FeedState(URL, status=P, next_fetch_at=LATER), True, False),  # paused: backoff even forced
        (FeedState(URL, status=P, next_fetch_at=EARLIER), False, True),
        (FeedState(URL, status=G, next_fetch_at=EARLIER), True, False),  # gone: only /retry
        (FeedState(URL, status=FeedStatus.REMOVED, next_fetch_at=None), True, False),
    ],
)
def test_should_fetch(feed: FeedState, force: bool, fetch: bool) -> None:
    assert should_fetch(feed, NOW, force) is fetch


def _other_value(current: object, name: str) -> Any:
    if name == "status":
        return FeedStatus.PAUSED
    if name == "last_error_kind":
        return FeedErrorKind.TIMEOUT
    if isinstance(current, int):
        return current + 1
    if name.endswith("_at") or name.endswith("_before"):
        return datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    return "changed"


def test_feed_state_changes_names_exactly_the_fields_that_differ() -> None:
    """What storing a feed's new state writes: every differing field but its URL, no other."""
    before = FeedState(url="https://example.org/feed.xml", last_status=304, items_total=3)
    assert before.changes(before) == {}
    names = [f.name for f in fields(FeedState) if f.name != "url"]
    for name in names:
        value = _other_value(getattr(before, name), name)
        assert before.changes(replace(before, **{name: value})) == {name: value}, name
    several = replace(before, etag='"x"', next_fetch_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert before.changes(several) == {
        "etag": '"x"',
        "next_fetch_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    with pytest.raises(ValueError):
        before.changes(replace(before, url="https://example.org/other.xml"))
