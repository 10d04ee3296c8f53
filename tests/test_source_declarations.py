"""Sources declared in feed lists (text, OPML) and watchlist ``[[source]]`` tables, exported
back as OPML, and brought back with /retry like any feed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.feed_state import FeedStatus
from bot.core.models import FeedSpec, Item, PageSelectors, SourceKind
from bot.core.sources import article_key, parse_source
from bot.core.watchlist import parse_watchlist
from bot.feeds.feed_list import load_feed_list, to_opml
from storage.db import open_database
from storage.repository import Repository

WATCHLIST = """
title = "Sources"

[[entities]]
name = "Mali"
aliases = ["Mali"]

[[source]]
kind = "telegram"
channel = "@SahelWatch"
title = "Sahel Watch"

[[source]]
kind = "page"
url = "https://journal.example/actu"
title = "Journal"
selectors = { item = "article", title = "h2", link = "h2 a", date = "time" }

[[source]]
kind = "gdelt"
query = '"JNIM" OR "GSIM" sourcelang:fra'

[[source]]
kind = "page"
url = "https://journal.example/b"
selectors = { item = "article" }

[[source]]
kind = "fax"

[[source]]
kind = 7
url = "https://journal.example/c"

[[source]]
url = "https://journal.example/d"
"""


def test_watchlist_source_tables() -> None:
    watchlist, problems = parse_watchlist(WATCHLIST, "sources.toml")
    assert watchlist is not None
    assert [(f.kind, f.url, f.title) for f in watchlist.feeds] == [
        (SourceKind.TELEGRAM, "telegram:SahelWatch", "Sahel Watch"),
        (SourceKind.PAGE, "page:https://journal.example/actu", "Journal"),
        (SourceKind.GDELT, 'gdelt:"JNIM" OR "GSIM" sourcelang:fra', None),
    ]
    assert watchlist.feeds[1].selectors == PageSelectors("article", "h2", "h2 a", "time")
    headers = [n for n, line in enumerate(WATCHLIST.splitlines(), 1) if line == "[[source]]"]
    assert [(p.line, p.message.split(" (")[0]) for p in problems] == [
        (headers[3], "source: a page source needs the selectors item, title and link"),
        (headers[4], "source: source 'kind' must be one of telegram, gdelt, page, feed, not 'fax'"),
        (headers[5], "source: source 'kind' must be one of telegram, gdelt, page, feed, not 7"),
        (headers[6], "source: source 'kind' must be one of telegram, gdelt, page, feed, not None"),
    ]


def test_text_and_opml_lists_round_trip(tmp_path: Path) -> None:
    text = tmp_path / "feeds.txt"
    text.write_text(
        "https://news.example.org/rss\n"
        "telegram:sahelwatch   # a public channel\n"
        "https://t.me/s/malinews\n"
        "page:https://journal.example/actu item=article title=h2 link='h2 a' name='Le Journal'\n"
        'gdelt:"JNIM" OR "GSIM" sourcelang:fra\n'
        "fax:12345\n",
        encoding="utf-8",
    )
    specs, problems = load_feed_list(text)
    assert [s.url for s in specs] == [
        "https://news.example.org/rss",
        "telegram:sahelwatch",
        "telegram:malinews",
        "page:https://journal.example/actu",
        'gdelt:"JNIM" OR "GSIM" sourcelang:fra',
    ]
    assert [p.line for p in problems] == [6]
    opml = tmp_path / "feeds.opml"
    opml.write_text(to_opml(specs), encoding="utf-8")
    again, problems = load_feed_list(opml)
    assert problems == []
    assert [(s.url, s.kind, s.selectors) for s in again] == [
        (s.url, s.kind, s.selectors) for s in specs
    ]
    assert again[3].title == "Le Journal"


def test_article_keys() -> None:
    def item(feed_url: str, title: str, origin: str | None = None) -> Item:
        return Item(feed_url, "x", None, None, title, "", None, origin=origin)

    assert article_key(item("telegram:b", "x", "telegram:a/1")) == "o:telegram:a/1"
    google = "https://news.google.com/rss/search?q=JNIM"
    gdelt = parse_source('gdelt:"JNIM"', "x").url
    title = "Le JNIM revendique une attaque à Ségou"
    assert article_key(item(google, title)) == article_key(item(gdelt, title.upper()))
    assert article_key(item(gdelt, "Mali : bref")) is None, "too short to identify an article"
    assert article_key(item("https://news.example.org/rss", title)) is None


def test_retry_names_a_source_like_a_feed(tmp_path: Path) -> None:
    repo = Repository(open_database(tmp_path / "nw.db"))
    now = datetime.now(UTC)
    repo.feeds.sync([FeedSpec("telegram:privatechan", kind=SourceKind.TELEGRAM)], now)
    before = repo.feeds.states()["telegram:privatechan"]
    repo.feeds.update(before, replace(before, status=FeedStatus.PAUSED, consecutive_failures=1))
    assert repo.feeds.retry("telegram:privatechan", now) == ("telegram:privatechan", "paused")
    assert repo.feeds.states()["telegram:privatechan"].status == "active"


@pytest.mark.parametrize(
    "line",
    ["telegram:", "telegram:ab", "gdelt:", "page:", "page:ftp://x item=a title=b link=c"],
)
def test_unusable_declarations_say_why(line: str, tmp_path: Path) -> None:
    path = tmp_path / "feeds.txt"
    path.write_text(line + "\n", encoding="utf-8")
    specs, problems = load_feed_list(path)
    assert specs == [] and len(problems) == 1 and problems[0].line == 1


def test_default_watchlist_offers_sources_all_commented_out() -> None:
    from bot.feeds.sources.page import check_selectors

    text = (Path(__file__).resolve().parent.parent / "watchlists" / "sahel.toml").read_text(
        encoding="utf-8"
    )
    watchlist, problems = parse_watchlist(text, "sahel.toml")
    assert problems == [] and watchlist is not None
    assert all(f.kind is SourceKind.FEED for f in watchlist.feeds), "none enabled by default"
    start = text.index("# Public Telegram channels")
    enabled = text[:start] + "\n".join(
        line[2:] if line.startswith("# ") and not line.startswith("# -") else line
        for line in text[start:].splitlines()
        if not line.startswith(("# Public", "# Local", "# A GDELT"))
    )
    watchlist, problems = parse_watchlist(enabled, "sahel.toml")
    assert problems == [], problems
    assert watchlist is not None
    kinds = [f.kind for f in watchlist.feeds if f.kind is not SourceKind.FEED]
    assert kinds.count(SourceKind.TELEGRAM) >= 3 and kinds.count(SourceKind.PAGE) >= 3
    for spec in watchlist.feeds:
        if spec.selectors is not None:
            assert check_selectors(spec.selectors) is None, spec.url
