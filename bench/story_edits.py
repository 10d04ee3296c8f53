"""What deciding the "also reported by" edits costs one delivery pass, before and after the
rule moved into the core (bot/core/story_edits.py).

Baseline: the query the rule used to live in (interval, window and outlets in one SQL WHERE,
kept here verbatim). Now: ``Repository.story_edit_candidates`` (stories whose messages lag
behind their outlets, updated in the window) filtered by ``edit_due``, then
``story_edit_messages`` for the due ones. Both run in this process over the same SQLite
file (stories, first alerts, two sent messages each); the table gives medians and the
ratio. Both must return the same messages.

    python bench/story_edits.py [--stories 20000] [--due-every 200] [--repeats 21]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.story_edits import EditRule, candidates_since, edit_due  # noqa: E402
from storage.db import open_database  # noqa: E402
from storage.repository import Repository, iso  # noqa: E402

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
OLD_SQL = (
    "SELECT s.id AS story_id, s.outlets AS story_outlets, d.id AS delivery_id,"
    " d.chat_id, d.thread_id, d.message_id, a.*"
    " FROM stories s JOIN deliveries d ON d.alert_id = s.first_alert_id"
    " AND d.kind = 'alert' AND d.status = 'sent' AND d.message_id IS NOT NULL"
    " JOIN alerts a ON a.id = s.first_alert_id"
    " LEFT JOIN chats c ON c.chat_id = d.chat_id"
    " WHERE json_array_length(s.outlets) > COALESCE(s.edited_outlets, 1)"
    " AND (s.last_edit_at IS NULL OR s.last_edit_at <= ?)"
    " AND s.updated_at >= ? AND COALESCE(c.active, 1) = 1"
    " ORDER BY s.id, d.id"
)


def fill(repo: Repository, stories: int, due_every: int) -> None:
    """``stories`` stories over 4 days, each with a first alert sent to two groups; every
    10th gained an outlet, and all but every ``due_every``-th of those are edited already."""
    alerts: list[tuple[object, ...]] = []
    rows: list[tuple[object, ...]] = []
    deliveries: list[tuple[object, ...]] = []
    for i in range(1, stories + 1):
        at = iso(NOW - timedelta(minutes=(i * 7) % (96 * 60)))
        outlets = ["A", "B"] if i % 10 == 0 else ["A"]
        shown = 1 if i % due_every == 0 else len(outlets)
        rows.append((i, f"story {i}", at, at, "fp", json.dumps(outlets), shown, i))
        alerts.append(
            (i, f"k{i}", i, "u", "A", "[]", f"title {i}", "l", "s", at, at, "[]", "[]", "normal", 1)
        )
        deliveries.extend((i, chat, "alert", "sent", 1000 + i, at, at) for chat in (-100, -200))
    conn = repo.db.conn
    conn.execute("PRAGMA foreign_keys = OFF")  # rows inserted table by table
    conn.executemany(
        "INSERT INTO alerts (id, item_key, story_id, feed_url, source, sources, title, link,"
        " summary, published_at, created_at, entities, matches, priority, delivered)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        alerts,
    )
    conn.executemany(
        "INSERT INTO stories (id, title, created_at, updated_at, fingerprint, outlets,"
        " edited_outlets, first_alert_id) VALUES (?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.executemany(
        "INSERT INTO deliveries (alert_id, chat_id, kind, status, message_id, created_at,"
        " updated_at) VALUES (?,?,?,?,?,?,?)",
        deliveries,
    )
    conn.commit()


def median_ms(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=20000)
    parser.add_argument("--due-every", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=21)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "bench.db")
        repo = Repository(db)
        fill(repo, options.stories, options.due_every)
        rule = EditRule()

        def before() -> list[tuple[int, int]]:
            bounds = [iso(NOW - rule.interval), iso(NOW - rule.window)]
            rows = db.execute_returning_dicts(OLD_SQL, bounds)
            return [(r["story_id"], r["delivery_id"]) for r in rows]

        def after() -> list[tuple[int, int]]:
            due = [
                s.story_id
                for s in repo.outbox.story_edit_candidates(candidates_since(NOW, rule))
                if edit_due(s, NOW, rule)
            ]
            edits = repo.outbox.story_edit_messages(due) if due else []
            return [(e.story_id, e.delivery_id) for e in edits]

        keys = [before(), after()]
        if keys[0] != keys[1]:
            print("the two ways disagree on the messages to edit", file=sys.stderr)
            return 1
        old, new = median_ms(before, options.repeats), median_ms(after, options.repeats)
        db.conn.close()
    print(f"{'way':<28} {'stories':>8} {'due_msgs':>8} {'median_ms':>10} {'ratio':>6}", file=out)
    for way, ms in (("rule in SQL (before)", old), ("edit_due (now)", new)):
        print(
            f"{way:<28} {options.stories:>8} {len(keys[0]):>8} {ms:>10.2f} {ms / old:>6.2f}",
            file=out,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
