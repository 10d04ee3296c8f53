"""Action classes of titles (EN/FR/AR) and consonant skeletons of names across scripts, as story
grouping reads them: the shipped data file parsed, table-driven cases, and malformed data."""

from __future__ import annotations

import pytest

from bot.core.name_skeleton import arabic_skeleton, latin_skeleton, skeletons_match
from bot.core.normalize import normalize
from bot.core.story_actions import ActionLexiconError, parse_actions
from bot.cycle.story_grouping import load_actions

ACTIONS = load_actions()


@pytest.mark.parametrize(
    ("title", "classes"),
    [
        ("Hostage freed after two years", {"free"}),
        ("Otage libérée par ses ravisseurs", {"free"}),
        ("الإفراج عن الصحافي الفرنسي", {"free"}),
        ("Ex-hostage arrives in Paris", {"arrive"}),
        ("Le journaliste est arrivé à Paris", {"arrive"}),
        ("الصحافي يصل باريس", {"arrive"}),
        ("Niger quits ECOWAS", {"quit"}),
        ("Le Niger quitte la CEDEAO", {"quit"}),
        ("النيجر تنسحب من إيكواس", {"quit"}),
        ("والانسحاب من إيكواس", {"quit"}),  # proclitic و and article ال
        ("Mali formally notifies ECOWAS", {"notify"}),
        ("Le Mali notifie la CEDEAO", {"notify"}),
        ("Bamako asks Paris to withdraw troops without delay", {"demand", "quit"}),
        ("Leaders sign confederation treaty", {"sign"}),
        ("Les chefs d'État se réunissent en sommet", {"meet"}),
        ("JNIM claims attack on army camp", {"claim", "attack"}),
        ("Former minister sacked", {"dismiss"}),  # "former" is not the French "formé"
        ("Court opens probe into attack", {"charge", "attack"}),
        ("Mali junta extends transition", set()),
    ],
)  # fmt: skip
def test_title_action_classes(title: str, classes: set[str]) -> None:
    assert ACTIONS(title) == classes


@pytest.mark.parametrize(
    ("title", "classes"),
    [
        # a negated action did not happen; what follows it is its object, not negated
        ("ECOWAS says yet to receive any direct formal notification of withdrawal", {"quit"}),
        ("La CEDEAO n'a reçu aucune notification officielle du retrait", {"quit"}),
        ("ECOWAS hasn't received formal notice", set()),
        ("Mali has not formally notified its withdrawal", {"quit"}),
        ("Mali will not quit ECOWAS", set()),
        ("لم يتم إخطار إيكواس", set()),
        # the scope ends with the clause: another verb, punctuation
        ("No casualties as Mali army repels attack", {"repel", "attack"}),
        ("No notice given, Niger quits ECOWAS", {"quit"}),
        # not negations: "yet another", a cue far before the action
        ("Yet another attack kills 12 soldiers", {"attack", "kill"}),
        ("Not since 2012 has the north seen such fighting, and now JNIM claims Kidal raid",
         {"claim", "attack"}),
        # the same titles without the cue name the action
        ("Mali formally notifies ECOWAS of its withdrawal", {"notify", "quit"}),
        ("إخطار إيكواس", {"notify"}),
    ],
)  # fmt: skip
def test_negated_actions_are_not_named(title: str, classes: set[str]) -> None:
    assert ACTIONS(title) == classes


@pytest.mark.parametrize(
    ("title", "classes"),
    [
        # what comes after "after" happened before: the cause, not the title's action
        ("Denmark withdraws troops from Mali after junta's demand", {"quit"}),
        ("Mali: l'armée se retire d'un camp après deux attaques jihadistes", {"quit"}),
        ("Police arrest suspect after crash kills 4", {"arrest"}),
        ("القوات تنسحب من القاعدة بعد هجوم", {"quit"}),
        # "home after" is an arrival, the phrase starts before the cue
        ("Freed journalist back home after two years in captivity", {"free", "arrive"}),
        # a new clause is not background
        ("After two years, hostage freed", {"free"}),
    ],
)  # fmt: skip
def test_actions_after_after_are_background(title: str, classes: set[str]) -> None:
    assert ACTIONS(title) == classes


def test_attack_toll_and_claim_are_one_family_but_not_freed_and_arrives() -> None:
    harm = ACTIONS.family_of(ACTIONS("Attack kills 12"))
    assert harm == ACTIONS.family_of(ACTIONS("JNIM claims the raid")) == {"harm"}
    assert ACTIONS.family_of(ACTIONS("Hostage freed")).isdisjoint(
        ACTIONS.family_of(ACTIONS("Ex-hostage arrives home"))
    )


def test_every_shipped_class_has_a_reason_and_words() -> None:
    assert set(ACTIONS.reasons) >= {"free", "arrive", "quit", "notify", "sign", "meet"}
    assert all(reason.strip() for reason in ACTIONS.reasons.values())
    assert "attack" not in ACTIONS.evidence and "suspend" in ACTIONS.evidence
    assert {"notify", "demand", "arrive"} <= ACTIONS.steps


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"free": "x"}, "must be a table"),
        ({"free": {"en": ["freed"]}}, "needs a reason"),
        ({"free": {"reason": "r", "en": "freed"}}, "list of strings"),
        ({"free": {"reason": "r", "en": ["*"]}}, "empty word"),
        ({"free": {"reason": "r", "en": ["f*"]}}, "too short"),
        ({"free": {"reason": "r", "evidence": "yes"}}, "true or false"),
        ({"free": {"reason": "r", "step": 1}}, "true or false"),
        ({"free": {"reason": "r", "family": ""}}, "family"),
        ({"free": {"reason": "r", "de": ["frei"]}}, "unknown keys"),
    ],
)  # fmt: skip
def test_malformed_action_data_is_refused_with_the_reason(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(ActionLexiconError, match=message):
        parse_actions(data)


@pytest.mark.parametrize(
    ("latin", "arabic"),
    [
        ("Soumaïla Cissé", "سومايلا سيسي"),
        ("Olivier Dubois", "أوليفييه دوبوا"),  # silent final s
        ("Assimi Goïta", "أسيمي غويتا"),
        ("Assimi Goïta", "أسيمي جويتا"),
        ("Ibrahim Boubacar Keïta", "إبراهيم بوبكر كيتا"),
        ("Moussa Mara", "موسى مارا"),
        ("Choguel Maïga", "شوغل مايغا"),
        ("Barkhane", "برخان"),
    ],
)  # fmt: skip
def test_names_match_their_arabic_spelling(latin: str, arabic: str) -> None:
    lat = [latin_skeleton(w) for w in normalize(latin).split()]
    ara = [arabic_skeleton(w) for w in normalize(arabic).split()]
    assert all(any(skeletons_match(x, y) for y in ara) for x in lat), (lat, ara)


@pytest.mark.parametrize(
    ("latin", "arabic"),
    [("Dubois", "كيتا"), ("Barkhane", "باماكو"), ("Mara", "مالي")],
)
def test_other_names_do_not_match(latin: str, arabic: str) -> None:
    assert not skeletons_match(latin_skeleton(normalize(latin)), arabic_skeleton(normalize(arabic)))


def test_short_skeletons_never_match() -> None:
    assert not skeletons_match("T", "T")
    assert latin_skeleton("aeiou") == ""
