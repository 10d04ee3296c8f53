"""CI smoke run of bench/stage_costs.py on a tiny file (the real figures use the dev set).

It asserts the table's shape, never a speed."""

from __future__ import annotations

import io
from pathlib import Path

from bench import stage_costs

DATA = Path(__file__).parent / "data"


def test_bench_prints_the_per_item_costs_of_the_stages() -> None:
    out = io.StringIO()
    code = stage_costs.main(
        ["--data", str(DATA / "incidents_labelled.jsonl"), "--members", "30", "--repeat", "1"],
        out=out,
    )
    text = out.getvalue()
    assert code == 0, text
    for stage in ("event typing", "story signature", "story assignment", "all three"):
        assert f"| {stage}" in text, text
    assert "KB per indexed alert" in text
    assert "10,000 feeds, 10% churn" in text
