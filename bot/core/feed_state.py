"""Feed state transitions: what a feed becomes after a fetch succeeds or fails, and when it is due.

This is the one place where a feed is paused (``pause_after_failures`` failures in a row, or
a source that asks for it), disabled (410 Gone), held back (Retry-After), brought back
(recovery), and scheduled (next fetch). Each transition is pure: it takes the feed's current
state and what happened, and returns the new state and the admin notice to send, if any.
The cycle (``bot/cycle/pipeline.py``) stores the result and sends the notice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.core.errors import FeedError
from bot.core.schedule import SchedulePolicy, next_after_failure, next_after_success


class FeedStatus(StrEnum):
    """``feeds.status``."""

    ACTIVE = "active"  # fetched when due
    PAUSED = "paused"  # failed too often: still probed, with backoff, up to once a day
    GONE = "gone"  # answered 410 Gone: never fetched again until /retry
    REMOVED = "removed"  # no longer in the feed list: kept for its history


class FeedStateLike(Protocol):
    """What the transitions read of a feed's stored state (``bot.core.records.FeedState``)."""

    @property
    def url(self) -> str: ...

    @property
    def status(self) -> FeedStatus: ...

    @property
    def consecutive_failures(self) -> int: ...

    @property
    def next_fetch_at(self) -> datetime | None: ...

    @property
    def retry_not_before(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong with one fetch (or parse) of a feed."""

    error: FeedError
    retry_after: float | None = None  # seconds the server asked us to wait (429, 503)
    gone: bool = False  # the server answered 410 Gone (a source may ignore its 410s)
    pause_now: bool = False  # the source asks to be paused at once (no public preview)
    source_notice: str | None = None  # the source's own words for the admins


@dataclass(frozen=True, slots=True)
class AfterFailure:
    """The feed after a failure. ``retry_not_before`` None: leave the stored value."""

    status: FeedStatus
    consecutive_failures: int
    next_fetch_at: datetime
    retry_not_before: datetime | None
    newly_paused: bool  # paused by this failure: ``paused_at`` is now
    notice: str | None


@dataclass(frozen=True, slots=True)
class AfterSuccess:
    """The feed after a successful fetch: no failures, no Retry-After, next fetch scheduled."""

    status: FeedStatus
    next_fetch_at: datetime
    recovered: bool  # it was paused: ``paused_at`` is cleared
    notice: str | None


def after_failure(
    feed: FeedStateLike,
    failure: Failure,
    now: datetime,
    policy: SchedulePolicy,
    rng: random.Random | None = None,
) -> AfterFailure:
    """One more failure: backoff, Retry-After, 410, pause, and the one notice it deserves.

    A feed is paused after ``policy.pause_after_failures`` failures in a row, or at once when
    its source asks (then it is tried again only after ``backoff_cap``); a 410 disables it
    (gone wins over paused). The admins hear once: when it is disabled or paused, or when
    its source has something to say (a source's notice after it is already paused is not
    repeated).
    """
    failures = feed.consecutive_failures + 1
    next_at = next_after_failure(now, policy, failures, retry_after=failure.retry_after, rng=rng)
    if failure.pause_now:
        next_at = now + timedelta(seconds=policy.backoff_cap)
    status = feed.status
    if failure.gone:
        status = FeedStatus.GONE
    elif failures >= policy.pause_after_failures or failure.pause_now:
        status = FeedStatus.PAUSED
    newly_paused = status is FeedStatus.PAUSED and feed.status is not FeedStatus.PAUSED
    newly_gone = status is FeedStatus.GONE and feed.status is not FeedStatus.GONE
    retry_not_before = None
    if failure.retry_after is not None:
        retry_not_before = now + timedelta(seconds=failure.retry_after)
    return AfterFailure(
        status=status,
        consecutive_failures=failures,
        next_fetch_at=next_at,
        retry_not_before=retry_not_before,
        newly_paused=newly_paused,
        notice=_failure_notice(feed.url, failure, failures, newly_paused, newly_gone),
    )


def _failure_notice(
    url: str, failure: Failure, failures: int, newly_paused: bool, newly_gone: bool
) -> str | None:
    if failure.source_notice and (newly_paused or not failure.pause_now):
        if not newly_paused:
            return failure.source_notice
        return (
            f"{failure.source_notice}\nPaused: {url} is not fetched again until you"
            f" /retry {url} (or `main.py feeds retry {url}`), or once a day."
        )
    if newly_gone:
        return (
            f"Feed disabled (410 Gone): {url}\nLast error: {failure.error}\n"
            f"If it comes back, /retry {url} (or `main.py feeds retry {url}`)."
        )
    if newly_paused and not failure.source_notice:
        return (
            f"Feed paused after {failures} consecutive failures: {url}\n"
            f"Last error: {failure.error}\nIt is still retried with backoff (up to once a day);"
            " you will get one message when it recovers. /retry fetches it now."
        )
    return None


def after_success(
    feed: FeedStateLike,
    now: datetime,
    policy: SchedulePolicy,
    *,
    ttl_minutes: int | None = None,
    max_age: int | None = None,
    rng: random.Random | None = None,
) -> AfterSuccess:
    """A fetch that worked: failures forgotten, a paused feed active again (one notice), and
    the next fetch from the poll interval and the feed's own hints (``<ttl>``, max-age)."""
    recovered = feed.status is FeedStatus.PAUSED
    return AfterSuccess(
        status=FeedStatus.ACTIVE if recovered else feed.status,
        next_fetch_at=next_after_success(
            now, policy, ttl_minutes=ttl_minutes, max_age=max_age, rng=rng
        ),
        recovered=recovered,
        notice=(
            f"Feed recovered after {feed.consecutive_failures} consecutive failures: {feed.url}"
            if recovered
            else None
        ),
    )


def is_due(feed: FeedStateLike, now: datetime) -> bool:
    return feed.next_fetch_at is None or feed.next_fetch_at <= now


def overdue(feed: FeedStateLike, now: datetime) -> timedelta:
    """How late the feed is (``timedelta.max`` when it was never scheduled)."""
    return timedelta.max if feed.next_fetch_at is None else now - feed.next_fetch_at


def should_fetch(feed: FeedStateLike, now: datetime, force: bool) -> bool:
    """Active feeds when due (or forced); paused feeds only when their backoff is over.

    Even a forced cycle honours a server's Retry-After (429/503) until it has passed; gone
    and removed feeds are never fetched (``/retry`` makes a feed active again).
    """
    if feed.status is FeedStatus.PAUSED:
        return is_due(feed, now)
    if feed.status is not FeedStatus.ACTIVE:
        return False
    if feed.retry_not_before is not None and feed.retry_not_before > now:
        return False
    return force or is_due(feed, now)
