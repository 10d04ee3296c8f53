"""`main.py web` over a database filled by a real `poll --once`: tables, facets, search, canned
queries, CSV, hidden internals, read-only, authentication, and reads during a poll cycle."""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
import sqlite3
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from tests.conftest import CHAT, TOKEN, main_env, run_main, telegram_env, write_feed_list
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.news_samples import JNIM_BAMAKO, SOMALIA_FLOODS, goita_lavrov_atom
from tests.web_process import WebProcess

pytestmark = pytest.mark.slow  # main.py poll --once, then main.py web and a browser

pytest.importorskip(
    "datasette", reason="the web view needs the `web` extra (pip install -e '.[web]')"
)

NOW = time.time()
SECRET_MARKER = "PAIRING-K7Q2-MARKER"  # stands for a pairing code, in the internal tables
NEW_PER_FEED = 100
INTERNAL = ("users", "access_log", "deliveries", "_migrations", "admin_notices")

RSS = rss(
    [
        {**JNIM_BAMAKO, "pubDate": rfc822(NOW - 3600)},
        {**SOMALIA_FLOODS, "pubDate": rfc822(NOW - 1800)},
    ],
    title="Sahel Wire",
)
SECOND = rss(
    [
        {"title": "JNIM fighters attack army positions near Bamako, Mali",
         "link": "https://desert.example.net/jnim-bamako", "guid": "desert-1",
         "description": "The jihadist group claimed the attack on a checkpoint near the capital.",
         "pubDate": rfc822(NOW - 3000)},
    ],
    title="Desert Post",
)  # fmt: skip
ATOM = goita_lavrov_atom(NOW - 600)


def _env(tmp: Path, api: FakeTelegramAPI, feeds: Path) -> dict[str, str]:
    return telegram_env(main_env(tmp / "newswatch.db", NEWSWATCH_FEEDS=str(feeds)), api)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """A database filled by one real `poll --once` (with a token), served by `main.py web`."""
    tmp = tmp_path_factory.mktemp("web")
    with FakeTelegramAPI(TOKEN) as api, FeedServer() as server:
        server.set("/rss.xml", RSS)
        server.set("/second.xml", SECOND)
        server.set("/atom.xml", ATOM, content_type="application/atom+xml")
        server.set("/broken.xml", "upstream exploded", status=500)
        urls = [server.url(p) for p in ("/rss.xml", "/second.xml", "/atom.xml", "/broken.xml")]
        env = _env(tmp, api, write_feed_list(tmp, urls))
        poll = run_main(["poll", "--once"], env)
        assert poll.returncode == 0, poll.stderr
        db = sqlite3.connect(tmp / "newswatch.db")
        with db:  # what pairing and /allow leave behind: never to be shown
            db.execute(
                "INSERT INTO users (user_id, role, added_at, chat_id)"
                " VALUES (4242, 'owner', '2026-01-01T00:00:00+00:00', 4242)"
            )
            db.execute(
                "INSERT INTO access_log (at, actor, action, user_id, detail)"
                " VALUES ('2026-01-01T00:00:00+00:00', 4242, 'paired', 4242, ?)",
                [SECRET_MARKER],
            )
            db.execute(
                "INSERT INTO mutes (chat_id, kind, value, created_at, created_by)"
                " VALUES (?, 'entity', 'MINUSMA', '2026-01-01T00:00:00+00:00', 4242)",
                [CHAT],
            )
            db.execute(
                "INSERT INTO subscriptions (chat_id, added_at, added_by)"
                " VALUES (-100777, '2026-01-01T00:00:00+00:00', 4242)"
            )
        with WebProcess(env) as web:
            yield SimpleNamespace(web=web, env=env, db=db, tmp=tmp, server=server, urls=urls)
            code = web.stop()
        assert code in (0, -15), web.output()  # uvicorn ends by re-raising SIGTERM
        assert TOKEN not in web.output()
        assert "Traceback" not in web.output(), web.output()


def get(archive: SimpleNamespace, path: str, **kwargs: object) -> httpx.Response:
    return httpx.get(archive.web.url(path), timeout=30, **kwargs)  # type: ignore[arg-type]


def rows(archive: SimpleNamespace, path: str) -> list[dict[str, Any]]:
    sep = "&" if "?" in path else "?"
    response = get(archive, f"{path}{sep}_shape=array")
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()
    return data


def test_alerts_table_newest_first_with_links_to_article_and_story(
    archive: SimpleNamespace,
) -> None:
    alerts = rows(archive, "/newswatch/alerts.json")
    titles = [a["title"] for a in alerts]
    assert "Assimi Goïta reçoit Sergueï Lavrov à Bamako" in titles
    assert not any("Somalia" in t for t in titles)
    stamps = [a["created_at"] for a in alerts]
    assert stamps == sorted(stamps, reverse=True), "newest first by default"
    page = get(archive, "/newswatch/alerts")
    assert page.status_code == 200
    goita = next(a for a in alerts if "Goïta" in a["title"])
    assert f'<a href="{goita["link"]}" rel="noopener noreferrer">Assimi Goïta' in page.text
    assert f'href="/newswatch/story?id={goita["story_id"]}"' in page.text
    assert "The outlet (the feed&#39;s title)" in page.text or "The outlet" in page.text


def test_facets_entity_outlet_story_and_day(archive: SimpleNamespace) -> None:
    data = get(archive, "/newswatch/alerts.json?_extra=facet_results").json()
    facets = data["facet_results"]
    assert {"entities", "source", "lang", "story_id", "event_type", "created_at"} <= set(facets)
    languages = {r["value"] for r in facets["lang"]["results"]}
    assert "fr" in languages and "en" in languages, languages
    outlets = {r["value"]: r["count"] for r in facets["source"]["results"]}
    assert outlets["Journal Test"] == 1
    entities = {r["value"]: r["count"] for r in facets["entities"]["results"]}
    assert entities["JNIM"] >= 1 and entities["Assimi Goïta"] == 1
    # A facet value filters the table.
    only = rows(archive, "/newswatch/alerts.json?source=Journal+Test")
    assert [a["source"] for a in only] == ["Journal Test"]
    by_entity = rows(archive, "/newswatch/alerts.json?entities__arraycontains=Assimi+Go%C3%AFta")
    assert len(by_entity) == 1


@pytest.mark.parametrize("query", ["Goita", "goïta", "recoit Lavrov", "SERGUEI"])
def test_search_is_diacritic_insensitive(archive: SimpleNamespace, query: str) -> None:
    found = rows(archive, f"/newswatch/alerts.json?_search={query}")
    assert [a["title"] for a in found] == ["Assimi Goïta reçoit Sergueï Lavrov à Bamako"]


def test_story_page_lists_every_outlet(archive: SimpleNamespace) -> None:
    story_id = archive.db.execute(
        "SELECT story_id FROM alerts WHERE link = 'https://desert.example.net/jnim-bamako'"
    ).fetchone()[0]
    reports = rows(archive, f"/newswatch/story.json?id={story_id}")
    assert {r["outlet"] for r in reports} == {"Sahel Wire", "Desert Post"}
    first = archive.db.execute(
        "SELECT first_alert_id FROM stories WHERE id = ?", [story_id]
    ).fetchone()[0]
    assert reports[0]["alert"] == first, "first reporter first, as the bot's /story"
    page = get(archive, f"/newswatch/story?id={story_id}")
    assert page.status_code == 200
    assert '<a href="https://desert.example.net/jnim-bamako"' in page.text
    assert f'<a href="/newswatch/alerts/{first}">{first}</a>' in page.text


def test_canned_queries_entity_per_day_feed_health_mutes(archive: SimpleNamespace) -> None:
    per_day = rows(archive, "/newswatch/entity_per_day.json?entity=JNIM&days=")
    assert per_day and all(r["entity"] == "JNIM" for r in per_day)
    assert sum(r["alerts"] for r in per_day) == 2
    # One story; it counts once per day it was reported on. The two reports were published
    # 10 minutes apart, so a run just after midnight UTC puts them on two days.
    days = {time.strftime("%Y-%m-%d", time.gmtime(t)) for t in (NOW - 3600, NOW - 3000)}
    assert sum(r["stories"] for r in per_day) == len(days)
    assert all(r["stories"] == 1 for r in per_day)
    health = rows(archive, "/newswatch/feed_health.json")
    assert health[0]["url"].endswith("/broken.xml"), "failing feeds first"
    assert health[0]["failure_kind"] == "HTTP 500" and health[0]["failures"] == 1
    assert health[0]["last_success_at"] is None
    assert all(h["last_success_at"] for h in health[1:])
    mutes = rows(archive, "/newswatch/mutes_and_subscriptions.json")
    assert {(m["what"], m["detail"]) for m in mutes} == {
        ("mute", "entity: MINUSMA"),
        ("subscription", "receives alerts"),
    }


def test_csv_export(archive: SimpleNamespace) -> None:
    response = get(archive, "/newswatch/alerts.csv?_size=max")
    assert response.status_code == 200
    assert (
        response.headers["content-type"].startswith("text/plain")
        or "csv" in (response.headers["content-type"])
    )
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert len(table) == 3
    assert "Assimi Goïta reçoit Sergueï Lavrov à Bamako" in {r["title"] for r in table}
    search = get(archive, "/newswatch/alerts.csv?_search=goita&_dl=1")
    assert search.status_code == 200 and "Goïta" in search.text


def test_internal_tables_are_hidden_and_unreadable(archive: SimpleNamespace) -> None:
    listed = {t["name"] for t in get(archive, "/newswatch.json").json()["tables"]}
    assert {"alerts", "stories", "feeds"} <= listed
    assert not listed & set(INTERNAL)
    for table in INTERNAL:
        assert get(archive, f"/newswatch/{table}").status_code == 403
        assert get(archive, f"/newswatch/{table}.json").status_code == 403
        answer = get(archive, "/newswatch.json", params={"sql": f"select * from [{table}]"})
        assert answer.json()["ok"] is False and "prohibited" in answer.json()["error"]
    sneaky = "select (select group_concat(detail) from access_log) as x from alerts"
    answer = get(archive, "/newswatch.json", params={"sql": sneaky})
    assert answer.json()["ok"] is False
    assert get(archive, "/_internal").status_code in (403, 404)
    assert get(archive, "/newswatch.db").status_code in (403, 404), "no download of the file"


def test_database_is_read_only(archive: SimpleNamespace) -> None:
    before = archive.db.execute("SELECT count(*) FROM alerts").fetchone()[0]
    for sql in (
        "delete from alerts",
        "update alerts set title = 'x'",
        "pragma query_only = 0",
        "attach database ':memory:' as x",
    ):
        answer = get(archive, "/newswatch.json", params={"sql": sql})
        assert answer.json().get("ok") is not True, sql
    assert archive.db.execute("SELECT count(*) FROM alerts").fetchone()[0] == before


def test_the_token_and_pairing_code_never_appear(archive: SimpleNamespace) -> None:
    paths = [
        "/", "/newswatch", "/newswatch.json", "/newswatch/alerts", "/newswatch/alerts.csv",
        "/newswatch/feeds", "/newswatch/feed_health", "/-/metadata.json", "/-/settings.json",
        "/-/plugins.json", "/-/versions.json", "/-/config.json", "/-/databases.json",
        "/newswatch/alerts/1", "/newswatch/access_log.json", "/newswatch/users.csv",
    ]  # fmt: skip
    secret_half = TOKEN.split(":", 1)[1]
    for path in paths:
        text = get(archive, path).text
        assert secret_half not in text, path
        assert SECRET_MARKER not in text, path


def test_reading_during_a_poll_cycle_neither_blocks_nor_fails_the_writer(
    archive: SimpleNamespace, tmp_path: Path
) -> None:
    """Readers hammer the web view (search, facets, CSV, a canned query) while a second
    `poll --once` stores 600 new alerts: the cycle completes, with every alert stored, and
    every read succeeds."""
    urls = []
    for feed in range(6):
        items = [
            {"title": f"Mali: army reports clash {feed * 1000 + i} near Kidal (wire {feed})",
             "guid": f"clash-{feed}-{i}", "link": f"https://wire{feed}.example.org/clash-{i}",
             "description": f"Report {feed}-{i}: fighting {i * 7 % 13} km from Kidal, Mali.",
             "pubDate": rfc822(NOW - 60 - i)}
            for i in range(NEW_PER_FEED)
        ]  # fmt: skip
        archive.server.set(f"/busy-{feed}.xml", rss(items, title=f"Busy Wire {feed}"))
        urls.append(archive.server.url(f"/busy-{feed}.xml"))
    env = dict(archive.env)
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, urls))
    env["TELEGRAM_BOT_TOKEN"] = ""  # console delivery: only the storage side matters here
    before = archive.db.execute("SELECT count(*) FROM alerts").fetchone()[0]

    stop = threading.Event()
    results: list[tuple[str, int]] = []
    errors: list[str] = []
    reads = [
        "/newswatch/alerts.json?_search=Kidal&_extra=facet_results",
        "/newswatch/alerts.csv?_size=max",
        "/newswatch/entity_per_day.json?entity=&days=",
        "/newswatch/alerts.json?_sort_desc=created_at&_size=100",
    ]

    def reader() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                for path in reads:
                    try:
                        response = client.get(archive.web.url(path))
                        results.append((path, response.status_code))
                        if path.endswith("facet_results") and response.status_code == 200:
                            errors.extend(str(e) for e in [response.json().get("error")] if e)
                    except httpx.HTTPError as exc:
                        errors.append(f"{path}: {exc!r}")

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    while len(results) < 4:  # the readers are under way before the writer starts
        time.sleep(0.01)
    started_with = len(results)
    poll = run_main(["poll", "--once"], env)
    during = len(results) - started_with
    stop.set()
    for thread in threads:
        thread.join()

    assert poll.returncode == 0, poll.stderr
    assert "locked" not in poll.stderr.lower() and "busy" not in poll.stderr.lower()
    assert f"new_items={6 * NEW_PER_FEED}" in poll.stderr, poll.stderr
    after = archive.db.execute("SELECT count(*) FROM alerts").fetchone()[0]
    assert after - before == 6 * NEW_PER_FEED
    assert during > 0, "the readers ran while the poll cycle wrote"
    assert not errors, errors[:5]
    assert {status for _, status in results} == {200}, results[:20]
    # The web view sees the new alerts at once: no restart, no copy.
    found = get(archive, "/newswatch/alerts.json?_search=Kidal+clash").json()
    assert found["filtered_table_rows_count"] == 6 * NEW_PER_FEED


def test_alert_row_page_links_story_and_article(archive: SimpleNamespace) -> None:
    alert = rows(archive, "/newswatch/alerts.json?_search=Goita")[0]
    page = get(archive, f"/newswatch/alerts/{alert['id']}")
    assert page.status_code == 200
    assert f'href="/newswatch/story?id={alert["story_id"]}"' in page.text
    assert re.search(r'<a href="https://journal\.example\.fr/goita-lavrov"', page.text)


# ----- a real browser -------------------------------------------------------------------------

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _browser(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = _chromium()
    assert binary is not None
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp_path)  # a fresh profile each run
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.skipif(
    _chromium() is None,
    reason="headless browser check skipped: no Chromium on this machine"
    " (Debian: apt-get install chromium; .ci/run installs it when it can)",
)
def test_a_real_browser_loads_the_alerts_page_and_a_story_page(
    archive: SimpleNamespace, tmp_path: Path
) -> None:
    story_id = archive.db.execute(
        "SELECT story_id FROM alerts WHERE link = 'https://desert.example.net/jnim-bamako'"
    ).fetchone()[0]
    pages = {
        "alerts": archive.web.url("/newswatch/alerts"),
        "story": archive.web.url(f"/newswatch/story?id={story_id}"),
    }
    for name, url in pages.items():
        dom = _browser(tmp_path, "--dump-dom", url)
        assert dom.returncode == 0, dom.stderr[-2000:]
        # The DOM after scripts ran: the page's own JavaScript folded the column list.
        if name == "alerts":
            newest_title, newest_story = archive.db.execute(
                "SELECT title, story_id FROM alerts ORDER BY created_at DESC, id DESC LIMIT 1"
            ).fetchone()
            assert html.escape(newest_title, quote=False) in dom.stdout
            assert f'href="/newswatch/story?id={newest_story}"' in dom.stdout
            assert "<summary>What each column means</summary>" in dom.stdout
        else:
            assert "Story: every report, with every outlet" in dom.stdout
            assert "Desert Post" in dom.stdout and "Sahel Wire" in dom.stdout
        shot = tmp_path / f"{name}.png"
        taken = _browser(tmp_path, "--window-size=1280,900", f"--screenshot={shot}", url)
        assert taken.returncode == 0, taken.stderr[-2000:]
        assert _png_size(shot) == (1280, 900)
        assert shot.stat().st_size > 20_000, "a blank page compresses to a few KB"
