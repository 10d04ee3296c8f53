"""GDELT DOC 2.0 queries against a loopback fake of the API: items with language and country,
the timespan, the shared 5-second limiter, error and empty answers, Google News collapse."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from bot.core.errors import SourceError
from bot.core.models import SourceKind
from bot.core.sources import gdelt_spec, parse_source
from bot.feeds.sources.gdelt import GdeltLimiter, headline, parse_answer, timespan_minutes
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.gdelt_api import Answer, FakeGdelt, article
from tests.source_harness import Clock, alert_rows, source_pipeline

pytestmark = pytest.mark.slow  # GDELT's 5 s gap between requests, in real time

NOW = datetime.now(UTC)
QUERY = '"JNIM" OR "GSIM" sourcelang:fra'
ARTICLES = [
    article(
        "https://www.lefaso.net/spip.php?article1234",
        "Le JNIM revendique une attaque contre l'armée malienne près de Bamako",
        at=NOW - timedelta(minutes=20),
        language="French",
        country="Burkina Faso",
    ),
    article(
        "https://www.aljazeera.net/news/2026/11/27/mali",
        "هجوم لجماعة نصرة الإسلام والمسلمين قرب باماكو",
        at=NOW - timedelta(minutes=10),
        language="Arabic",
        country="Qatar",
    ),
    article(
        "https://journal.example/sport",
        "Football : l'Olympique remporte la coupe de France",
        at=NOW - timedelta(minutes=5),
    ),
]


@pytest.fixture
def gdelt() -> Iterator[FakeGdelt]:
    with FakeGdelt() as server:
        yield server


def test_declarations() -> None:
    spec = parse_source(f"gdelt:{QUERY}", "feeds.txt")
    assert (spec.kind, spec.url, spec.target) == (SourceKind.GDELT, f"gdelt:{QUERY}", QUERY)
    with pytest.raises(SourceError, match="needs a query"):
        gdelt_spec("  ", "x")
    with pytest.raises(SourceError, match="unbalanced quotes"):
        gdelt_spec('"JNIM OR GSIM', "x")


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Attaque près de Ségou - Le Monde", "Attaque près de Ségou"),
        ("Attaque près de Ségou | Lefaso.net", "Attaque près de Ségou"),
        ("Mali - Burkina : la frontière rouverte", "Mali - Burkina : la frontière rouverte"),
        ("Attaque près de Ségou", "Attaque près de Ségou"),
    ],
)
def test_gdelt_titles_lose_their_outlet_suffix(title: str, expected: str) -> None:
    assert headline(title) == expected


@pytest.mark.parametrize(
    ("interval", "backfill", "first", "minutes"),
    [(300, 24, False, 15), (1800, 24, False, 60), (300, 24, True, 1440), (60, 0, True, 15)],
)
def test_timespan_follows_the_poll_interval(
    interval: int, backfill: int, first: bool, minutes: int
) -> None:
    assert timespan_minutes(interval, backfill, first) == minutes


async def test_limiter_spaces_requests_five_seconds_apart_across_sources() -> None:
    now = [100.0]
    waits: list[float] = []
    starts: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = GdeltLimiter(5.0, clock=lambda: now[0], sleep=fake_sleep)

    async def request() -> None:
        starts.append(now[0])
        now[0] += 0.5  # the request itself takes half a second
        await asyncio.sleep(0)

    await asyncio.gather(*(limiter.run(request) for _ in range(4)))
    assert [b - a for a, b in itertools.pairwise(starts)] == [5.5, 5.5, 5.5]
    assert waits == [5.0, 5.0, 5.0]


async def test_query_alerts_with_language_and_country(gdelt: FakeGdelt, tmp_path: Path) -> None:
    gdelt.answer(QUERY, Answer(ARTICLES))
    spec = gdelt_spec(QUERY, "test")
    pipeline, repo, fetcher, out = source_pipeline(
        tmp_path / "nw.db", [spec], gdelt_api_url=gdelt.api_url, poll_interval_seconds=300
    )
    try:
        report = await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    assert report.errors == 0, report.feed_errors
    request = gdelt.requests[0]
    assert request.params["mode"] == "ArtList" and request.params["format"] == "json"
    assert request.params["timespan"] == "1440min", "first read: the backfill window"
    alerts = {a["title"]: a for a in alert_rows(repo)}
    assert set(alerts) == {
        "Le JNIM revendique une attaque contre l'armée malienne près de Bamako",
        "هجوم لجماعة نصرة الإسلام والمسلمين قرب باماكو",
    }
    arabic = alerts["هجوم لجماعة نصرة الإسلام والمسلمين قرب باماكو"]
    assert arabic["source"] == "aljazeera.net (Arabic, Qatar)"
    parsed, limited = parse_answer(json.dumps({"articles": ARTICLES}).encode(), spec)
    assert not limited
    assert [(i.language, i.country) for i in parsed.items] == [
        ("French", "Burkina Faso"),
        ("Arabic", "Qatar"),
        ("French", "Mali"),
    ]
    assert parsed.items[0].published == datetime.strptime(
        ARTICLES[0]["seendate"], "%Y%m%dT%H%M%SZ"
    ).replace(tzinfo=UTC)
    assert out.notices == []


@pytest.mark.parametrize("mode", ["empty", "blank"])
async def test_empty_answer_is_not_an_error(gdelt: FakeGdelt, tmp_path: Path, mode: str) -> None:
    gdelt.answer(QUERY, Answer(mode=mode))
    spec = gdelt_spec(QUERY, "test")
    pipeline, repo, fetcher, _out = source_pipeline(
        tmp_path / "nw.db", [spec], gdelt_api_url=gdelt.api_url
    )
    try:
        report = await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    assert report.errors == 0 and report.items_new == 0
    assert repo.feeds.states([spec.url])[spec.url].last_error is None


@pytest.mark.parametrize(
    ("mode", "error", "kind", "waits"),
    [
        ("error", "GDELT answered with an error: Your search contained a keyword", "source", False),
        ("error-json", "GDELT answered with an error: Invalid query", "source", False),
        ("rate-text", "GDELT answered with an error: Please limit requests", "rate_limited", True),
        ("429", "HTTP 429", "rate_limited", True),
    ],
)
async def test_error_answers_are_recorded_failures_and_nothing_is_lost(
    gdelt: FakeGdelt, tmp_path: Path, mode: str, error: str, kind: str, waits: bool
) -> None:
    gdelt.answer(QUERY, Answer(ARTICLES, mode=mode))
    spec = gdelt_spec(QUERY, "test")
    clock = Clock()
    pipeline, repo, fetcher, _out = source_pipeline(
        tmp_path / "nw.db", [spec], clock=clock, gdelt_api_url=gdelt.api_url
    )
    try:
        report = await pipeline.run_cycle(force=True)
        assert str(report.feed_errors[spec.url]).startswith(error)
        assert report.feed_errors[spec.url].kind == kind
        state = repo.feeds.states([spec.url])[spec.url]
        assert state.consecutive_failures == 1
        assert bool(state.retry_not_before) == waits
        gdelt.answer(QUERY, Answer(ARTICLES))
        clock.advance(3600)
        report = await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    assert report.errors == 0
    assert len(alert_rows(repo)) == 2, "the next good answer brings every article"
    assert gdelt.requests[-1].params["timespan"] == "1440min", "still a first read"


async def test_google_news_and_gdelt_items_for_one_article_collapse(
    gdelt: FakeGdelt, feed_server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    title = "Le JNIM revendique une attaque contre l'armée malienne près de Bamako"
    google = rss(
        [
            {
                "title": f"{title} - Lefaso.net",
                "link": "https://news.google.com/rss/articles/CBMiXkFVX3lxTE1hbGk?oc=5",
                "guid": "CBMiXkFVX3lxTE1hbGk",
                "description": f"{title}&nbsp;&nbsp;Lefaso.net",
                "pubDate": rfc822((NOW - timedelta(minutes=15)).timestamp()),
            }
        ],
        title='"JNIM" - Google News',
    )
    path = f"/rss/search?q={quote_plus('JNIM when:1d')}&hl=fr"
    feed_server.set(path, google)
    google_url = feed_server.url(path)
    with_suffix = dict(ARTICLES[0], title=f"{title} | Lefaso.net")  # GDELT: the page <title>
    gdelt.answer(QUERY, Answer([with_suffix]))
    from bot.core.models import FeedSpec

    specs = [FeedSpec(google_url), gdelt_spec(QUERY, "test")]
    pipeline, repo, fetcher, _out = source_pipeline(
        tmp_path / "nw.db", specs, gdelt_api_url=gdelt.api_url
    )
    # The feed server stands in for news.google.com (Google's outlet suffix is split off and
    # the article key is taken for Google News feeds only).
    import bot.core.sources
    import bot.core.urls
    import bot.feeds.parser

    real = bot.core.urls.is_google_news_url
    for module in (bot.core.sources, bot.feeds.parser):
        monkeypatch.setattr(
            module, "is_google_news_url", lambda url: url == google_url or real(url)
        )
    try:
        await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    alerts = alert_rows(repo)
    assert len(alerts) == 1, [a["title"] for a in alerts]
    assert len(json.loads(alerts[0]["sources"])) == 2
    keys = repo.db.execute("SELECT count(DISTINCT article_key) FROM items").fetchone()[0]
    assert keys == 1
