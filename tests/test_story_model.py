"""Story grouping core: the precision guard, the model file, and the online StoryGroups index."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.story_index import StoryGroups
from bot.core.story_model import (
    FEATURES,
    GAP_FEATURES,
    ModelError,
    Signature,
    conflict,
    instances,
    later_step,
    pair_features,
    parse_story_model,
    signature,
    title_numbers,
)
from bot.cycle.story_grouping import (
    MODEL_FILE,
    action_finder,
    load_story_model,
    meaning_finder,
    place_finder,
)
from tests.harness import default_matcher

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
MATCHER = default_matcher()
PLACES = place_finder()
ACTIONS = action_finder()
MEANINGS = meaning_finder()
MODEL = load_story_model()


def sig(title: str, summary: str = "") -> Signature:
    return signature(
        title, summary, MATCHER.match(title, summary).entities, PLACES, ACTIONS, MEANINGS
    )


@pytest.mark.parametrize(
    ("a", "b", "refused"),
    [
        # one template, another town or another toll: two events
        ("Mali: JNIM claims raid on Tenenkou", "Mali: JNIM claims raid on Youwarou", True),
        ("Mali: 12 soldiers killed near Ségou", "Mali: 30 soldiers killed near Ségou", True),
        # the same counts rounded by two outlets, and a region holding the town: one event
        ("Goïta pardons 46 Ivorian soldiers", "Goïta pardons 49 Ivorian soldiers", False),
        ("Attack on the Boulkessi camp", "Attack on a camp in the Mopti region", False),
        # rewrites that differ in more than the place or number: left to the model
        ("21 dead in Mali hotel siege", "At least 30 dead in Radisson Hotel attack", False),
        # numbers and places that are not there: no guard
        ("Mali: JNIM claims raid", "Mali: JNIM claims raid on Youwarou", False),
    ],
)  # fmt: skip
def test_guard_only_on_one_template_with_other_places_or_numbers(
    a: str, b: str, refused: bool
) -> None:
    assert conflict(sig(a), sig(b)) is refused
    assert conflict(sig(b), sig(a)) is refused


def test_guard_ignores_words_that_are_not_gazetteer_places() -> None:
    # "euronews", "Nigerian", "July" after "in" are not places: no conflict on them
    a = sig("Mali junta extends transition in July, says euronews")
    b = sig("Mali junta extends transition in Nigerian talks")
    assert not a.title_places and not b.title_places
    assert not conflict(a, b)


def test_cross_language_rewrite_shares_entities_and_places() -> None:
    en = sig("Mali: JNIM claims attack on army camp in Boulkessi")
    ar = sig("مالي: جماعة نصرة الإسلام والمسلمين تتبنى الهجوم على معسكر بولكيسي")
    assert "JNIM" in en.entities and "JNIM" in ar.entities
    assert en.places & ar.places
    feats = dict(zip(FEATURES, pair_features(en, ar, 2.0), strict=True))
    assert feats["cross_script"] == 1.0 and feats["places_shared"] >= 1.0
    unrelated = sig("مالي: الحكومة تعلن موعد الانتخابات الرئاسية")
    assert MODEL.probability(en, ar, 2.0) > MODEL.probability(en, unrelated, 2.0)


def test_groups_join_keep_apart_and_respect_the_window() -> None:
    groups = StoryGroups(MODEL)
    first = sig("Mali: JNIM claims attack on army camp in Boulkessi")
    groups.add(1, first, T0)
    rewrite = sig("Mali : le JNIM revendique l'attaque du camp militaire de Boulkessi")
    hit = groups.match(rewrite, T0 + timedelta(hours=3))
    assert hit is not None and hit.story_id == 1
    other = sig("Burkina Faso: army retakes Djibo after week of fighting")
    assert groups.match(other, T0 + timedelta(hours=3)) is None
    assert groups.match(rewrite, T0 + timedelta(hours=80)) is None, "72 h after its last report"
    assert groups.prune(T0 + timedelta(hours=80)) == 1 and len(groups) == 0


def test_a_story_still_being_reported_stays_open() -> None:
    # The window counts from a story's latest report: reports every day keep it open, and a
    # report is compared with the story's members of the last 72 h.
    groups = StoryGroups(MODEL)
    daily = [
        "Mali: JNIM claims attack on army camp in Boulkessi",
        "Mali : le JNIM revendique l'attaque du camp militaire de Boulkessi",
        "JNIM claims Boulkessi camp attack in central Mali",
        "Attaque du camp de Boulkessi au Mali : le JNIM revendique",
    ]
    groups.add(1, sig(daily[0]), T0)
    for day, title in enumerate(daily[1:], start=1):
        at = T0 + timedelta(hours=40 * day)
        groups.prune(at)
        hit = groups.match(sig(title), at)
        assert hit is not None and hit.story_id == 1, f"day {day}: {title}"
        groups.add(1, sig(title), at)
    assert groups.story_count == 1
    assert len(groups) == 2  # members older than 72 h were forgotten, the story was not
    # 72 h after its last report, the story is closed
    last = T0 + timedelta(hours=120)
    assert groups.prune(last + timedelta(hours=73)) == 2
    assert (
        groups.story_count == 0 and groups.match(sig(daily[0]), last + timedelta(hours=73)) is None
    )


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Panthers fans fill arena for Stanley Cup Final Game 2 watch party", {"game:2"}),
        ("Mali: second round of the presidential vote", {"round:2"}),
        ("Présidentielle : le 2e tour fixé au 13 août", {"tour:2"}),
        ("Day 3 of the trial of the Radisson attackers", {"day:3"}),
        ("Troisième journée du dialogue national à Bamako", {"journee:3"}),
        ("JNIM attack kills 12 soldiers", set()),
        ("Mali 2024: the year in review", set()),
    ],
)  # fmt: skip
def test_numbered_instances_of_a_series(text: str, found: set[str]) -> None:
    assert instances(text) == found


def test_an_instance_number_is_not_a_toll() -> None:
    assert title_numbers("Game 2: Panthers lose 5 to 2") == {5, 2}
    assert title_numbers("Stanley Cup Final Game 2 watch party") == frozenset()


@pytest.mark.parametrize(
    ("a", "b", "gap_hours", "merged"),
    [
        # two instances of one series are two events, whatever the gap and the wording
        (("Fans pack arena for Game 1 watch party", ""),
         ("Fans pack arena for Game 2 watch party", ""), 1.0, False),
        (("Fans pack arena for Stanley Cup Final watch party",
          "Fans filled the arena for a Game 1 watch party; the team lost."),
         ("Excited fans come to arena for Stanley Cup Final watch party",
          "Thousands watched Game 2 of the Stanley Cup Final on big screens."), 1.0, False),
        # one title names an instance, the other none, a day or more later: a later instance
        (("Panthers fans pack FLA Live Arena for Stanley Cup Final watch party", ""),
         ("Excited Panthers fans come to FLA Live Arena for Stanley Cup Final Game 2 watch party",
          ""), 60.0, False),
        (("Mali : premier tour de la présidentielle", ""),
         ("Mali : second tour de la présidentielle", ""), 1.0, False),
        # the same instance, or a same-day rewrite that leaves the number out: one event
        (("Fans pack arena for Game 2 watch party", ""),
         ("Fans pack the arena for the Game 2 watch party", ""), 30.0, True),
        (("Panthers fans pack FLA Live Arena for Stanley Cup Final watch party", ""),
         ("Excited Panthers fans come to FLA Live Arena for Stanley Cup Final Game 2 watch party",
          ""), 2.0, True),
    ],
)  # fmt: skip
def test_numbered_instances_keep_events_apart(
    a: tuple[str, str], b: tuple[str, str], gap_hours: float, merged: bool
) -> None:
    sa, sb = sig(*a), sig(*b)
    assert (MODEL.score(sa, sb, gap_hours) > 0) is merged
    assert (MODEL.score(sb, sa, gap_hours) > 0) is merged


def test_a_later_step_is_judged_against_the_whole_story() -> None:
    # The exit story: the announcement, then reports of it the next morning. The formal notice,
    # a day after the announcement, does not join through those next-morning reports.
    groups = StoryGroups(MODEL)
    groups.add(1, sig("Niger, Mali and Burkina Faso quit ECOWAS"), T0)
    for hours, title in (
        (20, "Le Burkina Faso, le Mali et le Niger quittent la CEDEAO"),
        (21, "Mali, Burkina Faso and Niger quit ECOWAS bloc"),
        (22, "Burkina Faso, Mali, Niger withdraw from ECOWAS"),
    ):
        groups.add(1, sig(title), T0 + timedelta(hours=hours))
    notice = sig("Mali, Burkina Faso send ECOWAS formal notice of withdrawal")
    hit = groups.match(notice, T0 + timedelta(hours=24))
    assert hit is None or hit.story_id != 1
    # the same report within hours of the announcement is one of its details
    assert later_step(notice, sig("Niger, Mali and Burkina Faso quit ECOWAS"), 24.0)
    assert not later_step(notice, sig("Niger, Mali and Burkina Faso quit ECOWAS"), 3.0)


def test_guard_holds_for_the_whole_story() -> None:
    groups = StoryGroups(MODEL)
    groups.add(1, sig("Mali: JNIM claims raid on Tenenkou"), T0)
    groups.add(1, sig("JNIM says its fighters raided an army post, killing soldiers"), T0)
    hit = groups.match(sig("Mali: JNIM claims raid on Youwarou"), T0 + timedelta(hours=1))
    assert hit is None or hit.story_id != 1


def test_candidates_stay_bounded_on_a_large_index() -> None:
    groups = StoryGroups(MODEL, per_key=16, candidates=10)
    s = sig("Mali: JNIM claims attack on army camp in Boulkessi")
    for k in range(500):
        groups.add(k, s, T0)
    assert len(groups.candidates_for(s)) <= 10


def test_shipped_model_file_parses_and_bad_files_are_refused() -> None:
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert parse_story_model(data).full.weights
    broken = {**data, "full": {**data["full"], "weights": data["full"]["weights"][:-1]}}
    with pytest.raises(ModelError, match="weights"):
        parse_story_model(broken)
    renamed = {**data, "title": {**data["title"], "features": ["x"] * len(FEATURES)}}
    with pytest.raises(ModelError, match="features"):
        parse_story_model(renamed)
    with pytest.raises(ModelError):
        parse_story_model({**data, "full": {**data["full"], "threshold": 2}})


def test_undated_variants_ship_without_gap_weights_and_are_optional() -> None:
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    model = parse_story_model(data)
    for name in ("full_undated", "title_undated"):
        variant = getattr(model, name)
        assert variant is not None
        weights = dict(zip(FEATURES, variant.weights, strict=True))
        assert all(weights[f] == 0.0 for f in GAP_FEATURES), name
        bad = {**data, name: {**data[name], "weights": data[name]["weights"][:-1]}}
        with pytest.raises(ModelError, match=name):
            parse_story_model(bad)
    # a file fitted before them: undated pairs fall back to the dated variants at gap 0
    old = parse_story_model({k: v for k, v in data.items() if not k.endswith("_undated")})
    assert old.full_undated is None and old.title_undated is None
    a = sig("Mali: JNIM claims attack on army camp in Boulkessi")
    b = sig("JNIM says it attacked the Boulkessi army camp in Mali")
    assert old.variant(a, b, None) is old.title
    assert old.probability(a, b, None) == old.probability(a, b, 0.0)
    assert model.variant(a, b, None) is model.title_undated


@pytest.mark.parametrize("gap", [None, 0.0, 5.0, 40.0, 200.0])
def test_an_unknown_gap_weighs_no_gap_feature(gap: float | None) -> None:
    a = sig("Niger junta announces exit from ECOWAS")
    b = sig("Niger formally notifies ECOWAS of its withdrawal, a day later")
    feats = dict(zip(FEATURES, pair_features(a, b, gap), strict=True))
    if gap is None:
        assert all(feats[f] == 0.0 for f in GAP_FEATURES)
    else:
        assert feats["gap"] == min(gap / 24.0, 3.0)


def test_a_whole_article_in_the_summary_counts_as_its_start() -> None:
    start = "Les jihadistes du JNIM ont attaqué le camp de Boulkessi lundi. " * 9
    huge = start + "Suite de l'article. " * 50_000
    assert signature("Attaque à Boulkessi", huge) == signature("Attaque à Boulkessi", huge[:600])
