"""Matcher.match with texts folded ahead (``match_text``, as the cycle's parse jobs make them)
gives exactly what it gives folding them itself; parse jobs hand them over, item by item."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.matching import match_text
from bot.feeds.parse_pool import parse_and_key
from tests.fakes.feed_server import rss
from tests.harness import default_matcher

MATCHER = default_matcher()

TEXTS = [
    ("JNIM fighters attack a convoy near Kidal", "Militants struck the army's base."),
    ("Attaque à Kidal : l'armée malienne riposte", "<p>Les FAMa &amp; Wagner à Gao.</p>"),
    ("Goïta reçoit Lavrov à Bamako", ""),
    ("هجوم على قاعدة للجيش في تمبكتو", "أعلنت جماعة نصرة الإسلام والمسلمين مسؤوليتها"),
    ("Somalia: al-Shabaab attack in Mogadishu", "Malibu fires, no Mali here"),
    ("AT&T <b>results</b>", "Mali&#39;s junta &nbsp; extends transition"),
]


@pytest.mark.parametrize(("title", "summary"), TEXTS)
def test_prefolded_texts_match_as_folding_them_here(title: str, summary: str) -> None:
    prefolded = (match_text(title), match_text(summary))
    assert MATCHER.match(title, summary, prefolded) == MATCHER.match(title, summary)


words = st.sampled_from(["Mali", "Kidal", "JNIM", "armée", "à", "<p>", "&amp;", "Bamako", "x"])


@settings(max_examples=200, deadline=None)
@given(st.lists(words, max_size=12).map(" ".join), st.lists(words, max_size=12).map(" ".join))
def test_prefolded_texts_agree_on_any_mix(title: str, summary: str) -> None:
    prefolded = (match_text(title), match_text(summary))
    assert MATCHER.match(title, summary, prefolded) == MATCHER.match(title, summary)


def test_a_parse_job_folds_each_item_for_matching() -> None:
    body = rss(
        [
            {"title": "Attaque à Kidal", "link": "https://e.org/1", "guid": "g1",
             "description": "<p>Les FAMa &amp; Wagner</p>"},
            {"title": "Bamako market", "link": "https://e.org/2", "guid": "g2"},
        ]
    ).encode()  # fmt: skip
    parsed, keys, _ = parse_and_key(body, "https://feeds.example.org/a.xml", None)
    assert len(parsed.match_texts) == len(parsed.items) == len(keys) == 2
    for item, (title, summary) in zip(parsed.items, parsed.match_texts, strict=True):
        assert (title, summary) == (match_text(item.title), match_text(item.summary))
