"""The default watchlist on each confounder kind, with the true uses of the same name next to it.

Table-driven: every kind of false alert the issue lists (and the rule that handles it) has rows
that must not alert, beside rows with the same name in real Sahel news that must alert. The
``rule`` column is the rule the matcher must name for the entity in question.
"""

from __future__ import annotations

from functools import cache

import pytest

from bot.core.matching import Decision, Matcher, describe
from bot.cycle.watchlist_files import load_watchlist_dir
from tests.test_default_watchlist import DEFAULT

WAGNER = "Africa Corps (formerly Wagner Group)"


@cache
def default() -> Matcher:
    wset, problems = load_watchlist_dir(DEFAULT.parent)  # as shipped: gazetteer places too
    assert problems == [] and wset is not None
    return Matcher.compile(wset.entities)


# (kind, title, summary, entity, expected decision, rule named for that entity or None)
CASES = [
    # "Timbuktu" as an idiom or a name: context required, idiom phrases excluded
    ("idiom", "From Paris to Texas to Timbuktu", "Countries and their far-off places.",
     "Timbuktu", None, "context"),
    ("idiom", "Why do we say 'From here to Timbuktu'?", "The idiom and the city's rebellion.",
     "Timbuktu", None, "exclude"),
    ("idiom", "Far-away places with strange sounding names", "Timbuktu, while Mali is at war.",
     "Timbuktu", None, "exclude"),
    ("rapper", "Timbuktu släpper nytt – efter fem år", "Swedish rapper's new album.",
     "Timbuktu", None, "context"),
    ("rapper", "Timbuktu and Damn! In concert at Gröna Lund", "", "Timbuktu", None, "ignore"),
    ("true use", "Timbuktu blockade tightens", "JNIM cuts the roads to the city.",
     "Timbuktu", Decision.ALERT, "context"),
    ("true use", "Jihadists attack Timbuktu airport", "", "Timbuktu", Decision.ALERT, "context"),
    ("true use", "Tombouctou : le blocus se durcit", "", "Timbuktu", Decision.ALERT, "salience"),
    # "Mali" as a name: the Manila Zoo elephant, the Indian Mali (Saini) caste
    ("name", "PH's lone elephant Mali has died", "She died at Manila Zoo.", "Mali", None,
     "exclude"),
    ("name", "Manila Zoo's beloved Asian elephant Mali has died", "", "Mali", None, "exclude"),
    ("name", "Mali / Saini community of Maharashtra", "The Mali (Saini) caste.", "Mali", None,
     "ignore"),
    ("true use", "Mali junta extends transition", "", "Mali", Decision.ALERT, "salience"),
    ("true use", "Elephants of Mali's Gourma threatened by drought", "", "Mali",
     Decision.ALERT, "salience"),
    ("true use", "Malier stimmen für neue Verfassung", "", "Mali", Decision.ALERT, "salience"),
    ("true use", "مقتل عشرة جنود ماليين في هجوم", "", "Mali", Decision.ALERT, "salience"),
    # "GSIM" as the UNECE Generic Statistical Information Model
    ("acronym", "Generic Statistical Information Model (GSIM): Version 1.1", "", "JNIM", None,
     "exclude"),
    ("acronym", "GSIM 2.0 released", "Metadata standard for statistical offices.", "JNIM",
     None, "context"),
    ("true use", "Le GSIM revendique l'attaque de Djibo", "Al-Qaïda au Sahel.", "JNIM",
     Decision.ALERT, "context"),
    ("true use", "Benin: 54 soldiers killed", "The al-Qaeda-affiliated GSIM claimed it.", "JNIM",
     Decision.ALERT, "context"),
    # "Bamako" in the Bamako Convention
    ("treaty", "Third Conference of the Parties to the Bamako Convention", "", "Bamako", None,
     "ignore"),
    ("treaty", "La Convention de Bamako sur les déchets dangereux", "", "Bamako", None, "ignore"),
    ("true use", "Bamako Convention meeting held in Bamako amid curfew", "", "Bamako",
     Decision.ALERT, "salience"),
    ("true use", "Explosions heard in Bamako", "", "Bamako", Decision.ALERT, "salience"),
    # The Wagner Group outside Africa: scope
    ("scope", "Wagner claims Bakhmut", "", WAGNER, None, "context"),  # bare Wagner: no context
    ("scope", "Russia's Wagner Group Claims To Have Captured Bakhmut", "Ukraine disagrees.",
     WAGNER, None, "scope"),
    ("scope", "Russia's Prigozhin claims capture of Bakhmut", "Wagner fighters in Ukraine.",
     WAGNER, None, "scope"),
    ("scope", "Africa Corps volunteers sent to Kursk", "", WAGNER, None, "scope"),
    ("history", "Africa Corps lands in Tripoli", "In February 1941, Rommel's troops...", WAGNER,
     None, "exclude"),
    ("history", "The Africa Corps at Tobruk", "Desert war, June 1942.", WAGNER, None, "scope"),
    ("true use", "Wagner mercenaries in Mali", "", WAGNER, Decision.ALERT, "salience"),
    ("true use", "Wagner fighters leave Ukraine for Mali", "", WAGNER, Decision.ALERT, "scope"),
    # a Sahel town known from the shipped gazetteer (not listed in the TOML) is inside Africa
    ("true use", "Wagner Group moves from Ukraine to Ménaka", "", WAGNER, Decision.ALERT,
     "scope"),
    ("true use", "Russia's Africa Corps replaces Wagner", "", WAGNER, Decision.ALERT,
     "salience"),
    ("true use", "Prigozhin hints he's in Africa", "", WAGNER, Decision.ALERT, "context"),
    ("true use", "Wagner schickte Soldaten in die Zentralafrikanische Republik", "", WAGNER,
     Decision.ALERT, "context"),
    # A name mentioned in passing: a list of missions, an aside
    ("passing", "UN peacekeeping budget cut",
     "Missions in Lebanon, South Sudan, Cyprus and Mali lose funds.", "Mali", Decision.WEAK,
     "salience"),
    ("passing", "UN peacekeeping budget cut",
     "Cuts hit UNIFIL, UNMISS, UNFICYP and MINUSMA.", "MINUSMA", Decision.WEAK, "salience"),
    ("passing", "Column: a winter in Bangkok",
     "Written while the French operation in Mali made headlines.", "Mali", Decision.WEAK,
     "salience"),
    ("passing", "Sahel juntas court Moscow",
     "Ces pays, notamment le Mali, se tournent vers la Russie.", "Mali", Decision.WEAK,
     "salience"),
    ("true use", "MINUSMA hands over the Ber camp", "", "MINUSMA", Decision.ALERT, "salience"),
    ("true use", "Mali, Burkina Faso and Niger quit ECOWAS", "", "Mali", Decision.ALERT,
     "salience"),
    ("true use", "AU regrets ECOWAS exits",
     "The withdrawal of Mali, Burkina and Niger; Mali had sent its notice.", "Mali",
     Decision.ALERT, "salience"),
    ("true use", "Hostages freed", "Olivier Dubois was held by JNIM in Mali for two years.",
     "JNIM", Decision.ALERT, "salience"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "title", "summary", "entity", "decision", "rule"),
    CASES,
    ids=[f"{c[0]}:{c[1][:40]}" for c in CASES],
)
def test_confounder_kinds_and_true_uses(
    kind: str, title: str, summary: str, entity: str, decision: Decision | None, rule: str
) -> None:
    result = default().match(title, summary)
    explained = describe(result)
    reasons = [r for r in result.reasons if r.entity == entity]
    if decision is Decision.ALERT:
        assert entity in result.entities, explained
    elif decision is Decision.WEAK:
        assert entity in result.weak_entities and entity not in result.entities, explained
    else:
        assert entity not in result.entities + result.weak_entities, explained
        if rule != "context" or reasons:  # a missing context term is named when an alias is seen
            assert any(r.decision is Decision.EXCLUDED for r in reasons), explained
    assert any(r.rule == rule for r in reasons), explained
    assert f"[{rule}]" in explained


def test_every_kind_has_true_uses_next_to_it() -> None:
    entities = {c[3] for c in CASES if c[0] != "true use"}
    true_uses = {c[3] for c in CASES if c[0] == "true use"}
    assert entities <= true_uses
