"""Benchmark: per-item cost of the stages a matched item goes through, and what they add to a
10,000-feed cycle.

Run from the repository root:  python -m bench.stage_costs  [--members 2000] [--repeat 5]

On the real headlines and summaries of the shared dev set (``../shared/eval``), the relevant
items (those a watchlist alerts on), one core, medians of ``--repeat`` passes:

- event typing: ``IncidentTagger.tag`` (the shipped lexicon and gazetteer);
- the story signature (``bot.core.story_model.signature`` with the shipped gazetteer and
  action classes);
- story assignment: ``StoryGroups.match`` then ``add`` against an index already holding
  ``--members`` members (the dev items again, under other ids: a window of a busy week);
- the index's memory per member (tracemalloc).

Then the sum for the alerts of a 10,000-feed cycle with 10% churn (``bench/cycle.py``'s
figure, 5,000 new items), at the benchmark's alert rate and if every new item alerted. The
source kinds' per-item costs are in ``python -m bench.sources``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.core.story_index import StoryGroups
from bot.core.story_model import Signature, signature
from bot.cycle.story_grouping import action_finder, load_story_model, place_finder
from bot.data.incident_data import load_default_tagger

DEV_SET = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "sahel-news-dev.jsonl"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CHURN_ITEMS = 5_000  # 10,000 feeds x 10% changed x 5 new items (bench/cycle.py)
BENCH_ALERT_RATE = 0.02  # bench/feedgen.py: about 2% of the items name a watched entity


def load_items(path: Path) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [r for r in rows if r.get("relevant")]


def per_item(fn: Callable[[], object], count: int, repeat: int) -> float:
    """Median seconds per item of ``fn`` (which handles ``count`` items) over ``repeat`` runs."""
    fn()  # warm-up: lazy tables, caches
    times = []
    for _ in range(repeat):
        started = time.process_time()
        fn()
        times.append(time.process_time() - started)
    return statistics.median(times) / count


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEV_SET)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--limit", type=int, default=0, help="first N items only (smoke)")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"no dev set at {args.data}", file=out)
        return 1
    items = load_items(args.data)
    if args.limit:
        items = items[: args.limit]
    texts = [(str(i.get("title") or ""), str(i.get("summary") or "")) for i in items]
    entities = [tuple(str(e) for e in i.get("entities") or ()) for i in items]  # type: ignore[attr-defined]
    tagger = load_default_tagger()
    places, actions = place_finder(), action_finder()
    model = load_story_model()

    def tag_all() -> None:
        for title, summary in texts:
            tagger.tag(title, summary)

    def sign_all() -> list[Signature]:
        return [
            signature(t, s, e, places, actions) for (t, s), e in zip(texts, entities, strict=True)
        ]

    sigs = sign_all()
    tracemalloc.start()
    kept = sign_all()  # what an index member holds: its signature
    sig_bytes = tracemalloc.get_traced_memory()[0] / len(kept)
    tracemalloc.stop()
    del kept

    def filled_index() -> StoryGroups:
        index = StoryGroups(model, window=timedelta(days=7))
        for n in range(args.members):
            index.add(10_000 + n, sigs[n % len(sigs)], NOW - timedelta(hours=1))
        return index

    def assign_seconds() -> float:
        index = filled_index()
        started = time.process_time()
        for n, sig in enumerate(sigs):
            index.match(sig, NOW)
            index.add(n, sig, NOW)
        return time.process_time() - started

    assign_seconds()  # warm-up
    assign = statistics.median(assign_seconds() for _ in range(args.repeat)) / len(sigs)

    costs = {
        "event typing (IncidentTagger.tag)": per_item(tag_all, len(texts), args.repeat),
        "story signature": per_item(sign_all, len(texts), args.repeat),
        f"story assignment (match + add, {args.members:,} members)": assign,
    }
    total = sum(costs.values())
    print(
        f"\n{len(texts)} relevant dev-set items, one core, medians of {args.repeat} passes\n",
        file=out,
    )
    print("| Stage | per alerted item ms |", file=out)
    print("| --- | ---: |", file=out)
    for label, seconds in costs.items():
        print(f"| {label} | {seconds * 1000:.2f} |", file=out)
    print(f"| all three | {total * 1000:.2f} |", file=out)
    print(f"\nstory signature memory: {sig_bytes / 1024:.1f} KB per indexed alert", file=out)
    bench_alerts = CHURN_ITEMS * BENCH_ALERT_RATE
    print(
        f"10,000 feeds, 10% churn ({CHURN_ITEMS:,} new items): {bench_alerts:.0f} alerts at the"
        f" benchmark's rate add {bench_alerts * total:.2f} s; if every new item alerted,"
        f" {CHURN_ITEMS * total:.1f} s",
        file=out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
