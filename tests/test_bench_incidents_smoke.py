"""CI smoke run of bench/incidents.py on a tiny labelled file (the real figures use the dev set)."""

from __future__ import annotations

import io
from pathlib import Path

from bench import incidents

DATA = Path(__file__).parent / "data"


def test_bench_scores_a_labelled_file():
    out = io.StringIO()
    result = incidents.main(
        ["--items", str(DATA / "incidents_labelled.jsonl"),
         "--labels", str(DATA / "incidents_labelled.events.jsonl"), "--story-places", "--errors"],
        out=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "confusion" in text and "per-type F1" in text
    overall = result["item"]["overall"]
    assert overall["n"] == 6  # the item labelled not relevant is not scored
    assert overall["type_acc"] == 1.0
    assert overall["fatalities_exact"] == 1.0
    assert overall["place_p"] == 1.0 and overall["place_r"] == 1.0
    assert overall["severity"] == 1.0
    assert set(result["item"]) >= {"en", "fr", "ar", "overall"}


def test_bench_sees_errors():
    rows = [
        incidents.Row("a", "en", "s", "battles", "none", "armed clash", None, 3, None,
                      frozenset({"gao"}), frozenset(), frozenset({"gao"}), "high", "none"),
    ]  # fmt: skip
    s = incidents.scores(rows)
    assert s["type_acc"] == 0.0 and s["fatalities_exact"] == 0.0 and s["place_r"] == 0.0
