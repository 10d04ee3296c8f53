"""End to end: one `main.py poll --once` over a mixed list (RSS, Atom, JSON Feed, Telegram
channels, a page, a GDELT query) against loopback fakes alerts every watched item once; a
post forwarded between two channels is one alert "also reported by" the other."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import CHAT, run_main, telegram_env
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.gdelt_api import Answer, FakeGdelt, article
from tests.fakes.telegram_api import FakeTelegramAPI, parse_telegram_html
from tests.fakes.tme import Channel, FakeTelegramPreview, Post
from tests.news_samples import goita_lavrov_atom

pytestmark = pytest.mark.slow  # main.py poll --once end to end

NOW = datetime.now(UTC)
QUERY = '"JNIM" OR "GSIM" sourcelang:fra'
FORWARDED = "Kidal: FLA fighters and the army clash north of the town"


@pytest.fixture
def tme() -> Iterator[FakeTelegramPreview]:
    with FakeTelegramPreview() as server:
        yield server


@pytest.fixture
def gdelt() -> Iterator[FakeGdelt]:
    with FakeGdelt() as server:
        yield server


def test_poll_once_over_every_source_kind(
    feed_server: FeedServer,
    tme: FakeTelegramPreview,
    gdelt: FakeGdelt,
    telegram_api: FakeTelegramAPI,
    nw_env: dict[str, str],
    tmp_path: Path,
) -> None:
    feed_server.set(
        "/rss.xml",
        rss(
            [
                {
                    "title": "Mali: JNIM fighters attack army positions near Bamako",
                    "link": "https://news.example.org/mali-jnim-bamako-attack",
                    "guid": "mali-1",
                    "description": "Militants struck a checkpoint.",
                    "pubDate": rfc822(time.time() - 3600),
                },
                {
                    "title": "Somalia: floods displace thousands",
                    "link": "https://news.example.org/somalia-floods",
                    "guid": "som-1",
                    "description": "Heavy rains.",
                    "pubDate": rfc822(time.time() - 1800),
                },
            ],
            title="Sahel Wire",
        ),
    )
    feed_server.set(
        "/atom.xml",
        goita_lavrov_atom((NOW - timedelta(minutes=10)).timestamp()),
        content_type="application/atom+xml",
    )
    feed_server.set(
        "/feed.json",
        json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": "Micro Sahel",
                "items": [
                    {
                        "id": "m-1",
                        "url": "https://micro.example/tombouctou",
                        "content_text": "MINUSMA: last convoy leaves Timbuktu base",
                        "date_published": (NOW - timedelta(minutes=40)).isoformat(),
                    }
                ],
            }
        ),
        content_type="application/feed+json",
    )
    feed_server.set(
        "/actu/",
        "<html><body><div class='list'>"
        "<div class='item'><h3><a href='/actu/gao'>Gao : les FAMa reprennent le contrôle"
        " d'un village</a></h3><time datetime='"
        + (NOW - timedelta(minutes=30)).isoformat()
        + "'>aujourd'hui</time></div>"
        "<div class='item'><h3><a href='/actu/foot'>Football : victoire des Aigles</a></h3>"
        "</div></div></body></html>",
        content_type="text/html; charset=utf-8",
    )
    tme.add(
        Channel(
            "malinews",
            "Mali News",
            [
                Post(50, FORWARDED, at=NOW - timedelta(minutes=30)),
                Post(51, "", at=NOW - timedelta(minutes=25), photos=1),
            ],
        )
    )
    tme.add(
        Channel(
            "sahelwatch",
            "Sahel Watch",
            [
                Post(
                    900,
                    FORWARDED,
                    at=NOW - timedelta(minutes=20),
                    forwarded_from=("Mali News", "malinews/50"),
                ),
                Post(901, "هجوم مسلح على موقع للجيش قرب باماكو", at=NOW - timedelta(minutes=15)),
            ],
        )
    )
    gdelt.answer(
        QUERY,
        Answer(
            [
                article(
                    "https://www.lefaso.net/spip.php?article1234",
                    "Le JNIM revendique une embuscade près de Djibo",
                    at=NOW - timedelta(minutes=12),
                    country="Burkina Faso",
                )
            ]
        ),
    )
    feeds = tmp_path / "feeds.txt"
    feeds.write_text(
        "\n".join(
            [
                feed_server.url("/rss.xml"),
                feed_server.url("/atom.xml"),
                feed_server.url("/feed.json"),
                "telegram:malinews",
                "telegram:sahelwatch  # forwards from malinews",
                f"page:{feed_server.url('/actu/')} item=.item title=h3 link='h3 a' date=time"
                " name='Journal de Gao'",
                f"gdelt:{QUERY}",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    env = telegram_env(nw_env, telegram_api)
    env["NEWSWATCH_FEEDS"] = str(feeds)
    env["NEWSWATCH_TELEGRAM_PREVIEW_URL"] = tme.base_url
    env["NEWSWATCH_GDELT_URL"] = gdelt.api_url

    check = run_main(["check"], env)
    assert check.returncode == 0, check.stdout + check.stderr
    first = run_main(["poll", "--once"], env)
    assert first.returncode == 0, first.stderr
    assert "errors=0" in first.stderr, first.stderr

    texts = [parse_telegram_html(m.text) for m in telegram_api.messages_to(CHAT)]
    expected = [
        "JNIM fighters attack army positions near Bamako",
        "Assimi Goïta reçoit Sergueï Lavrov",
        "MINUSMA: last convoy leaves Timbuktu base",
        "Gao : les FAMa reprennent le contrôle",
        FORWARDED,
        "هجوم مسلح على موقع للجيش قرب باماكو",
        "Le JNIM revendique une embuscade près de Djibo",
    ]
    for headline in expected:
        assert sum(headline in t for t in texts) == 1, (headline, texts)
    assert len(texts) == len(expected), texts
    assert not any("Somalia" in t or "Football" in t for t in texts)

    db = sqlite3.connect(nw_env["NEWSWATCH_DB"])
    sources = db.execute("SELECT sources FROM alerts WHERE title = ?", [FORWARDED]).fetchone()
    assert sorted(json.loads(sources[0])) == ["Mali News", "Sahel Watch"]
    edits = [
        parse_telegram_html(c[2].get("text", "")) for c in telegram_api.calls_of("editMessageText")
    ]
    shown = [t for t in texts + edits if FORWARDED in t and "also reported by" in t]
    assert shown, (texts, edits)

    second = run_main(["poll", "--once"], env)
    assert second.returncode == 0, second.stderr
    assert len(telegram_api.messages_to(CHAT)) == len(expected), "nothing is sent twice"


PAGE = (
    "<html><head><meta charset='utf-8'><title>Journal de Gao</title></head><body>"
    "<div class='item'><h3><a href='/actu/gao'>Gao : les FAMa reprennent le contrôle d'un"
    " village</a></h3><span class='d'>27 novembre 2026</span></div>"
    "<div class='item'><h3><a href='/actu/foot'>Football : victoire des Aigles</a></h3></div>"
    "</body></html>"
)


def test_match_shows_what_a_page_source_extracts(
    feed_server: FeedServer, nw_env: dict[str, str], tmp_path: Path
) -> None:
    feed_server.set("/actu/", PAGE, content_type="text/html")
    declaration = f"page:{feed_server.url('/actu/')} item=.item title=h3 link='h3 a' date=.d"
    result = run_main(["match", "--all", declaration], nw_env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "2 items extracted" in out
    assert "Gao : les FAMa reprennent le contrôle d'un village" in out
    assert feed_server.url("/actu/gao") in out, "relative links are resolved"
    assert "date: '27 novembre 2026' -> 2026-11-27 00:00 UTC" in out
    assert "-- 1 of 2 items would alert" in out

    broken = run_main(["match", declaration.replace("item=.item", "item=.gone")], nw_env)
    assert broken.returncode == 1 and "matched 0 items" in broken.stderr


def test_match_reads_a_telegram_channel(tme: FakeTelegramPreview, nw_env: dict[str, str]) -> None:
    tme.add(Channel("malinews", "Mali News", [Post(50, FORWARDED, at=NOW)]))
    nw_env["NEWSWATCH_TELEGRAM_PREVIEW_URL"] = tme.base_url
    result = run_main(["match", "telegram:malinews"], nw_env)
    assert result.returncode == 0, result.stderr
    assert FORWARDED in result.stdout and "https://t.me/malinews/50" in result.stdout
    missing = run_main(["match", "telegram:nosuchchannel"], nw_env)
    assert missing.returncode == 1 and "has no public preview" in missing.stderr


def test_check_reports_a_bad_selector_at_its_line(nw_env: dict[str, str], tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.txt"
    feeds.write_text(
        "telegram:sahelwatch\n"
        "page:https://journal.example/actu item='div..item' title=h3 link='h3 a'\n"
        'gdelt:"JNIM" OR "GSIM"\n'
        "telegram:a b\n",
        encoding="utf-8",
    )
    nw_env["NEWSWATCH_FEEDS"] = str(feeds)
    result = run_main(["check"], nw_env)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(
        line.startswith(f"{feeds}:2: page:https://journal.example/actu: item selector 'div..item'")
        for line in lines
    ), lines
    assert any(line.startswith(f"{feeds}:4: not a public Telegram channel name") for line in lines)
