"""Scheduling policy: when to fetch a feed next (TTL, max-age) or after a failure (backoff)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class SchedulePolicy:
    """Bounds for feed scheduling. All durations in seconds."""

    interval: float = 300.0
    min_interval: float = 60.0
    max_interval: float = 6 * 3600.0
    backoff_base: float = 60.0
    backoff_cap: float = 24 * 3600.0
    jitter: float = 0.1  # +/- fraction of the delay
    pause_after_failures: int = 10


def next_after_success(
    now: datetime,
    policy: SchedulePolicy,
    *,
    ttl_minutes: int | None = None,
    max_age: int | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """The feed's own hints (``<ttl>``, Cache-Control/Expires) win, within [min, max] bounds.

    Jitter keeps feeds from staying in lockstep without breaking a promise: on our own
    interval it only shortens the delay (an item is never seen later than ``interval`` after
    it appeared), and on a feed's hint it only lengthens it (a feed is never polled more often
    than it asked).
    """
    delay = policy.interval
    hints = [h for h in (ttl_minutes * 60 if ttl_minutes else None, max_age) if h]
    hinted = bool(hints) and max(hints) > delay
    if hints:
        delay = max(delay, max(hints))
    delay = min(max(delay, policy.min_interval), policy.max_interval)
    if policy.jitter > 0:
        source = rng or random
        factor = source.uniform(0, policy.jitter)
        delay = min(delay * (1 + factor), policy.max_interval) if hinted else delay * (1 - factor)
    return now + timedelta(seconds=delay)


def next_after_failure(
    now: datetime,
    policy: SchedulePolicy,
    failures: int,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """Exponential backoff with jitter, capped at ``backoff_cap``; Retry-After is a floor."""
    exponent = max(0, failures - 1)
    delay = min(policy.backoff_base * (2**exponent), policy.backoff_cap)
    delay = _jittered(delay, policy.jitter, rng)
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.backoff_cap))
    return now + timedelta(seconds=min(delay, policy.backoff_cap))


def _jittered(delay: float, fraction: float, rng: random.Random | None) -> float:
    if fraction <= 0:
        return delay
    source = rng or random
    return delay * (1 + source.uniform(-fraction, fraction))


def spread_offsets(count: int, spread: float, rng: random.Random | None = None) -> list[float]:
    """Start delays for ``count`` fetches: evenly spaced over [0, spread), shuffled, jittered.

    Even spacing (rather than independent uniform draws) keeps the spread predictable: no
    burst of feeds starting together, and the last one starts before ``spread`` seconds.
    """
    if count <= 0:
        return []
    if spread <= 0:
        return [0.0] * count
    source = rng or random
    step = spread / count
    offsets = [i * step + source.uniform(0, step) for i in range(count)]
    source.shuffle(offsets)
    return offsets
