"""Scheduling policy: feed hints within bounds, exponential backoff with jitter, spread offsets."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.schedule import (
    SchedulePolicy,
    next_after_failure,
    next_after_success,
    spread_offsets,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
EXACT = SchedulePolicy(interval=300, min_interval=60, max_interval=3600, jitter=0.0)


def seconds(moment: datetime) -> float:
    return (moment - NOW).total_seconds()


@pytest.mark.parametrize(
    ("ttl_minutes", "max_age", "expected"),
    [
        (None, None, 300),  # the configured interval
        (30, None, 1800),  # <ttl> 30 min is longer: respected
        (1, None, 300),  # a shorter ttl does not make us poll faster than the interval
        (None, 900, 900),  # Cache-Control max-age / Expires
        (10, 2400, 2400),  # the longer hint wins
        (600, None, 3600),  # capped at max_interval
        (None, 10**9, 3600),
    ],
)
def test_success_respects_feed_hints_within_bounds(
    ttl_minutes: int | None, max_age: int | None, expected: int
) -> None:
    assert seconds(next_after_success(NOW, EXACT, ttl_minutes=ttl_minutes, max_age=max_age)) == (
        expected
    )


def test_success_never_below_min_interval() -> None:
    policy = SchedulePolicy(interval=10, min_interval=60, max_interval=3600, jitter=0.0)
    assert seconds(next_after_success(NOW, policy)) == 60


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(1, 60), (2, 120), (3, 240), (5, 960), (11, 61440), (12, 86400), (40, 86400)],
)
def test_backoff_doubles_up_to_a_day(failures: int, expected: int) -> None:
    policy = SchedulePolicy(backoff_base=60, backoff_cap=86400, jitter=0.0)
    assert seconds(next_after_failure(NOW, policy, failures)) == expected


def test_retry_after_is_a_floor_capped_at_the_backoff_cap() -> None:
    policy = SchedulePolicy(backoff_base=60, backoff_cap=86400, jitter=0.0)
    assert seconds(next_after_failure(NOW, policy, 1, retry_after=7200)) == 7200
    assert seconds(next_after_failure(NOW, policy, 8, retry_after=10)) == 60 * 128
    assert seconds(next_after_failure(NOW, policy, 1, retry_after=10**7)) == 86400


@given(failures=st.integers(1, 200), seed=st.integers(0, 2**32))
def test_backoff_stays_in_jitter_band_and_under_the_cap(failures: int, seed: int) -> None:
    policy = SchedulePolicy(backoff_base=60, backoff_cap=86400, jitter=0.1)
    delay = seconds(next_after_failure(NOW, policy, failures, rng=random.Random(seed)))
    nominal = min(60 * 2 ** (failures - 1), 86400)
    assert nominal * 0.9 - 1e-6 <= delay <= min(nominal * 1.1, 86400) + 1e-6


def test_jitter_actually_varies_the_delay() -> None:
    rng = random.Random(1)
    policy = SchedulePolicy(jitter=0.1)
    delays = {seconds(next_after_failure(NOW, policy, 3, rng=rng)) for _ in range(20)}
    assert len(delays) > 10


@given(count=st.integers(0, 300), spread=st.floats(0, 120), seed=st.integers(0, 2**32))
def test_spread_offsets_cover_the_window_without_bursts(
    count: int, spread: float, seed: int
) -> None:
    offsets = spread_offsets(count, spread, random.Random(seed))
    assert len(offsets) == count
    assert all(0 <= o <= spread for o in offsets)
    if count >= 2 and spread > 0:
        ordered = sorted(offsets)
        step = spread / count
        # one start per slot of width spread/count: never more than two within one slot
        assert all(b - a <= 2 * step + 1e-9 for a, b in itertools.pairwise(ordered))


def test_no_spread_means_no_delay() -> None:
    assert spread_offsets(5, 0.0) == [0.0] * 5


def test_success_delay_has_jitter() -> None:
    policy = SchedulePolicy(interval=300, jitter=0.1)
    rng = random.Random(3)
    values = [seconds(next_after_success(NOW, policy, rng=rng)) for _ in range(50)]
    assert min(values) >= 270 and max(values) <= 330 and len(set(values)) > 40
    assert timedelta(seconds=max(values)) > timedelta(seconds=min(values))


@given(
    seed=st.integers(0, 2**32),
    ttl=st.one_of(st.none(), st.integers(1, 600)),
    max_age=st.one_of(st.none(), st.integers(1, 10**6)),
)
def test_jitter_never_breaks_the_interval_or_the_feed_hint(
    seed: int, ttl: int | None, max_age: int | None
) -> None:
    policy = SchedulePolicy(interval=300, min_interval=60, max_interval=3600, jitter=0.1)
    exact = seconds(next_after_success(NOW, EXACT, ttl_minutes=ttl, max_age=max_age))
    jittered = seconds(
        next_after_success(NOW, policy, ttl_minutes=ttl, max_age=max_age, rng=random.Random(seed))
    )
    if exact > 300:  # the feed asked for less often: never sooner than it asked, within max
        assert exact <= jittered <= 3600
    else:  # our own interval: an item is never seen later than the interval after it appeared
        assert 270 <= jittered <= 300
