"""Scope and salience rules of the matcher, and their watchlist syntax, on small watchlists."""

from __future__ import annotations

import pytest

from bot.core.matching import Decision, Matcher, Rule, describe
from bot.core.salience import SHAPE_LIMIT, shape
from bot.core.watchlist import Alias, Entity, Scope, parse_watchlist, with_gazetteer_places

AFRICA = Scope(
    "Africa", places=("Africa", "Mali", "Libya", "أفريقيا"), outside=("Ukraine", "Bakhmut"),
    since=2014,
)  # fmt: skip
CORPS = Matcher.compile(
    [
        Entity.of("Corps", ["Africa Corps", "Wagner Group"], scope=AFRICA),
        Entity.of("Mali", ["Mali"]),
    ]
)


@pytest.mark.parametrize(
    ("title", "summary", "alerts", "detail"),
    [
        ("Wagner Group claims Bakhmut", "", False, "'bakhmut' is outside it"),
        ("Wagner Group leaves Ukraine for Mali", "", True, "'mali' is inside it"),
        ("Wagner Group in Libya", "Fighters moved from Ukraine.", True, "'libya' is inside it"),
        # the entity's own alias is not a place: "Africa Corps" does not put Kursk in Africa
        ("Africa Corps sent to Ukraine", "", False, "'ukraine' is outside it"),
        ("Africa Corps at Tobruk", "The desert war of June 1942.", False, "dates itself to 1942"),
        ("Africa Corps in Mali", "Since June 2024; Wagner was there from 2021.", True, ""),
        ("Wagner Group recruits", "", True, ""),  # no place named: the scope does not apply
        ("Africa Corps in 1500 villages", "", True, ""),  # a count is not a year
    ],
)
def test_scope(title: str, summary: str, alerts: bool, detail: str) -> None:
    result = CORPS.match(title, summary)
    assert ("Corps" in result.entities) is alerts, describe(result)
    scope = [r for r in result.reasons if r.entity == "Corps" and r.rule is Rule.SCOPE]
    if detail:
        assert scope and detail in scope[0].detail, describe(result)
        expected = Decision.ALERT if alerts else Decision.EXCLUDED
        assert scope[0].decision is expected


SALIENT = Matcher.compile(
    [
        Entity.of("Mali", ["Mali", "مالي"]),
        Entity.of("JNIM", ["JNIM", "نصرة الإسلام والمسلمين"]),
        Entity.of("Strict", ["Kidal"], min_salience=0.7),
        Entity.of("Any", ["Gao"], min_salience=0.0),
    ]
)


@pytest.mark.parametrize(
    ("title", "summary", "entity", "decision", "why"),
    [
        ("Mali junta meets", "", "Mali", Decision.ALERT, "salience 1 ('Mali' in title)"),
        ("Talks", "Mali's junta meets.", "Mali", Decision.ALERT, "salience 0.6"),
        ("Talks", "Envoys from Chad, Niger, Togo and Mali.", "Mali", Decision.WEAK,
         "in a list of 3+ names"),
        ("Talks", "Sanctions, while Mali's junta watched.", "Mali", Decision.WEAK,
         "in a passing clause"),
        ("Talks", "Mali's junta watched, while sanctions fell.", "Mali", Decision.ALERT,
         "salience 0.6"),  # the aside comes after the name
        ("Talks", "Des pays comme le Mali.", "Mali", Decision.WEAK, "in a passing clause"),
        ("Talks", "انسحاب مالي وبوركينا فاسو والنيجر", "Mali", Decision.WEAK, "list"),
        ("Talks", "Mali and Niger sign.", "Mali", Decision.ALERT, "salience 0.6"),  # two names
        ("Mali, Niger and Chad quit", "", "Mali", Decision.ALERT, "salience 0.5"),
        # an alias that contains "و" is one name, not an Arabic list
        ("Talks", "بيان نصرة الإسلام والمسلمين، A", "JNIM", Decision.ALERT, "salience 0.6"),
        # the best mention counts: a list mention and a main-clause one
        ("Talks", "Chad, Niger and Mali left; Mali spoke first.", "Mali", Decision.ALERT, "0.6"),
        ("Talks", "Kidal is calm.", "Strict", Decision.WEAK, "< min_salience 0.7"),
        ("Kidal is calm", "", "Strict", Decision.ALERT, ">= min_salience 0.7"),
        ("Talks", "Envoys from Chad, Niger, Togo and Gao.", "Any", Decision.ALERT, "0.3"),
    ],
)  # fmt: skip
def test_salience(title: str, summary: str, entity: str, decision: Decision, why: str) -> None:
    result = SALIENT.match(title, summary)
    reasons = [r for r in result.reasons if r.entity == entity and r.rule is Rule.SALIENCE]
    assert reasons and reasons[0].decision is decision, describe(result)
    assert why in reasons[0].detail
    assert bool(result) is (decision is Decision.ALERT)


def test_shape_maps_clauses_onto_folded_text() -> None:
    text = "Hit: Mali, Chad and Niger (while talks go on) — done."
    got = shape(text)
    assert len(got.clauses) == len(got.asides)
    assert got.listed  # three names
    assert any(a >= 0 for a in got.asides)


def test_context_found_is_named() -> None:
    m = Matcher.compile([Entity.of("Corps", [Alias("Wagner", context=("Mali",))])])
    result = m.match("Wagner in Mali", "")
    assert any(r.rule is Rule.CONTEXT and "'mali' found" in r.detail for r in result.reasons)
    missing = m.match("Wagner opera", "")
    assert missing.excluded[0].rule is Rule.CONTEXT
    assert "[context]" in describe(missing)


GOOD = """
[defaults]
min_salience = 0.6

[[scopes]]
name = "Africa"
places = ["Africa", "Mali"]
outside = ["Ukraine"]
since = 2014

[[entities]]
name = "Corps"
aliases = ["Africa Corps"]
scope = "Africa"

[[entities]]
name = "Mali"
aliases = ["Mali"]
min_salience = 0
"""


def test_scope_and_min_salience_parse() -> None:
    wl, problems = parse_watchlist(GOOD, "w.toml")
    assert problems == [] and wl is not None
    corps, mali = wl.entities
    assert corps.scope is not None
    assert corps.scope == Scope("Africa", ("Africa", "Mali"), ("Ukraine",), 2014, corps.scope.line)
    assert (corps.min_salience, mali.min_salience, mali.scope) == (0.6, 0.0, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace('scope = "Africa"', 'scope = "Asia"'), "unknown scope 'Asia'"),
        (GOOD.replace("since = 2014", 'since = "2014"'), "'since' must be a year"),
        (GOOD.replace('places = ["Africa", "Mali"]', ""), "'outside' needs 'places' too"),
        (GOOD.replace("min_salience = 0\n", "min_salience = 2\n"), "'min_salience' must be"),
        (GOOD.replace("min_salience = 0.6", "min_salience = true"), "'min_salience' must be"),
        (GOOD.replace('outside = ["Ukraine"]', 'outside = ["Ukraine"]\nwhere = 1'),
         "unknown key 'where' in scope"),
        (GOOD.replace('name = "Africa"', 'name = ""'), "scope needs a 'name'"),
    ],
)  # fmt: skip
def test_scope_and_salience_problems(text: str, message: str) -> None:
    _wl, problems = parse_watchlist(text, "w.toml")
    assert any(message in p.message for p in problems), problems
    assert all(p.line > 0 for p in problems)


def test_gazetteer_scope_takes_the_loaders_place_names() -> None:
    text = GOOD.replace("since = 2014", "since = 2014\ngazetteer = true")
    wl, problems = parse_watchlist(text, "w.toml")
    assert problems == [] and wl is not None and wl.entities[0].scope is not None
    assert wl.entities[0].scope.gazetteer
    entities = with_gazetteer_places(wl.entities, ["Ménaka", "Tessit"])
    scope = entities[0].scope
    assert scope is not None and scope.places == ("Africa", "Mali", "Ménaka", "Tessit")
    assert not scope.gazetteer and entities[1] == wl.entities[1]
    matcher = Matcher.compile(entities)
    assert matcher.match("Africa Corps leaves Ukraine for Tessit", "")
    assert not Matcher.compile(wl.entities).match("Africa Corps leaves Ukraine for Tessit", "")
    _wl, problems = parse_watchlist(text.replace("gazetteer = true", "gazetteer = 1"), "w.toml")
    assert any("'gazetteer' must be true or false" in p.message for p in problems)


def test_long_and_repetitive_fields_are_read_in_bounded_parts() -> None:
    # a hostile summary: the shape is read from its start only, and every result stays right
    long_list = "Chad, Niger, " * 20_000 + "Mali."
    assert shape(long_list).analysed <= SHAPE_LIMIT
    result = SALIENT.match("Talks", long_list)
    assert result.entities == ("Mali",)  # past the part read: the summary's weight (0.6)
    # many mentions, all inside the part read and all in the list: weak
    assert SALIENT.match("Talks", "Mali, Chad, Niger, " * 150).weak_entities == ("Mali",)
    repeated = CORPS.match("x", "Ukraine Wagner Group Mali Africa Corps " * 3_000)
    assert "Corps" in repeated.entities
