"""Smoke test: the story-grouping harness runs on a slice of the dev set and prints its tables
(no figures asserted: those are measured by bench/stories_eval.py, see docs/dedup.md)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bench.story_data import DEV_SET

pytest.importorskip("sklearn", reason="the harness fits its models with scikit-learn (dev extra)")


@pytest.mark.skipif(not DEV_SET.is_file(), reason="../shared/eval is absent")
@pytest.mark.slow
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
@pytest.mark.slow
def test_end_to_end_replay_prints_its_table() -> None:
    from bench.stories_e2e import main

    out = io.StringIO()
    code = main(["--limit", "30", "--modes", "time order", "--texts", "title+summary"], out)
    text = out.getvalue()
    assert code == 0
    assert "msg/story" in text and "wrong/100" in text and "relevant alerted" in text
    [row] = [line for line in text.splitlines() if line.startswith("title+summary")]
    assert int(row.split()[4]) > 0, "some alerts went through the pipeline"


def test_export_csv_loads_as_labelled_items(tmp_path: Path) -> None:
    from bench.story_data import load_items

    path = tmp_path / "alerts.csv"
    path.write_text(
        "id,created_at,published_at,source,sources,title,link,summary,entities,priority,story_id\n"
        "1,2026-03-01T08:00:00+00:00,2026-03-01T07:50:00+00:00,RFI,[],Attaque à Gao,"
        "https://rfi.example/1,Des hommes armés…,[],normal,4\n"
        "2,2026-03-01T09:00:00+00:00,,BBC,[],Gao attack,https://bbc.example/2,,[],normal,4\n"
        "3,2026-03-02T09:00:00+00:00,,BBC,[],Kidal,https://bbc.example/3,,[],normal,\n",
        encoding="utf-8",
    )
    items = load_items(path)
    assert [i.story for i in items] == ["4", "4", "A3"]
    assert items[0].outlet == "RFI" and items[0].url == "https://rfi.example/1"
    assert all(i.relevant for i in items)


def test_wrong_merges_are_split_by_relevance_and_explained() -> None:
    from datetime import UTC, datetime, timedelta

    from bench.stories_eval import wrong_merges
    from bench.story_data import LabelledItem, score_clusters, signatures
    from bot.cycle.story_grouping import load_story_model

    t0 = datetime(2024, 1, 28, 8, tzinfo=UTC)

    def item(n: int, title: str, story: str, relevant: bool) -> LabelledItem:
        at = t0 + timedelta(hours=n)
        return LabelledItem(f"i{n}", title, "", "o", f"https://o/{n}", "en", relevant, story, at)

    items = [
        item(0, "Niger, Mali and Burkina Faso quit ECOWAS", "exit", True),
        item(1, "Mali sends ECOWAS formal notice of withdrawal", "notice", True),
        item(2, "Panthers fans pack arena for watch party", "game1", False),
        item(3, "Panthers fans pack arena for Game 2 watch party", "game2", False),
        item(4, "Mali junta suspends political parties", "parties", True),
    ]
    predicted = [0, 0, 2, 2, 4]  # two wrong merges: one relevant, one among confounders
    scores = score_clusters(items, predicted)
    assert (scores.wrong_relevant, scores.wrong_other) == (1, 1)
    assert scores.wrong_per_100 == pytest.approx(100 * 2 / 5)
    model = load_story_model()
    lines = wrong_merges(items, signatures(items, "title"), predicted, "time order", [model] * 5)
    text = "\n".join(lines)
    assert text.count("cluster of 2 true stories") == 2
    assert "(relevant)" in text and "(non-relevant)" in text
    assert "joined: [notice] to [exit]" in text and "joined: [game2] to [game1]" in text
    assert "features:" in text and "margin" in text


@pytest.mark.skipif(not DEV_SET.is_file(), reason="../shared/eval is absent")
def test_undated_modes_give_no_dates_and_arrive_after_publication() -> None:
    from datetime import timedelta

    from bench.story_data import (
        ALL_MODES,
        UNDATED_MODES,
        arrival_times,
        dated_flags,
        event_times,
        load_items,
    )

    items = load_items()[:120]
    for mode in ALL_MODES:
        arrivals = arrival_times(items, mode)
        assert arrivals == sorted(arrivals), mode
        undated = mode in UNDATED_MODES
        assert dated_flags(items, mode, arrival_bound=False) == [not undated] * len(items), mode
        assert all(dated_flags(items, mode, arrival_dates=True)), mode
        if undated:
            assert event_times(items, mode) == arrivals, mode
    bursts = arrival_times(items, "72 h bursts, undated")
    assert all(
        i.at <= at <= i.at + timedelta(hours=73) for i, at in zip(items, bursts, strict=True)
    )
    assert len(set(bursts)) == len(items) and len({at.date() for at in bursts}) > 1
    flow = arrival_times(items, "time order, undated")  # at the next 6-hourly poll
    assert all(i.at <= at <= i.at + timedelta(hours=6) for i, at in zip(items, flow, strict=True))


@pytest.mark.skipif(not DEV_SET.is_file(), reason="../shared/eval is absent")
def test_link_dates_date_undated_reports_only() -> None:
    """The benches date an undated item by its link as the pipeline does (report_date): never
    in a dated mode (a feed's date wins), never after the item's arrival, and not at all with
    ``link_dates`` False."""
    from bench.story_data import (
        ALL_MODES,
        UNDATED_MODES,
        arrival_times,
        dated_flags,
        event_times,
        grouping_dates,
        load_items,
    )
    from bot.core.link_dates import link_date

    items = load_items()
    burst = arrival_times(items, "one hour")
    assert min(burst) >= max(i.at for i in items)  # a backlog read after it was published
    for mode in ALL_MODES:
        events, dated = grouping_dates(items, mode)
        before = (event_times(items, mode), dated_flags(items, mode))
        assert grouping_dates(items, mode, link_dates=False) == before, mode
        if mode not in UNDATED_MODES:
            assert (events, dated) == before, mode
            continue
        arrivals = arrival_times(items, mode)
        for item, event, is_dated, at, was in zip(
            items, events, dated, arrivals, before[1], strict=True
        ):
            day = link_date(item.url, at)
            assert event <= at
            if was:  # dated by its arrival: the link is not read
                assert event == at
            else:
                assert is_dated is (day is not None), item.url
                assert event.date() == (day or at.date()), item.url
    _events, dated = grouping_dates(items, "one hour")
    assert 60 <= sum(dated) <= 80  # 68 of the 320 links state a full date


@pytest.mark.skipif(not DEV_SET.is_file(), reason="../shared/eval is absent")
def test_undated_modes_bound_dates_as_the_pipeline_would() -> None:
    """The steady flow of an undated feed (polled every 6 h all along) gets the arrival bound
    of bot.core.arrival_bound; a burst after 72 h of downtime, or after a long outage, none."""
    from bench.story_data import dated_flags, load_items

    items = load_items()[:80]
    assert all(dated_flags(items, "time order, undated"))
    assert not any(dated_flags(items, "time order, undated", arrival_bound=False))
    assert not any(dated_flags(items, "72 h bursts, undated"))
    assert not any(dated_flags(items, "one hour"))
    assert all(dated_flags(items, "one hour, dated"))


def test_shipped_undated_thresholds_are_the_precision_first_ones() -> None:
    """bot/data/story_model.json was fitted with bench/story_data.py's UNDATED_THRESHOLD: an
    undated pair joins only when near-certain (docs/dedup.md, "Precision of the undated
    burst"); the dated variants keep their fitted thresholds."""
    from bench.story_data import UNDATED_THRESHOLD
    from bot.cycle.story_grouping import load_story_model

    model = load_story_model()
    assert model.full_undated is not None and model.title_undated is not None
    assert model.full_undated.threshold == model.title_undated.threshold == UNDATED_THRESHOLD
    assert max(model.full.threshold, model.title.threshold) < UNDATED_THRESHOLD


@pytest.mark.parametrize(("given", "threshold"), [("fitted", None), ("0.9", 0.9), ("0.95", 0.95)])
def test_undated_threshold_option(given: str, threshold: float | None) -> None:
    from bench.stories_eval import _undated_threshold

    assert _undated_threshold(given) == threshold


@pytest.mark.parametrize("given", ["0", "1", "1.5", "-0.2"])
def test_undated_threshold_option_refuses_what_is_not_a_probability(given: str) -> None:
    import argparse

    from bench.stories_eval import _undated_threshold

    with pytest.raises(argparse.ArgumentTypeError):
        _undated_threshold(given)


def test_fixed_undated_threshold_keeps_the_fitted_weights() -> None:
    from bench.story_data import _without_gap
    from bot.core.story_model import FEATURES, GAP_FEATURES

    fitted = {
        "features": list(FEATURES),
        "weights": [0.5] * len(FEATURES),
        "intercept": -1.0,
        "threshold": 0.3,
    }
    fixed = _without_gap(fitted, 0.95)
    assert fixed["threshold"] == 0.95 and _without_gap(fitted)["threshold"] == 0.3
    assert fixed["intercept"] == -1.0
    assert [w for n, w in zip(FEATURES, fixed["weights"], strict=True) if n in GAP_FEATURES] == [
        0.0
    ] * len(GAP_FEATURES)
    assert all(
        w == 0.5 for n, w in zip(FEATURES, fixed["weights"], strict=True) if n not in GAP_FEATURES
    )
