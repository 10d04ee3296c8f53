"""Benchmark /search: FTS5 insert cost (triggers firing) and time per result page on N alerts.

Usage: ``PYTHONPATH=. python bench/search.py [N]`` (default 100000). Random words from a Sahel
vocabulary, so most queries match most rows: a worst case for counting and sorting.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.search_query import parse_search
from storage.db import open_database
from storage.queries import Queries
from storage.transactions import transaction

WORDS = [
    "Mali", "JNIM", "Bamako", "Kidal", "Gao", "attaque", "armée", "drone", "Goïta", "Lavrov",
    "Wagner", "convoi", "civils", "marché", "Ségou", "Ménaka", "Tombouctou", "Jama'at",
    "rebels", "army", "junta",
]  # fmt: skip
QUERIES = ["jama'at", "goita lavrov", "kid*", "JNIM since:7d", '"army junta"', "NEAR( drone"]
INSERT = (
    "INSERT INTO alerts (item_key, story_id, source, sources, title, summary, created_at,"
    " entities, matches, priority, delivered) VALUES (?, 1, ?, '[]', ?, ?, ?, ?, '[]', 'normal', 1)"
)


def main(count: int) -> None:
    path = Path(tempfile.mkdtemp()) / "search-bench.db"
    db = open_database(path)
    rng = random.Random(1)
    now = datetime.now(UTC)
    rows = [
        (
            f"k{i}",
            f"src{i % 40}",
            " ".join(rng.choices(WORDS, k=10)),
            " ".join(rng.choices(WORDS, k=30)),
            (now - timedelta(minutes=i)).isoformat(timespec="seconds"),
            json.dumps(rng.sample(["JNIM", "Mali", "Kidal", "Bamako"], 2)),
        )
        for i in range(count)
    ]
    started = time.perf_counter()
    with transaction(db):
        db.execute("INSERT INTO stories (id, title) VALUES (1, 'bench')")
        db.conn.executemany(INSERT, rows)
    print(f"insert {count} alerts with FTS triggers: {time.perf_counter() - started:.1f}s")
    queries = Queries(db)
    for text in QUERIES:
        parsed = parse_search(text)
        assert parsed.match is not None
        since = now - parsed.since if parsed.since else None
        queries.search(parsed.match, since=since)  # warm up
        runs = 20
        started = time.perf_counter()
        for _ in range(runs):
            page = queries.search(parsed.match, since=since, limit=10)
        per_page = 1000 * (time.perf_counter() - started) / runs
        print(f"{text!r:18} total={page.total:7d} {per_page:6.1f} ms/page")
    print(f"database size: {path.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
