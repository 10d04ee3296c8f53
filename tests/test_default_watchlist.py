"""Quality of the shipped default watchlist: validity, feeds, precision and recall on real-style
headlines in English, French and Arabic."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.core.matching import Matcher
from bot.core.watchlist import Watchlist, WatchlistSet, merge_watchlists, parse_watchlist

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "watchlists" / "sahel.toml"
LABELLED = Path(__file__).resolve().parent / "data" / "headlines_labelled.jsonl"

REQUIRED_ENTITIES = [
    "Mali",
    "Africa Corps (formerly Wagner Group)",
    "JNIM",
    "Azawad Liberation Front (FLA)",
    "Assimi Goïta",
    "Bamako",
    "MINUSMA",
]
REQUIRED_FEEDS = [
    "https://www.rfi.fr/fr/afrique/rss",
    "https://www.france24.com/fr/afrique/rss",
    "https://www.france24.com/en/africa/rss",
    "https://feeds.bbci.co.uk/news/world/africa/rss.xml",
    "https://www.bbc.com/afrique/index.xml",
    "https://www.aljazeera.com/xml/rss/all.xml",
    "https://www.lemonde.fr/afrique/rss_full.xml",
    "https://www.lemonde.fr/mali/rss_full.xml",
    "https://www.jeuneafrique.com/feed/",
    "https://news.un.org/feed/subscribe/en/news/region/africa/feed/rss.xml",
    "https://reliefweb.int/updates/rss.xml",
    "https://www.crisisgroup.org/rss.xml",
    "https://allafrica.com/tools/headlines/rdf/mali/headlines.rdf",
    "https://www.studiotamani.org/feed/",
    "https://www.journaldumali.com/feed/",
    "https://www.maliweb.net/feed/",
    "https://rss.dw.com/xml/rss-en-africa",
]


@pytest.fixture(scope="module")
def watchlist() -> Watchlist:
    wl, problems = parse_watchlist(DEFAULT.read_text(encoding="utf-8"), str(DEFAULT))
    assert problems == []
    assert wl is not None
    return wl


@pytest.fixture(scope="module")
def merged(watchlist: Watchlist) -> WatchlistSet:
    wset, problems = merge_watchlists([watchlist])
    assert problems == []
    return wset


@pytest.fixture(scope="module")
def matcher(watchlist: Watchlist) -> Matcher:
    return Matcher.compile(watchlist.entities)


def load_labelled() -> list[dict[str, Any]]:
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line]


def test_covers_the_required_entities(watchlist: Watchlist) -> None:
    names = [e.name for e in watchlist.entities]
    for name in REQUIRED_ENTITIES:
        assert name in names


@pytest.mark.parametrize("language_probe", ["latin", "arabic"])
def test_core_entities_have_aliases_in_each_script(
    watchlist: Watchlist, language_probe: str
) -> None:
    for name in REQUIRED_ENTITIES:
        entity = next(e for e in watchlist.entities if e.name == name)
        has_arabic = any("\u0600" <= a.text[0] <= "\u06ff" for a in entity.aliases if a.text)
        has_latin = any(a.text[:1].isascii() for a in entity.aliases)
        assert has_arabic if language_probe == "arabic" else has_latin, name


def test_ships_the_curated_feeds(watchlist: Watchlist, merged: WatchlistSet) -> None:
    urls = [f.url for f in watchlist.feeds]
    assert urls == REQUIRED_FEEDS
    assert all(f.title for f in watchlist.feeds)
    search = [f for f in merged.feeds if f.origin == "search"]
    assert search and all(f.url.startswith("https://news.google.com/rss/search?q=") for f in search)


def test_labelled_set_is_big_and_multilingual() -> None:
    rows = load_labelled()
    assert len(rows) >= 60
    langs = Counter(str(r["lang"]) for r in rows)
    assert set(langs) == {"en", "fr", "ar"} and min(langs.values()) >= 15
    assert sum(1 for r in rows if not r["entities"]) >= 20  # confounders


def score(matcher: Matcher, rows: list[dict[str, Any]]) -> tuple[int, int, int]:
    """True positives, false positives, false negatives over (headline, entity) pairs."""
    tp = fp = fn = 0
    for row in rows:
        got = set(matcher.match(str(row["title"]), str(row["summary"])).entities)
        expected = set(row["entities"])
        tp += len(got & expected)
        fp += len(got - expected)
        fn += len(expected - got)
    return tp, fp, fn


def test_precision_and_recall_of_the_default_watchlist(matcher: Matcher) -> None:
    tp, fp, fn = score(matcher, load_labelled())
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    assert precision >= 0.95, (tp, fp, fn)
    assert recall >= 0.95, (tp, fp, fn)


@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_recall_holds_in_each_language(matcher: Matcher, lang: str) -> None:
    rows = [r for r in load_labelled() if r["lang"] == lang]
    tp, fp, fn = score(matcher, rows)
    assert tp / (tp + fn) >= 0.9, (lang, tp, fp, fn)
    assert fp == 0, lang


def test_no_confounder_alerts(matcher: Matcher) -> None:
    alerts = [
        (r["title"], matcher.match(str(r["title"]), str(r["summary"])).entities)
        for r in load_labelled()
        if not r["entities"]
    ]
    assert [a for a in alerts if a[1]] == []
