"""The token-Jaccard story index the bot used before its learned grouper: bench/dedup.py's one
Jaccard baseline (its first version, full postings, was removed), no longer part of the bot.

Stories are now grouped by ``bot.core.story_model`` and ``bot.core.story_index``; this index
(a guarded Jaccard over ``bot.core.stories`` fingerprints, with AllPairs prefix filtering) is
kept here, with its tests (tests/test_stories.py), because bench/dedup.py measures it against
MinHashLSH and brute force, and the docs' earlier figures come from it (docs/dedup.md).
"""

from __future__ import annotations

import itertools
import math
import sys
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core.stories import COUNTRIES, Fingerprint

__all__ = [
    "DEFAULT_THRESHOLD",
    "DEFAULT_WINDOW",
    "StoryIndex",
    "StoryMatch",
    "jaccard",
    "same_event",
]

# Tuned on tests/data/stories_labelled.json (see docs/dedup.md): precision first.
DEFAULT_THRESHOLD = 0.30
DEFAULT_WINDOW = timedelta(hours=72)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two token sets (0.0 when both are empty)."""
    if not a and not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def _conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a) and bool(b) and a.isdisjoint(b)


def same_event(a: Fingerprint, b: Fingerprint) -> bool:
    """Precision guard, on top of token similarity. False when:

    - both items give numbers, localities or countries and share none of them (two attacks
      in two towns, or with two death tolls, stay apart);
    - their headlines share no content word other than country names (two stories about
      the same countries whose summaries overlap);
    - one headline names a locality and the other item names none at all (a summit in
      Abuja is not the story of the bloc it discusses).
    """
    if a.headline and b.headline and (a.headline & b.headline) <= COUNTRIES:
        return False
    if (a.headline & a.places and not b.places) or (b.headline & b.places and not a.places):
        return False
    return not (
        _conflict(a.numbers, b.numbers)
        or _conflict(a.places, b.places)
        or _conflict(a.countries, b.countries)
    )


@dataclass(frozen=True, slots=True)
class StoryMatch:
    """The best story for an item and how similar its closest member is."""

    story_id: int
    similarity: float


def _ts(at: datetime) -> float:
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()


def _prefix_len(n: int, threshold: float) -> int:
    """How many of a set's first tokens (in index order) any set with Jaccard >= t must hit.

    J(x, y) >= t implies |x & y| >= t * |x|, so at most ``n - ceil(t * n)`` of x's tokens can
    be missed: the first ``n - ceil(t * n) + 1`` hold at least one shared token. The epsilon
    keeps float rounding (0.3 * 10 = 3.0000000000000004) from shortening the prefix.
    """
    return n - max(1, math.ceil(threshold * n - 1e-9)) + 1


# A member: (token ids, headline, numbers, places, countries, story id). Token ids index the
# vocabulary; the guard fields are interned strings, so members share them.
_Member = tuple[
    tuple[int, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], int
]

_REINDEX_MIN = 1024


class StoryIndex:
    """Stories of the last ``window``: find the story an item belongs to, add items to stories.

    ``match`` returns what comparing the item with every member would return (highest
    Jaccard >= threshold passing ``same_event``, ties to the earliest member). Candidates come
    from an inverted index with prefix filtering on both sides (AllPairs): tokens are put in
    one global order, rarest first (document frequencies of the last re-index; tokens first
    seen since then count as rarest). A member y with Jaccard >= t against any x shares at
    least ceil(t*|y|) tokens with it, so only y's first |y| - ceil(t*|y|) + 1 tokens are
    indexed; the query probes only its own first |x| - ceil(t*|x|) + 1. When two sets share
    enough tokens, their prefixes in one order intersect, so no match is missed. Frequent
    tokens ("mali", "attack") sit in the unindexed tails, which is what makes lookups cheap.
    Exact while the probed postings hold at most ``scan_budget`` slots (None: always). Beyond
    that, every probed token still contributes, but a long posting list only its newest slots
    (at least ``min_share``; rarer tokens first, each taking an equal share of what is left):
    verifying a candidate costs about 0.5 us, so the budget bounds the cost of a lookup on a
    very large index. What it can miss is an old member reachable only through frequent
    tokens; other reports of one story are mostly recent (bench/dedup.py measures both).
    The index re-orders itself when it has doubled since the last re-index (amortised O(1)
    per add), and compacts when ``prune`` has dropped most members.
    Members keep token ids and interned guard fields, not the Fingerprint objects.
    An item joins a story only within ``window`` of the story's first item.
    Index only what belongs to a story (matched items); naive datetimes are taken as UTC.
    """

    def __init__(
        self,
        window: timedelta = DEFAULT_WINDOW,
        threshold: float = DEFAULT_THRESHOLD,
        scan_budget: int | None = 64,
        min_share: int = 4,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.window = window
        self.threshold = threshold
        self.scan_budget = scan_budget
        self.min_share = min_share
        self._vocab: dict[str, int] = {}
        self._tokens: list[str] = []  # token id -> token
        self._rank = array("q")  # token id -> position in the global order (lower: rarer)
        self._next_rank = -1  # tokens new since the last re-index rank first, newest first
        self._postings: list[list[int]] = []  # token id -> slots whose prefix holds it
        self._members: list[_Member | None] = []  # by slot; None once pruned
        self._ids: list[tuple[int, ...]] = []  # by slot: the member's token ids; () once pruned
        self._story_start: dict[int, float] = {}
        # No story started before this: prune (called for every grouped item) returns at
        # once until something can have expired.
        self._min_start = math.inf
        self._story_slots: dict[int, list[int]] = {}
        self._live = 0
        self._reindex_at = _REINDEX_MIN

    def __len__(self) -> int:
        """Number of live members (indexed items)."""
        return self._live

    @property
    def story_count(self) -> int:
        """Number of stories with at least one live member."""
        return len(self._story_start)

    def _token_id(self, tok: str) -> int:
        tid = self._vocab.get(tok)
        if tid is None:
            tok = sys.intern(tok)
            tid = self._vocab[tok] = len(self._tokens)
            self._tokens.append(tok)
            self._rank.append(self._next_rank)
            self._next_rank -= 1
            self._postings.append([])
        return tid

    def add(self, story_id: int, fp: Fingerprint, at: datetime) -> None:
        """Index an item as a member of ``story_id`` (the story starts at its earliest member)."""
        if len(self._members) >= self._reindex_at:
            self._reindex()
        slot = len(self._members)
        ids = sorted(map(self._token_id, fp.tokens), key=self._rank.__getitem__)
        postings = self._postings
        for tid in ids[: _prefix_len(len(ids), self.threshold)]:
            postings[tid].append(slot)
        self._ids.append(tuple(ids))
        self._members.append(
            (
                self._ids[-1],
                tuple(map(sys.intern, fp.headline)),
                tuple(map(sys.intern, fp.numbers)),
                tuple(map(sys.intern, fp.places)),
                tuple(map(sys.intern, fp.countries)),
                story_id,
            )
        )
        t = _ts(at)
        start = self._story_start.get(story_id)
        if start is None or t < start:
            self._story_start[story_id] = t
            self._min_start = min(self._min_start, t)
        self._story_slots.setdefault(story_id, []).append(slot)
        self._live += 1

    def _fingerprint(self, member: _Member) -> Fingerprint:
        tokens = self._tokens
        ids, headline, numbers, places, countries, _sid = member
        return Fingerprint(
            frozenset(tokens[i] for i in ids),
            frozenset(headline),
            frozenset(numbers),
            frozenset(places),
            frozenset(countries),
        )

    def match(self, fp: Fingerprint, at: datetime) -> StoryMatch | None:
        """Best story for ``fp`` at time ``at``: highest Jaccard >= threshold among members of
        stories started within ``window`` before ``at`` (or after it), passing ``same_event``."""
        n = len(fp.tokens)
        if not n or not self._live:
            return None
        vocab = self._vocab
        known = [tid for tid in map(vocab.get, fp.tokens) if tid is not None]
        # Tokens the index has never seen come first in the order and hit nothing.
        probe = _prefix_len(n, self.threshold) - (n - len(known))
        if probe <= 0:
            return None
        known.sort(key=self._rank.__getitem__)
        postings = self._postings
        candidates: set[int] = set()
        budget = self.scan_budget
        probed = known[:probe]
        if budget is None or sum(len(postings[tid]) for tid in probed) <= budget:
            for tid in probed:
                candidates.update(postings[tid])
        else:
            # Over budget: every probed token still contributes, rarest first, but a long
            # posting list gives only its newest slots (slots ascend with time: a story's
            # other reports are mostly recent). Each token gets an equal share of what the
            # rarer tokens left unused.
            left = budget
            for i, tid in enumerate(probed):
                share = max(left // (len(probed) - i), self.min_share)
                slots = postings[tid]
                candidates.update(slots if len(slots) <= share else slots[-share:])
                left -= min(len(slots), share)
        if not candidates:
            return None
        # Overlaps of all candidates at C speed; only those that can reach the threshold
        # (|x & y| >= t * |x|) go through the Python-level checks.
        qids = set(known)
        slots = list(candidates)
        overlaps = map(len, map(qids.intersection, map(self._ids.__getitem__, slots)))
        need = math.ceil(self.threshold * n - 1e-9)
        threshold = self.threshold
        members = self._members
        starts = self._story_start
        t_at = _ts(at)
        window = self.window.total_seconds()
        best_sim, best_slot, best_story = 0.0, -1, -1
        for slot in itertools.compress(slots, map(need.__le__, overlaps)):
            member = members[slot]
            if member is None:
                continue
            ids = member[0]
            inter = len(qids.intersection(ids))
            sim = inter / (n + len(ids) - inter)
            if sim < threshold or sim < best_sim or (sim == best_sim and slot > best_slot):
                continue  # ties go to the earliest member
            story_id = member[5]
            if not -window <= t_at - starts[story_id] <= window:
                continue
            if same_event(fp, self._fingerprint(member)):
                best_sim, best_slot, best_story = sim, slot, story_id
        return None if best_slot < 0 else StoryMatch(best_story, best_sim)

    def find(self, fp: Fingerprint, at: datetime) -> int | None:
        """Story id for ``fp`` at ``at`` (see ``match``), or None for a new story."""
        m = self.match(fp, at)
        return None if m is None else m.story_id

    def prune(self, now: datetime) -> int:
        """Forget stories that started more than ``window`` before ``now``; return how many
        members were dropped. Compacts the index when most slots are dead."""
        cutoff = _ts(now) - self.window.total_seconds()
        if cutoff <= self._min_start:
            return 0
        old = [sid for sid, start in self._story_start.items() if start < cutoff]
        self._min_start = min(
            (start for start in self._story_start.values() if start >= cutoff), default=math.inf
        )
        dropped = 0
        for sid in old:
            del self._story_start[sid]
            for slot in self._story_slots.pop(sid):
                self._members[slot] = None
                self._ids[slot] = ()
                dropped += 1
        self._live -= dropped
        if dropped and self._live < len(self._members) // 2:
            self._reindex()
        return dropped

    def _reindex(self) -> None:
        """Drop dead slots and unused tokens, re-rank tokens by document frequency, re-index."""
        live = [m for m in self._members if m is not None]
        df = Counter(tid for m in live for tid in m[0])
        order = sorted(df, key=lambda tid: (df[tid], tid))  # rarest first
        new_id = {old: new for new, old in enumerate(order)}
        self._tokens = [self._tokens[old] for old in order]
        self._vocab = {tok: tid for tid, tok in enumerate(self._tokens)}
        self._rank = array("q", range(len(order)))  # token ids are now in rank order
        self._next_rank = -1
        postings: list[list[int]] = [[] for _ in order]
        slots_by_story: dict[int, list[int]] = {}
        self._postings = postings
        self._members = []
        self._ids = []
        self._story_slots = slots_by_story
        threshold = self.threshold
        for slot, (ids, headline, numbers, places, countries, story_id) in enumerate(live):
            new_ids = tuple(sorted(new_id[tid] for tid in ids))
            for tid in new_ids[: _prefix_len(len(new_ids), threshold)]:
                postings[tid].append(slot)
            self._ids.append(new_ids)
            self._members.append((new_ids, headline, numbers, places, countries, story_id))
            slots_by_story.setdefault(story_id, []).append(slot)
        self._reindex_at = max(_REINDEX_MIN, 2 * len(live))

    def rebuild(self, rows: Iterable[tuple[int, Fingerprint, datetime]]) -> None:
        """Add ``(story_id, fingerprint, at)`` rows, e.g. loaded from storage at start-up."""
        for story_id, fp, at in rows:
            self.add(story_id, fp, at)
