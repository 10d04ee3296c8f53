"""Online story grouping: the open stories of the window, indexed, and the best story for an item.

Each member (an item grouped into a story) is indexed under its signature's keys: watched
entities, gazetteer places, title numbers and concept tokens. A lookup walks the postings of
the item's keys, newest ``per_key`` slots of each (a frequent key such as "Mali" gives only
its newest members), ranks the members found by how many rarer keys they share, and scores
the best ``candidates`` of them with the story model (arithmetic plus the precision guard).
The cost of a lookup is bounded by ``per_key`` x keys + ``candidates`` model evaluations,
whatever the number of open stories (bench/stories_eval.py measures it at 2,000 open members
and at 100,000 items).

The window is per member: a member is compared with items that arrive within ``window`` of
it, and ``prune`` forgets it after that. Each member also has an event time (when it was
published, never later than its arrival; its arrival when the feed gave no date): the time
gap the model reads is between event times, and two items whose event times are further apart
than ``window`` are never one story, even when they arrive together (an aggregator's search
feed, a first poll, a feed that republishes old reports). A member or item without a
publication date (``dated=False``) has its arrival as event time for the window, but the gap
between it and any other is unknown: the model scores such pairs with its undated variants
(bot.core.story_model.StoryModel), never as a gap of 0 h. A story stays open while it keeps
being reported (its latest member is within the window): a report on day 4 of a story
reported every day joins it, compared with the story's members of the last ``window``; a
story not reported for ``window`` closes.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from bot.core.story_model import Signature, StoryModel, conflict, later_step

__all__ = ["DEFAULT_WINDOW", "StoryGroups", "StoryHit"]

DEFAULT_WINDOW = timedelta(hours=72)

# How an item's margins against a story's members decide: "max", its best member (the guard
# and the later-step rule still read every member); "mean", the mean over the story's
# ``linkage_members`` most recent members. Cross-validated on the dev set (docs/dedup.md),
# "max" gives 1.11 / 1.41 messages per relevant story (title + summary / title only) against
# 1.18 / 1.51 for "mean", for one wrong merge per 111 stories against none.
Linkage = Literal["max", "mean"]


@dataclass(frozen=True, slots=True)
class StoryHit:
    """The story an item belongs to and the model's margin for its closest member."""

    story_id: int
    margin: float


def _ts(at: datetime) -> float:
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()


def _gap(e: float, e_other: float, dated: bool) -> float | None:
    """Hours between two event times; None (unknown) when either report has no date."""
    return (e - e_other) / 3600.0 if dated else None


class StoryGroups:
    """Open stories of the last ``window``: ``match`` an item, ``add`` a member, ``prune``."""

    def __init__(
        self,
        model: StoryModel,
        window: timedelta = DEFAULT_WINDOW,
        per_key: int = 24,
        candidates: int = 12,
        linkage: Linkage = "max",
        linkage_members: int = 6,
        stories_checked: int = 2,
    ) -> None:
        self.stories_checked = stories_checked
        self.linkage = linkage
        self.linkage_members = linkage_members
        self.model = model
        self.window = window
        self.per_key = per_key
        self.candidates = candidates
        # (signature, story id, arrival, event time, dated) of each slot; None once pruned
        self._members: list[tuple[Signature, int, float, float, bool] | None] = []
        self._postings: dict[str, list[int]] = {}
        self._story_live: Counter[int] = Counter()  # live members of each open story
        self._story_slots: dict[int, list[int]] = {}
        self._expiry: list[tuple[float, int]] = []  # heap of (arrival, slot) of live members
        self._live = 0

    def __len__(self) -> int:
        """Number of live members."""
        return self._live

    @property
    def story_count(self) -> int:
        """Number of open stories (with a member within the window)."""
        return len(self._story_live)

    def add(
        self,
        story_id: int,
        sig: Signature,
        at: datetime,
        event_at: datetime | None = None,
        dated: bool = True,
    ) -> None:
        """Index an item as a member of ``story_id``: ``at`` its arrival, ``event_at`` its
        event time (default: its arrival); ``dated`` False when its feed gave no date (its
        gap to any other report is then unknown)."""
        slot = len(self._members)
        t = _ts(at)
        e = _ts(event_at) if event_at is not None else t
        self._members.append((sig, story_id, t, e, dated))
        for key in sig.index_keys():
            self._postings.setdefault(key, []).append(slot)
        self._story_live[story_id] += 1
        self._story_slots.setdefault(story_id, []).append(slot)
        heapq.heappush(self._expiry, (t, slot))
        self._live += 1

    def candidates_for(
        self, sig: Signature, at: datetime | None = None, event_at: datetime | None = None
    ) -> list[int]:
        """Member slots worth scoring for ``sig``, most shared (rarity-weighted) keys first.
        With ``at`` (and ``event_at``), only live members within the window of both: a
        pruned slot, or a report published days before that arrived with this one, never
        takes a candidate's place."""
        postings = self._postings
        weight: dict[int, float] = {}
        per_key = self.per_key
        # keys in a fixed order: a frozenset's order follows the string hash, which changes
        # from process to process (PYTHONHASHSEED), and with it the float sums and the order
        # of equal weights, so which candidates make the cut
        for key in sorted(sig.query_keys()):
            slots = postings.get(key)
            if not slots:
                continue
            w = 1.0 / math.log2(2.0 + len(slots))
            for slot in slots[-per_key:] if len(slots) > per_key else slots:
                weight[slot] = weight.get(slot, 0.0) + w
        if at is None:
            if len(weight) <= self.candidates:
                return list(weight)
            return heapq.nlargest(self.candidates, weight, key=weight.__getitem__)
        t = _ts(at)
        e = _ts(event_at) if event_at is not None else t
        window = self.window.total_seconds()
        members = self._members
        chosen: list[int] = []
        # best first, skipping the slots that could not be compared anyway
        for slot in sorted(weight, key=weight.__getitem__, reverse=True):
            member = members[slot]
            if member is None or abs(t - member[2]) > window or abs(e - member[3]) > window:
                continue
            chosen.append(slot)
            if len(chosen) == self.candidates:
                break
        return chosen

    def match(
        self,
        sig: Signature,
        at: datetime,
        model: StoryModel | None = None,
        event_at: datetime | None = None,
        dated: bool = True,
    ) -> StoryHit | None:
        """The story of the best-scoring member with a positive margin, among the members
        within ``window`` of ``at`` whose event times are within ``window`` of ``event_at``
        (default: ``at``); None for a new story. ``dated`` False: the item has no publication
        date, so its gap to every member is unknown (as is a dated item's to an undated
        member). ``model`` overrides the index's own (cross-validation scores each item with
        the model that did not see its story)."""
        if not self._live:
            return None
        model = model or self.model
        t = _ts(at)
        e = _ts(event_at) if event_at is not None else t
        window = self.window.total_seconds()
        members = self._members
        best: dict[int, float] = {}
        scored: dict[int, float] = {}  # slot -> margin, reused by the linkage below
        for slot in self.candidates_for(sig, at, event_at or at):
            member = members[slot]
            if member is None:
                continue
            other, story_id, t_other, e_other, dated_other = member
            if abs(t - t_other) > window or abs(e - e_other) > window:
                continue
            quick = model.quick_score(sig, other, _gap(e, e_other, dated and dated_other))
            if quick is None:  # cannot reach the threshold: not exact, not kept for linkage
                continue
            margin = scored[slot] = quick
            if margin > best.get(story_id, 0.0):
                best[story_id] = margin
        # The whole story decides: an item that one member refuses (same template, another
        # town; or a later step of the saga than that member, the formal notice the day after
        # the exit) does not join through a looser rewrite of that member or a same-day one,
        # and with the "mean" linkage the item must fit the story's members on average, not
        # only its closest one (stories do not chain from one event to the next day's).
        chosen: StoryHit | None = None
        for story_id in sorted(best, key=lambda s: (-best[s], s))[: self.stories_checked]:
            story = [
                (s, m)
                for s in self._story_slots[story_id]
                if (m := members[s]) is not None
                and abs(t - m[2]) <= window
                and abs(e - m[3]) <= window
            ]
            # a refusal by the guard scores -inf; members not scored yet are checked here
            if any(
                scored.get(s) == -math.inf
                or (s not in scored and conflict(sig, m[0]))
                or later_step(sig, m[0], _gap(e, m[3], dated and m[4]))
                for s, m in story
            ):
                continue
            if self.linkage == "mean":
                recent = story[-self.linkage_members :]
                total = 0.0
                for s, (other, _sid, _t_other, e_other, dated_other) in recent:
                    if s not in scored:
                        scored[s] = model.score(sig, other, _gap(e, e_other, dated and dated_other))
                    total += scored[s]
                margin = total / len(recent)
            else:
                margin = best[story_id]
            if margin > 0 and (chosen is None or margin > chosen.margin):
                chosen = StoryHit(story_id, margin)
            if self.linkage != "mean":
                break
        return chosen

    def prune(self, now: datetime) -> int:
        """Forget the members that arrived more than ``window`` before ``now`` (a story closes
        with its last member); returns the number of members dropped. Postings are compacted
        when most slots are dead."""
        cutoff = _ts(now) - self.window.total_seconds()
        expiry = self._expiry
        dropped = 0
        while expiry and expiry[0][0] < cutoff:
            _t, slot = heapq.heappop(expiry)
            member = self._members[slot]
            if member is None:
                continue
            story_id = member[1]
            self._members[slot] = None
            dropped += 1
            self._story_live[story_id] -= 1
            if not self._story_live[story_id]:
                del self._story_live[story_id]
                del self._story_slots[story_id]
        self._live -= dropped
        if dropped and self._live < len(self._members) // 2:
            self._compact()
        return dropped

    def _compact(self) -> None:
        live = [m for m in self._members if m is not None]
        self._members = []
        self._postings = {}
        self._story_live = Counter()
        self._story_slots = {}
        self._expiry = []
        self._live = 0
        for sig, story_id, t, e, dated in live:
            at, event_at = datetime.fromtimestamp(t, UTC), datetime.fromtimestamp(e, UTC)
            self.add(story_id, sig, at, event_at, dated)
