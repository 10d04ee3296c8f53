"""Story grouping core: the precision guard, the model file, and the online StoryGroups index."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.story_index import StoryGroups
from bot.core.story_model import (
    FEATURES,
    ModelError,
    Signature,
    conflict,
    pair_features,
    parse_story_model,
    signature,
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
    assert groups.match(rewrite, T0 + timedelta(hours=80)) is None, "72 h from the story start"
    assert groups.prune(T0 + timedelta(hours=80)) == 1 and len(groups) == 0


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


def test_a_whole_article_in_the_summary_counts_as_its_start() -> None:
    start = "Les jihadistes du JNIM ont attaqué le camp de Boulkessi lundi. " * 9
    huge = start + "Suite de l'article. " * 50_000
    assert signature("Attaque à Boulkessi", huge) == signature("Attaque à Boulkessi", huge[:600])
