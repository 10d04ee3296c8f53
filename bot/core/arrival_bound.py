"""When a report whose feed gives no publication date happened, for story grouping: its
arrival, when the feed was read shortly before without it (the arrival bounds the date).

A report without a date has an unknown gap to every other report (bot.core.story_index): in a
burst of old undated reports (a first poll, a restart after an outage, a feed republishing its
archive) nothing tells last year's raid from today's. In the steady flow of an undated feed,
though, a report first seen in a body was not in the body of the feed's previous successful
poll (every key of a parsed body is remembered, and a 304 says the body had not changed): it
was published in between, and its arrival is its date, good to a poll interval. The pipeline
stores that previous poll with the alert (``alerts.published_after``, migration 0018);
grouping reads the report as dated at its arrival when the bound is tight
(``dated_by_arrival``), when it files the alert and when a restart re-indexes it from SQLite.
Never a bound:

- on a feed's first poll (no previous poll: a backlog of any age);
- when the previous successful poll is more than ``ARRIVAL_BOUND`` before the arrival (the
  bot down, the feed failing or paused): what appeared meanwhile may be days old;
- for a body new as a whole (two items or more, every one unseen) or bringing more than
  ``ARRIVAL_BOUND_BURST`` new undated reports at once: a republished archive or a change of
  GUIDs, not a steady flow; old reports must not pass for fresh ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = [
    "ARRIVAL_BOUND",
    "ARRIVAL_BOUND_BURST",
    "arrival_bound",
    "dated_by_arrival",
    "renewed_body",
]

# The longest time between a feed's previous successful poll and a report's arrival for which
# the arrival is read as the report's date. Feeds are polled every 5 min by default and at
# most every 6 h when they ask for it (max_interval_seconds), plus jitter and a missed poll:
# 12 h. The date is then late by at most this, by a poll interval as a rule (the model's gap
# weighs about -1.8 a day; a later step is told apart from 12 h on).
ARRIVAL_BOUND = timedelta(hours=12)
# A body bringing more new undated reports than this at once gives none of them a bound: a
# steady feed brings a few a poll; a republished backlog or a change of GUIDs, dozens.
ARRIVAL_BOUND_BURST = 10


def renewed_body(items: int, new: int, new_undated: int) -> bool:
    """Whether a feed body looks republished rather than fresh: two items or more and every
    one unseen (``new`` of ``items``), or more than ``ARRIVAL_BOUND_BURST`` new undated ones."""
    return (items >= 2 and new >= items) or new_undated > ARRIVAL_BOUND_BURST


def arrival_bound(
    previous_success: datetime | None,
    now: datetime,
    *,
    published: datetime | None,
    renewed: bool,
) -> datetime | None:
    """What to store as a report's ``published_after``: its feed's previous successful poll
    (the report was not there then), or None when there is nothing to bound: the feed gave a
    date, this is the feed's first poll (``previous_success`` None), the body looks
    republished (``renewed``), or the previous poll is in the future (a clock set back)."""
    if published is not None or previous_success is None or renewed:
        return None
    if previous_success > now:
        return None
    return previous_success


def dated_by_arrival(published_after: datetime | None, arrived: datetime) -> bool:
    """Whether an undated report's arrival is read as its date: its stored bound lies within
    ``ARRIVAL_BOUND`` before its arrival."""
    if published_after is None:
        return False
    return timedelta(0) <= arrived - published_after <= ARRIVAL_BOUND
