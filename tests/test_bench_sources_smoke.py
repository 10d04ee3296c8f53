"""Smoke test: the per-source-kind benchmark runs at a tiny size and prints its table."""

from __future__ import annotations

import io

from bench import sources


def test_bench_prints_one_row_per_kind_with_every_item_read() -> None:
    out = io.StringIO()
    assert sources.main(["--items", "8", "--repeat", "1"], out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["kind", "items", "us/item", "vs", "rss"]
    rows = [line.rsplit(None, 3) for line in lines[1:]]
    assert [r[0] for r in rows] == [
        "rss (baseline)",
        "json feed",
        "telegram preview",
        "page, FR dates",
        "page, no date",
        "gdelt artlist",
    ]
    assert all(r[1] == "8" for r in rows), "each kind reads every item of its body"
    assert rows[0][3] == "1.0x"
