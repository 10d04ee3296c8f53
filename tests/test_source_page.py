"""Pages without a feed, read with CSS selectors from the loopback feed server: extraction,
EN/FR/AR dates, relative links, first-seen time, unchanged pages, a broken selector, 404."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.errors import SourceError
from bot.core.models import PageSelectors
from bot.core.sources import page_spec, parse_source
from bot.core.timestamps import parse_iso
from bot.feeds.sources.page import check_selectors, extract_page, parse_date
from tests.fakes.feed_server import FeedServer
from tests.source_harness import Clock, alert_rows, source_pipeline

NOW = datetime.now(UTC)
SELECTORS = {"item": "article.post", "title": "h2", "link": "h2 a", "date": ".date"}


def page(articles: list[tuple[str, str, str | None]]) -> str:
    blocks = []
    for title, href, date in articles:
        when = f'<span class="date">{date}</span>' if date else ""
        blocks.append(
            f'<article class="post"><h2><a href="{href}">{title}</a></h2>{when}'
            f"<p class='excerpt'>Résumé de l'article.</p></article>"
        )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Journal du Sahel</title>"
        "</head><body><nav><a href='/'>Accueil</a></nav><main>"
        + "".join(blocks)
        + "</main></body></html>"
    )


TODAY_FR = f"{NOW.day} " + [
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
    "octobre", "novembre", "décembre",
][NOW.month - 1] + f" {NOW.year}"  # fmt: skip
PAGE = page(
    [
        ("Mali : le JNIM revendique une attaque près de Ségou", "/actu/jnim-segou", TODAY_FR),
        ("Bamako : la mairie rénove le grand marché", "actu/marche", None),
        ("Niger : la récolte de mil s'annonce bonne", "https://autre.example/mil", "hier"),
    ]
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("27 novembre 2026", datetime(2026, 11, 27, tzinfo=UTC)),
        ("٢٧ نوفمبر ٢٠٢٦", datetime(2026, 11, 27, tzinfo=UTC)),
        ("27 نوفمبر 2026", datetime(2026, 11, 27, tzinfo=UTC)),
        ("27 تشرين الثاني 2026", datetime(2026, 11, 27, tzinfo=UTC)),  # Levantine month name
        ("November 27, 2026 10:30", datetime(2026, 11, 27, 10, 30, tzinfo=UTC)),
        ("2026-11-27T10:00:00+01:00", datetime(2026, 11, 27, 9, 0, tzinfo=UTC)),
        ("il y a 3 heures", datetime(2026, 11, 27, 9, 0, tzinfo=UTC)),
        ("pas une date", None),
        ("", None),
    ],
)
def test_dates_in_english_french_and_arabic_words(text: str, expected: datetime | None) -> None:
    assert parse_date(text, datetime(2026, 11, 27, 12, 0, tzinfo=UTC)) == expected


def test_extraction_resolves_relative_links_and_reads_dates() -> None:
    spec = page_spec("https://journal.example/actu/", SELECTORS, "test")
    assert spec.selectors is not None
    extract = extract_page(PAGE.encode(), spec.target, spec.selectors, NOW)
    assert extract.title == "Journal du Sahel"
    assert [e.link for e in extract.entries] == [
        "https://journal.example/actu/jnim-segou",
        "https://journal.example/actu/actu/marche",
        "https://autre.example/mil",
    ]
    assert extract.entries[0].published is not None
    assert extract.entries[0].published.date() == NOW.date()
    assert extract.entries[1].published is None


def test_declarations_and_selector_checks() -> None:
    spec = parse_source(
        'page:https://journal.example/actu item=article.post title=h2 link="h2 a" name="Journal"',
        "feeds.txt",
    )
    assert spec.url == "page:https://journal.example/actu" and spec.title == "Journal"
    assert spec.selectors == PageSelectors("article.post", "h2", "h2 a")
    with pytest.raises(SourceError, match="needs the selectors"):
        parse_source("page:https://journal.example/ item=article", "feeds.txt")
    with pytest.raises(SourceError, match="unknown selector"):
        parse_source("page:https://journal.example/ item=a title=b link=c colour=red", "x")
    assert check_selectors(PageSelectors("article.post", "h2", "h2 a")) is None
    problem = check_selectors(PageSelectors("article..post", "h2", "h2 a"))
    assert problem is not None and "item selector 'article..post'" in problem


async def test_page_alerts_then_skips_unchanged_then_dates_new_items_first_seen(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.set("/actu/", PAGE, content_type="text/html; charset=utf-8", fault="no-etag")
    spec = page_spec(feed_server.url("/actu/"), SELECTORS, "test", "Journal du Sahel")
    clock = Clock(NOW)  # the day the page says "today" for, whenever the test runs
    pipeline, repo, fetcher, out = source_pipeline(tmp_path / "nw.db", [spec], clock=clock)
    try:
        report = await pipeline.run_cycle(force=True)
        assert report.errors == 0, report.feed_errors
        titles = [a["title"] for a in alert_rows(repo)]
        assert titles == ["Mali : le JNIM revendique une attaque près de Ségou"]
        assert "grand marché" not in " ".join(titles), "undated items on a first read: recorded"
        clock.advance(600)
        report = await pipeline.run_cycle(force=True)
        assert report.unchanged_body == 1 and report.items_new == 0
        feed_server.set(
            "/actu/",
            page([("Bamako : couvre-feu prolongé d'une semaine", "/actu/couvre-feu", None)]) + PAGE,
            content_type="text/html",
            fault="no-etag",
        )
        clock.advance(600)
        await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    new = alert_rows(repo)[-1]
    assert new["title"] == "Bamako : couvre-feu prolongé d'une semaine"
    assert parse_iso(new["published_at"]) == clock.now.replace(microsecond=0), (
        "an undated item: its first-seen time"
    )
    assert out.notices == []


async def test_broken_selector_gives_one_notice_then_recovers(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.set("/actu/", PAGE, content_type="text/html")
    spec = page_spec(feed_server.url("/actu/"), SELECTORS, "test")
    clock = Clock(NOW)  # the day the page says "today" for, whenever the test runs
    pipeline, repo, fetcher, out = source_pipeline(tmp_path / "nw.db", [spec], clock=clock)
    redesigned = PAGE.replace('class="post"', 'class="card"').replace(
        "Ségou", "Ségou (mise à jour)"
    )
    try:
        await pipeline.run_cycle(force=True)
        feed_server.set("/actu/", redesigned, content_type="text/html")
        for _ in range(3):
            clock.advance(3 * 86400)
            report = await pipeline.run_cycle(force=True)
            assert "selector matched 0 items" in str(report.feed_errors[spec.url])
        assert len(out.notices) == 1, out.notices
        assert "selector matched 0 items: the site may have changed" in out.notices[0]
        feed_server.set("/actu/", PAGE + "<!-- back -->", content_type="text/html")
        clock.advance(3 * 86400)
        report = await pipeline.run_cycle(force=True)
        assert report.errors == 0
    finally:
        await fetcher.aclose()
    assert len(out.notices) == 2 and "match again" in out.notices[1]
    state = repo.feeds.states([spec.url])[spec.url]
    assert state.consecutive_failures == 0 and state.last_error is None


async def test_page_404_is_a_recorded_failure(feed_server: FeedServer, tmp_path: Path) -> None:
    spec = page_spec(feed_server.url("/gone/"), SELECTORS, "test")
    pipeline, repo, fetcher, out = source_pipeline(tmp_path / "nw.db", [spec])
    try:
        report = await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    assert str(report.feed_errors[spec.url]) == "HTTP 404 Not Found"
    state = repo.feeds.states([spec.url])[spec.url]
    assert state.consecutive_failures == 1 and state.next_fetch_at
    assert out.alerts == [] and out.notices == []


async def test_page_that_never_matched_says_so(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.set("/actu/", PAGE, content_type="text/html")
    spec = page_spec(feed_server.url("/actu/"), {**SELECTORS, "item": "div.nothing"}, "test")
    pipeline, _repo, fetcher, out = source_pipeline(tmp_path / "nw.db", [spec])
    try:
        report = await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    assert str(report.feed_errors[spec.url]) == "selector 'div.nothing' matched 0 items on the page"
    assert out.notices == []


@pytest.mark.parametrize(
    "text",
    [
        "27 novembre 2026",
        "Le 27 nov. 2026 à 10h30",
        "٢٧ نوفمبر ٢٠٢٦",
        "27 نوفمبر",
        "November 27, 2026 10:30",
        "Nov 3",
        "1er décembre 2025",
        "mardi 3 mars 2026 - 14:05",
        "14 juillet",
        "2 août 2026",
    ],
)
def test_common_written_dates_read_as_dateparser_reads_them(text: str) -> None:
    """The fast path for "27 novembre 2026" and kin gives dateparser's answer, 1000x cheaper."""
    import dateparser

    from bot.feeds.sources.page import _fast_date

    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    settings = {
        "RETURN_AS_TIMEZONE_AWARE": True,
        "TO_TIMEZONE": "UTC",
        "PREFER_DATES_FROM": "past",
        "RELATIVE_BASE": now.replace(tzinfo=None),
    }
    expected = dateparser.parse(text, languages=["en", "fr", "ar"], settings=settings)
    assert expected is not None
    assert _fast_date(text, now) == expected
