"""CI smoke run of bench/incidents.py on a tiny labelled file (the real figures use the dev set)."""

from __future__ import annotations

import io
from pathlib import Path

from bench import incidents
from bot.core.incidents import EventType, IncidentFields, PlaceRecord, Severity

DATA = Path(__file__).parent / "data"


def test_bench_scores_a_labelled_file() -> None:
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
    # the headline: the bot's grouping and story alert, by language and half, with targets
    assert "HEADLINE" in text
    head = result["headline"]
    assert set(head) >= {"en", "fr", "ar", "overall"}
    assert head["overall"]["n"] == 6 and isinstance(head["overall"]["targets_met"], bool)
    assert 0.0 <= head["overall"]["place_r"] <= 1.0


def test_bench_sees_errors() -> None:
    rows = [
        incidents.Row("a", "en", "s", "battles", "none", "armed clash", None, 3, None,
                      frozenset({"gao"}), frozenset(), frozenset({"gao"}), "high", "none"),
    ]  # fmt: skip
    s = incidents.scores(rows)
    assert s["type_acc"] == 0.0 and s["fatalities_exact"] == 0.0 and s["place_r"] == 0.0


def _row(item_id: str, story: str, places: list[str]) -> incidents.Row:
    incident = IncidentFields(
        EventType.BATTLES,
        "armed clash",
        None,
        tuple(PlaceRecord(p, p) for p in places),
        Severity.MEDIUM,
    )
    return incidents.Row(item_id, "en", story, "battles", "battles", None, None, None, None,
                         frozenset({"gao", "kidal"}), frozenset(places), frozenset(), "medium",
                         "medium", incident=incident)  # fmt: skip


def test_story_view_is_what_the_bot_shows_when_the_item_arrives() -> None:
    rows = [_row("1", "s", ["gao"]), _row("2", "s", ["kidal"]), _row("3", "t", ["menaka"])]
    # the second report arrives first: it shows only its own place; the first shows both
    view = incidents.replay_story_incidents(rows, {"1": "s", "2": "s", "3": "t"}, ["2", "1", "3"])
    got = {r.id: r.pred_places for r in view}
    assert got == {"1": {"gao", "kidal"}, "2": {"kidal"}, "3": {"menaka"}}
    # grouped apart, each keeps its own places
    view = incidents.replay_story_incidents(rows, {"1": "a", "2": "b", "3": "t"}, ["1", "2", "3"])
    assert {r.id: r.pred_places for r in view}["1"] == {"gao"}


def test_story_halves_are_fixed_by_story_id() -> None:
    assert incidents.story_half("kati-camp-attack-2022-07-22") in ("A", "B")
    halves = {incidents.story_half(f"story-{n}") for n in range(20)}
    assert halves == {"A", "B"}
