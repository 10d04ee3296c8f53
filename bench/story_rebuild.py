"""Benchmark: re-indexing the story window at start, signatures computed vs read back.

Run from the repository root:  python -m bench.story_rebuild  [--alerts 10000] [--repeats 5]

Every `poll --once` is a fresh process: with its first alert it re-indexes the alerts of the
story window (72 h). ``bench/cycle.py``'s 10,000-feed 10%-changed cycle holds about 9,500 of
them. This builds a real SQLite file with ``--alerts`` alerts in the window (the texts of
``bench/feedgen.py``'s items, each naming watched entities as the alerting 2% do), every one
stored with its signature (migration 0016, bot.cycle.story_signatures), then times
``StoryGrouper.load`` in one process, the ways interleaved, medians of ``--repeats``:

- *before*: every signature computed from the stored texts, the garbage collector running
  (the grouper before migration 0016);
- *computed*: the same with the collector paused during the re-index (as ``load`` does now);
- *read back*: every signature of the running tag read from ``story_signatures``;
- *first start*: none of the running tag (after an upgrade): computed, then stored.

It checks that the read-back index holds the same signatures as the computed one, and
prints the stored bytes per alert and the cost of encoding one signature (paid when an alert
is stored).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bench.feedgen import WATCHED, item_fields
from bot.core.story_codec import encode_signature, inputs_digest
from bot.core.watchlist import Priority
from bot.cycle.story_grouping import StoryGrouper
from storage.alerts import AlertDraft, NewItem
from storage.db import open_database
from storage.repository import Repository

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=72)
_TAG = re.compile(r"<[^>]+>")


def _alerts(count: int) -> list[tuple[str, str, tuple[str, ...]]]:
    """(title, summary, entities) of ``count`` alerted items of feedgen's feeds."""
    rng = random.Random(21)
    out = []
    for n in range(count):
        fields = item_fields(1, n % 10_000, n // 10_000, 1.7e9)
        names = tuple(rng.sample(WATCHED, rng.randint(1, 2)))
        title = fields["title"].split()
        title.insert(rng.randrange(len(title)), names[0])
        summary = _TAG.sub(" ", fields["description"]).strip()
        out.append((" ".join(title), summary, names))
    return out


def build(path: Path, count: int) -> Repository:
    """A database with ``count`` alerts in the window, each with its stored signature."""
    repo = Repository(open_database(path))
    grouper = StoryGrouper(repo, WINDOW, store_signatures=True)
    tag = grouper.tag
    alerts = _alerts(count)
    spread = WINDOW.total_seconds() * 0.9 / max(1, count)
    for start in range(0, count, 500):
        chunk = alerts[start : start + 500]
        at = NOW - WINDOW * 0.95 + timedelta(seconds=spread * start)
        items = []
        for n, (title, summary, entities) in enumerate(chunk, start):
            sig = grouper.signature(title, summary, entities)
            stored = None
            if tag is not None:
                stored = (tag, encode_signature(sig, inputs_digest(title, summary, entities)))
            draft = AlertDraft(
                source="bench",
                title=title,
                link=f"https://example.org/{n}",
                summary=summary,
                published=None,
                entities=entities,
                matches=(),
                priority=Priority.NORMAL,
                chats=(),
                story_id=None,
                story_signature=stored,
            )
            items.append(NewItem(f"k{n}", None, "bench", title, draft.link, None, alert=draft))
        repo.alerts.store_feed_items("bench", items, at, None)
    return repo


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000, help="alerts in the window")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nw-rebuild-") as tmp:
        started = time.perf_counter()
        repo = build(Path(tmp) / "nw.db", args.alerts)
        built = time.perf_counter() - started
        db = repo.db
        tag = StoryGrouper(repo, WINDOW, store_signatures=True).tag
        if tag is None:
            print("no signature tag (no sources): nothing is stored", file=out)
            return 1
        stored_bytes = db.execute("SELECT sum(length(data)) FROM story_signatures").fetchone()[0]
        saved = db.execute("SELECT alert_id, tag, data FROM story_signatures").fetchall()

        def before() -> StoryGrouper:  # as before: computed, with the collector running
            grouper = StoryGrouper(repo, WINDOW)
            grouper._load(NOW)
            return grouper

        def computed() -> StoryGrouper:
            grouper = StoryGrouper(repo, WINDOW)
            grouper.load(NOW)
            return grouper

        def read_back() -> StoryGrouper:
            grouper = StoryGrouper(repo, WINDOW, store_signatures=True)
            grouper.load(NOW)
            return grouper

        def first_start() -> StoryGrouper:
            grouper = StoryGrouper(repo, WINDOW, store_signatures=True)
            grouper.load(NOW)
            return grouper

        def restore() -> None:  # the stored signatures again, as build() left them
            db.execute("DELETE FROM story_signatures")
            db.conn.executemany("INSERT INTO story_signatures VALUES (?, ?, ?)", saved)

        # warm-up: lexicons, caches; and the check that both ways index the same signatures
        a, b = computed(), read_back()
        same = [m[0] if m else None for m in a.index._members] == [
            m[0] if m else None for m in b.index._members
        ]
        times: dict[str, list[tuple[float, float]]] = {
            "before": [],
            "computed": [],
            "read": [],
            "first": [],
        }
        for _ in range(args.repeats):
            times["before"].append(_timed(before))
            times["computed"].append(_timed(computed))
            times["read"].append(_timed(read_back))
            db.execute("DELETE FROM story_signatures")
            times["first"].append(_timed(first_start))
            restore()
        sample = b.index._members[0]
        assert sample is not None
        encode = []
        for _ in range(args.repeats):
            row = next(iter(repo.alerts.iter_story_members(NOW - WINDOW)))
            sig = sample[0]
            t = time.process_time()
            for _ in range(200):
                encode_signature(sig, inputs_digest(row.title, row.summary, row.entities))
            encode.append((time.process_time() - t) / 200)

    def med(rows: list[tuple[float, float]], i: int) -> float:
        return statistics.median(r[i] for r in rows)

    base = med(times["before"], 1)
    print(
        f"Re-index of {args.alerts:,} alerts in the story window (built in {built:.0f} s),"
        f" medians of {args.repeats}, ways interleaved:\n",
        file=out,
    )
    print("| Way | Wall s | CPU s | CPU ms per alert | CPU vs before |", file=out)
    print("| --- | ---: | ---: | ---: | ---: |", file=out)
    for key, label in (
        ("before", "before: computed, collector on"),
        ("computed", "computed, collector paused"),
        ("read", "read back (migration 0016)"),
        ("first", "first start: computed and stored"),
    ):
        cpu = med(times[key], 1)
        print(
            f"| {label} | {med(times[key], 0):.2f} | {cpu:.2f} |"
            f" {cpu / max(1, args.alerts) * 1000:.3f} | {cpu / base if base else 0:.2f}x |",
            file=out,
        )
    print(
        f"\nsame signatures read back as computed: {'yes' if same else 'NO'};"
        f" stored {stored_bytes / max(1, args.alerts):,.0f} bytes per alert;"
        f" encoding one signature when its alert is stored:"
        f" {statistics.median(encode) * 1e6:.0f} µs",
        file=out,
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
