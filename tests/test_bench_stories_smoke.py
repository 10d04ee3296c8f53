"""Smoke test: the story-grouping harness runs on a slice of the dev set and prints its tables
(no figures asserted: those are measured by bench/stories_eval.py, see docs/dedup.md)."""

from __future__ import annotations

import io

import pytest

from bench.story_data import DEV_SET

pytest.importorskip("sklearn", reason="the harness fits its models with scikit-learn (dev extra)")


@pytest.mark.skipif(not DEV_SET.is_file(), reason="../shared/eval is absent")
def test_stories_eval_prints_clusterer_and_cost_tables() -> None:
    from bench.stories_eval import main

    out = io.StringIO()
    code = main(
        [
            *("--limit", "70", "--folds", "2", "--cost", "--members", "100", "--big", "300"),
            *("--queries", "20", "--brute-queries", "5"),
        ],
        out,
    )
    text = out.getvalue()
    assert code == 0
    assert "msg/story" in text and "wrong/100" in text and "B3 P" in text
    for label in ("title+summary", "title ", "time order", "one hour", "CV"):
        assert label in text
    assert "per-item cost" in text and "brute force" in text
    assert "cross-language pairs found" in text


@pytest.mark.skipif(not DEV_SET.is_file(), reason="../shared/eval is absent")
def test_end_to_end_replay_prints_its_table() -> None:
    from bench.stories_e2e import main

    out = io.StringIO()
    code = main(["--limit", "30", "--modes", "time order", "--texts", "title+summary"], out)
    text = out.getvalue()
    assert code == 0
    assert "msg/story" in text and "wrong/100" in text and "relevant alerted" in text
    [row] = [line for line in text.splitlines() if line.startswith("title+summary")]
    assert int(row.split()[4]) > 0, "some alerts went through the pipeline"
