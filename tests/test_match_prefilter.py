"""Matcher.match's first scan (every alias key, casefolded, in one automaton) only skips items
that hold no alias: its result is always what the full scan gives. With texts folded ahead and
no regex alias, that scan reads title and summary joined in one pass: an alias across the join
must not match either.

The reference is the same compiled matcher with that first scan made to say "maybe" every
time, so every item goes through the full scans (folded, case-kept, regex) as before.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.matching import Matcher, match_text
from bot.core.watchlist import Alias, Entity
from tests.harness import default_matcher


class _AlwaysMaybe:
    """Stands in for the alias-key automaton: reports a key in every text."""

    def iter(self, text: str) -> Iterator[tuple[int, bool]]:
        return iter([(0, True)])


def _full_scan(matcher: Matcher) -> Matcher:
    reference = copy.copy(matcher)
    reference._alias_keys = _AlwaysMaybe()
    return reference


DEFAULT = default_matcher()
MIXED = Matcher.compile(
    [
        Entity.of("JNIM", [Alias(r"jama.?at n[ua]s?ra?t? al islam", regex=True)]),
        Entity.of("GSIM", [Alias("GSIM", case_sensitive=True, context=("Mali", "attaque"))]),
        Entity.of("Kidal", [Alias("Kidal")], context=("armée", "attack")),
        Entity.of("Only cased", [Alias("AQMI", case_sensitive=True)]),
    ]
)
# No regex alias: prefolded items take the one-pass scan of title and summary joined.
PLAIN = Matcher.compile(
    [
        Entity.of("GSIM", [Alias("GSIM", case_sensitive=True, context=("Mali", "attaque"))]),
        Entity.of("Kidal", [Alias("Kidal")], context=("armée", "attack")),
        Entity.of("Nusrat", [Alias("Nusrat al Islam")]),
        Entity.of("Only cased", [Alias("AQMI", case_sensitive=True)]),
    ]
)
MATCHERS = {"default watchlist": DEFAULT, "regex, cased, contexts": MIXED, "no regex": PLAIN}

TEXTS = [
    ("JNIM fighters attack a convoy near Kidal", "Militants struck the army's base."),
    ("GSIM claims the attack", "Near Kidal, in northern Mali"),  # alias in one, context in other
    ("Kidal", "L'armée malienne riposte"),
    ("gsim results", "GSIM statistics model, Mali"),
    ("Jama'at Nusrat al-Islam wal-Muslimin", ""),
    ("AQMI et l'armée", "aqmi"),
    ("Somalia: al-Shabaab attack in Mogadishu", "Malibu fires, no Mali here"),
    ("Generic Statistical Information Model (GSIM)", "UNECE, Mali"),
    ("Richard Wagner's Ring in Bamako", "opéra de Wagner"),
    ("", ""),
    ("Attack claimed by Nusrat", "al Islam, says a statement"),  # an alias across the join
    ("Nusrat al Islam", ""),
    ("", "nusrat AL islam"),
    ("هجوم على قاعدة للجيش في تمبكتو", "أعلنت جماعة نصرة الإسلام والمسلمين مسؤوليتها"),
]


@pytest.mark.parametrize("name", MATCHERS)
@pytest.mark.parametrize(("title", "summary"), TEXTS)
def test_the_first_scan_never_changes_a_result(name: str, title: str, summary: str) -> None:
    matcher = MATCHERS[name]
    reference = _full_scan(matcher)
    prefolded = (match_text(title), match_text(summary))
    assert matcher.match(title, summary) == reference.match(title, summary)
    assert matcher.match(title, summary, prefolded) == reference.match(title, summary, prefolded)


def test_items_without_an_alias_are_skipped_by_the_first_scan() -> None:
    assert not MIXED.match("Somalia: a quiet day", "Nothing about the Sahel (armée, attack)")
    assert MIXED.match("Kidal", "L'armée malienne riposte")


@pytest.mark.parametrize(
    ("title", "summary", "entities"),
    [
        ("Attack claimed by Nusrat", "al Islam, says a statement", []),  # across the join
        ("Attack claimed by Nusrat al Islam", "", ["Nusrat"]),
        ("A statement", "Nusrat al Islam claims the attack", ["Nusrat"]),
        ("Kidal", "L'armée malienne riposte", ["Kidal"]),  # alias in one, context in the other
    ],
)
def test_prefolded_fields_are_scanned_joined_without_joining_their_words(
    title: str, summary: str, entities: list[str]
) -> None:
    prefolded = (match_text(title), match_text(summary))
    assert list(PLAIN.match(title, summary, prefolded).entities) == entities
    assert list(PLAIN.match(title, summary).entities) == entities


WORDS = [
    "Mali",
    "Kidal",
    "kidal",
    "JNIM",
    "GSIM",
    "gsim",
    "Gsim",
    "AQMI",
    "aqmi",
    "armée",
    "attack",
    "attaque",
    "Wagner",
    "Richard",
    "opéra",
    "de",
    "Bamako",
    "Goïta",
    "Jama'at",
    "Nusrat",
    "al-Islam",
    "al",
    "Islam",
    "Somalia",
    "Malibu",
    "Generic",
    "Statistical",
    "Information",
    "Model",
    "x",
    "<b>",
    "&amp;",
    "-",
    "'",
    "تمبكتو",
]
texts = st.lists(st.sampled_from(WORDS), max_size=14).map(" ".join)


@settings(max_examples=400)
@given(st.sampled_from(sorted(MATCHERS)), texts, texts)
def test_the_first_scan_agrees_on_any_mix(name: str, title: str, summary: str) -> None:
    matcher = MATCHERS[name]
    reference = _full_scan(matcher)
    assert matcher.match(title, summary) == reference.match(title, summary)
    prefolded = (match_text(title), match_text(summary))
    assert matcher.match(title, summary, prefolded) == reference.match(title, summary, prefolded)
