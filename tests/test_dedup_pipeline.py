"""Deduplication through the real pipeline: item keys, cross-feed URLs, stories, restarts."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.core.arrival_bound import dated_by_arrival
from bot.core.matching import Matcher
from bot.core.models import CycleReport
from bot.core.watchlist import Entity
from storage.repository import Repository
from tests.conftest import SHARED_FEEDS
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.harness import make_pipeline

AL_MONITOR = SHARED_FEEDS / "fastfeedparser" / "benchmark_data" / "72fea1ebfd02e90a"
NOW = time.time()


def _item(guid: str, title: str, link: str, summary: str = "") -> dict[str, str]:
    return {
        "guid": guid,
        "title": title,
        "link": link,
        "description": summary or title,
        "pubDate": rfc822(NOW - 900),
    }


async def _cycle(db: Path, urls: list[str], **options: Any) -> tuple[CycleReport, Repository, Any]:
    pipeline, repo, fetcher, out = make_pipeline(db, urls, **options)
    try:
        report = await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    return report, repo, out


@pytest.mark.skipif(not AL_MONITOR.is_file(), reason="../shared/feeds is absent")
async def test_al_monitor_item_repeated_four_times_alerts_once(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.set("/almonitor", AL_MONITOR.read_bytes())
    matcher = Matcher.compile([Entity.of("Venezuela", ["Venezuela"])])
    report, _repo, out = await _cycle(
        tmp_path / "nw.db",
        [feed_server.url("/almonitor")],
        matcher=matcher,
        backfill_hours=24 * 3650,
    )
    assert report.alerts == 1
    assert out.getvalue().count("Qatar PM arrives in Venezuela") == 1
    # and a restart with the same feed (no ETag help: new process, same DB) re-alerts nothing
    feed_server.set("/almonitor", AL_MONITOR.read_bytes() + b"\n")
    report2, _repo, out2 = await _cycle(
        tmp_path / "nw.db",
        [feed_server.url("/almonitor")],
        matcher=matcher,
        backfill_hours=24 * 3650,
    )
    assert report2.alerts == 0 and "Venezuela" not in out2.getvalue()


async def test_same_url_through_two_feeds_is_one_alert_naming_both(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    link = "https://www.example.org/mali/kidal-drone-strike/"
    feed_server.set(
        "/a",
        rss([_item("a-1", "Drone strike in Kidal", link + "?utm_source=rss")], title="Outlet A"),
    )
    feed_server.set(
        "/b",
        rss(
            [
                _item(
                    "b-77",
                    "Drone strike in Kidal",
                    "http://example.org/mali/kidal-drone-strike#comments",
                )
            ],
            title="Outlet B",
        ),
    )
    urls = [feed_server.url("/a"), feed_server.url("/b")]
    report, repo, _out = await _cycle(tmp_path / "nw.db", urls)
    assert report.alerts == 1
    [row] = repo.db.execute("SELECT sources, story_id FROM alerts").fetchall()
    assert sorted(json.loads(row[0])) == ["Outlet A", "Outlet B"]
    story = repo.db.execute("SELECT outlets FROM stories WHERE id = ?", [row[1]]).fetchone()
    assert sorted(json.loads(story[0])) == ["Outlet A", "Outlet B"]


STORY_A = (
    "Mali: JNIM fighters kill 12 soldiers in attack on army post near Ségou",
    "Jihadists of the al-Qaeda-linked JNIM attacked a Malian army post near Ségou on"
    " Tuesday, killing 12 soldiers, the army said.",
)
STORY_A2 = (
    "JNIM attack on Malian army post near Ségou leaves 12 soldiers dead",
    "An attack claimed by JNIM on an army post near Ségou killed 12 Malian soldiers on"
    " Tuesday, according to the army.",
)
STORY_A3 = (
    "Twelve soldiers killed as JNIM hits army post near Ségou, Mali",
    "JNIM militants killed 12 soldiers in an attack on a Malian army post near Ségou on"
    " Tuesday, the army said in a statement.",
)
STORY_B = (
    "Mali: JNIM fighters kill 30 civilians in attack on village near Mopti",
    "Jihadists of JNIM attacked a village near Mopti on Tuesday, killing 30 civilians,"
    " local officials said.",
)


async def test_rewritten_story_is_one_alert_and_distinct_attack_is_another(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.set(
        "/a", rss([_item("a1", STORY_A[0], "https://a.example/1", STORY_A[1])], title="Outlet A")
    )
    feed_server.set(
        "/b",
        rss(
            [
                _item("b1", STORY_A2[0], "https://b.example/1", STORY_A2[1]),
                _item("b2", STORY_B[0], "https://b.example/2", STORY_B[1]),
            ],
            title="Outlet B",
        ),
    )
    urls = [feed_server.url("/a"), feed_server.url("/b")]
    report, repo, _out = await _cycle(tmp_path / "nw.db", urls)
    rows = repo.db.execute("SELECT title, story_id, delivered FROM alerts ORDER BY id").fetchall()
    assert len(rows) == 3
    stories = {title: sid for title, sid, _ in rows}
    assert stories[STORY_A[0]] == stories[STORY_A2[0]], "a rewrite joins the story"
    assert stories[STORY_B[0]] != stories[STORY_A[0]], "another town and toll is another story"
    assert report.alerts == 2, "one message per story"
    assert sum(d for _, _, d in rows) == 2

    # After a restart (new process state, same DB), a third outlet still joins story A.
    feed_server.set(
        "/c", rss([_item("c1", STORY_A3[0], "https://c.example/1", STORY_A3[1])], title="Outlet C")
    )
    report2, repo2, _ = await _cycle(tmp_path / "nw.db", [*urls, feed_server.url("/c")])
    assert report2.alerts == 0
    story_a = stories[STORY_A[0]]
    outlets = json.loads(
        repo2.db.execute("SELECT outlets FROM stories WHERE id = ?", [story_a]).fetchone()[0]
    )
    assert sorted(outlets[:2]) == ["Outlet A", "Outlet B"] and outlets[2:] == ["Outlet C"]


async def test_routed_and_default_entities_reach_both_chat_sets(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    from bot.core.watchlist import ChatRoute

    matcher = Matcher.compile(
        [
            Entity.of("Kidal", ["Kidal"], chats=[ChatRoute(-100500, 9)]),
            Entity.of("FAMa", ["FAMa"]),
        ]
    )
    feed_server.set("/a", rss([_item("k1", "FAMa retake positions near Kidal", "https://a/1")]))
    _report, repo, _out = await _cycle(
        tmp_path / "nw.db", [feed_server.url("/a")], matcher=matcher, chat_ids=(42,)
    )
    rows = repo.db.execute("SELECT chat_id, thread_id FROM deliveries ORDER BY chat_id").fetchall()
    assert rows == [(-100500, 9), (42, None)]


# One aggregator body carrying several reports of one event (every Google News search feed):
# each item must see the items assigned before it in the same body.
AGGREGATOR_REPORTS = [
    (
        "Mali: JNIM claims attack on army camp in Boulkessi",
        "The al-Qaeda-linked JNIM said it attacked the army camp of Boulkessi, near the border"
        " with Burkina Faso, on Monday.",
    ),
    (
        "Mali : le JNIM revendique l'attaque du camp militaire de Boulkessi",
        "Le JNIM, lié à al-Qaïda, a revendiqué lundi l'attaque du camp de l'armée malienne à"
        " Boulkessi, près de la frontière burkinabè.",
    ),
]


@pytest.mark.parametrize("identical", [False, True], ids=["rewrites", "same-text-two-urls"])
async def test_aggregator_body_with_two_reports_of_one_event_alerts_once(
    feed_server: FeedServer, tmp_path: Path, identical: bool
) -> None:
    reports = [AGGREGATOR_REPORTS[0]] * 2 if identical else AGGREGATOR_REPORTS
    feed_server.set(
        "/news",
        rss(
            [
                _item(f"g{k}", title, f"https://outlet{k}.example/story", summary)
                for k, (title, summary) in enumerate(reports)
            ],
            title="Aggregator",
        ),
    )
    report, repo, out = await _cycle(tmp_path / "nw.db", [feed_server.url("/news")])
    rows = repo.db.execute("SELECT story_id, delivered FROM alerts ORDER BY id").fetchall()
    assert len(rows) == 2, "both reports are stored"
    assert rows[0][0] == rows[1][0], "the second report joins the first one's story"
    assert [d for _, d in rows] == [1, 0]
    assert report.alerts == 1, "one message for the event"
    assert out.getvalue().count("Boulkessi") >= 1


async def test_aggregator_body_keeps_two_towns_apart(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.set(
        "/news",
        rss(
            [
                _item("t1", "Mali: JNIM claims raid on Tenenkou", "https://a.example/1"),
                _item("t2", "Mali: JNIM claims raid on Youwarou", "https://b.example/2"),
            ],
            title="Aggregator",
        ),
    )
    report, repo, _out = await _cycle(tmp_path / "nw.db", [feed_server.url("/news")])
    rows = repo.db.execute("SELECT story_id FROM alerts ORDER BY id").fetchall()
    assert len(rows) == 2 and rows[0][0] != rows[1][0], "raids on two towns are two events"
    assert report.alerts == 2


# A feed that carries an old report beside today's (a search feed surfacing last week's attack
# on the same camp): reports published more than the story window apart are two events, even
# when they arrive in one cycle. After a restart the stored reports keep their dates.
@pytest.mark.parametrize(
    ("older_by_hours", "same_story"),
    [(0.2, True), (30.0, True), (5 * 24.0, False)],
    ids=["minutes-apart", "next-day", "five-days-older"],
)
@pytest.mark.parametrize("restart", [False, True], ids=["one-body", "after-restart"])
async def test_reports_are_grouped_by_publication_date_not_arrival(
    feed_server: FeedServer, tmp_path: Path, older_by_hours: float, same_story: bool, restart: bool
) -> None:
    (title_a, summary_a), (title_b, summary_b) = AGGREGATOR_REPORTS
    fresh = {**_item("a", title_a, "https://a.example/1", summary_a), "pubDate": rfc822(NOW - 600)}
    older = {
        **_item("b", title_b, "https://b.example/2", summary_b),
        "pubDate": rfc822(NOW - 600 - older_by_hours * 3600),
    }
    db, urls = tmp_path / "nw.db", [feed_server.url("/news"), feed_server.url("/wire")]
    # a first fetch only alerts the last 24 h (the backfill): start from empty feeds
    feed_server.set("/news", rss([], title="Aggregator"))
    feed_server.set("/wire", rss([], title="Wire"))
    await _cycle(db, urls)
    if restart:  # today's report is stored first; the older one comes from another outlet
        feed_server.set("/news", rss([fresh], title="Aggregator"))  # in a later process
        await _cycle(db, urls)
        feed_server.set("/wire", rss([older], title="Wire"))
    else:
        feed_server.set("/news", rss([fresh, older], title="Aggregator"))
    await _cycle(db, urls)
    rows = sqlite3.connect(db).execute("SELECT link, story_id FROM alerts ORDER BY id").fetchall()
    assert len(rows) == 2, rows
    assert (rows[0][1] == rows[1][1]) is same_story, rows


# Feeds that give no publication date: the gap between two reports is unknown, not 0 h. Two
# events of one actor stay apart (the pardon, then the soldiers' arrival home: a later step),
# in one body and against a stored report after a restart (its row has no date either);
# rewrites of one event still join.
PARDON = ("Goïta pardons the 46 Ivorian soldiers", "The transition president signed a decree.")
ARRIVAL = (
    "The 46 Ivorian soldiers pardoned by Goïta arrive in Abidjan",
    "The soldiers landed at the airport of Abidjan.",
)
UNDATED_CASES = [(PARDON, ARRIVAL, False), (*AGGREGATOR_REPORTS, True)]


def _undated(guid: str, title: str, link: str, summary: str) -> dict[str, str]:
    item = _item(guid, title, link, summary)
    del item["pubDate"]
    return item


def _polled_ago(db: Path, hours: float) -> None:
    """Every feed's previous successful poll ``hours`` ago (an outage since, or a recent poll)."""
    at = datetime.fromtimestamp(time.time() - hours * 3600, UTC).isoformat(timespec="seconds")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE feeds SET last_success_at = ?", [at])


async def _two_undated_after_downtime(
    feed_server: FeedServer, tmp_path: Path, a: dict[str, str], b: dict[str, str], restart: bool
) -> list[tuple[Any, ...]]:
    """Undated reports ``a`` and ``b`` read after two days of downtime (nothing bounds their
    dates, bot.core.arrival_bound), in one aggregator body or, with ``restart``, in two feeds
    across a restart (the second is grouped against the window re-indexed from SQLite). The
    stored alerts' (link, published_at, published_after, created_at, story_id)."""
    db, urls = tmp_path / "nw.db", [feed_server.url("/news"), feed_server.url("/wire")]
    # an undated item alerts only once its feed has been fetched before (no backfill by date)
    feed_server.set("/news", rss([], title="Aggregator"))
    feed_server.set("/wire", rss([], title="Wire"))
    await _cycle(db, urls)
    # the feeds were last read two days ago (the bot was down): nothing bounds the dates
    # (bot.core.arrival_bound; test_arrival_bound_dates_the_steady_flow_of_an_undated_feed)
    _polled_ago(db, 48)
    if restart:
        feed_server.set("/news", rss([a], title="Aggregator"))
        await _cycle(db, urls)
        _polled_ago(db, 48)
        feed_server.set("/wire", rss([b], title="Wire"))
    else:
        feed_server.set("/news", rss([a, b], title="Aggregator"))
    await _cycle(db, urls)
    return list(
        sqlite3.connect(db).execute(
            "SELECT link, published_at, published_after, created_at, story_id FROM alerts"
        )
    )


@pytest.mark.parametrize(
    ("first", "second", "same_story"), UNDATED_CASES, ids=["two-events", "rewrites"]
)
@pytest.mark.parametrize("restart", [False, True], ids=["one-body", "after-restart"])
async def test_undated_reports_are_grouped_without_a_gap_of_zero(
    feed_server: FeedServer,
    tmp_path: Path,
    first: tuple[str, str],
    second: tuple[str, str],
    same_story: bool,
    restart: bool,
) -> None:
    a = _undated("a", first[0], "https://a.example/1", first[1])
    b = _undated("b", second[0], "https://b.example/2", second[1])
    rows = await _two_undated_after_downtime(feed_server, tmp_path, a, b, restart)
    assert len(rows) == 2, rows
    assert all(published is None for _, published, *_ in rows), rows
    assert not any(_dated_by_arrival(bound, created) for _, _, bound, created, _ in rows), rows
    assert (rows[0][4] == rows[1][4]) is same_story, rows


def _dated_by_arrival(bound: str | None, created: str) -> bool:
    """Whether a stored undated alert reads as dated by its arrival (its stored bound)."""
    return dated_by_arrival(
        datetime.fromisoformat(bound) if bound else None, datetime.fromisoformat(created)
    )


# The arrival bounds the date (bot.core.arrival_bound): a report first seen in a feed read
# shortly before without it was published in between, so its arrival is its date. The pardon
# and the soldiers' arrival home, both first seen now, are then one story as two dated reports
# minutes apart are (a step named within 12 h is a detail of the same day's report); with
# nothing to bound them (an outage, a body new as a whole) they stay apart as above. Each
# `_cycle` is a new process: the second report is placed against the first one re-indexed
# from SQLite, whose bound must have been stored.
BOUND_CASES = [
    # (feed history before the reports, reports in one body, one story, dated by arrival)
    ("polled-minutes-ago", False, True, True),
    ("polled-minutes-ago-then-restart", False, True, True),
    ("outage-of-two-days", False, False, False),
    ("body-new-as-a-whole", True, False, False),
]


@pytest.mark.parametrize(
    ("history", "one_body", "same_story", "bounded"), BOUND_CASES, ids=[c[0] for c in BOUND_CASES]
)
async def test_arrival_bound_dates_the_steady_flow_of_an_undated_feed(
    feed_server: FeedServer,
    tmp_path: Path,
    history: str,
    one_body: bool,
    same_story: bool,
    bounded: bool,
) -> None:
    a = _undated("a", PARDON[0], "https://a.example/1", PARDON[1])
    b = _undated("b", ARRIVAL[0], "https://b.example/2", ARRIVAL[1])
    db, urls = tmp_path / "nw.db", [feed_server.url("/news"), feed_server.url("/wire")]
    feed_server.set("/news", rss([], title="Aggregator"))
    feed_server.set("/wire", rss([], title="Wire"))
    await _cycle(db, urls)
    _polled_ago(db, 48 if history.startswith("outage") else 0.1)
    if one_body:
        feed_server.set("/news", rss([a, b], title="Aggregator"))
    elif history.endswith("restart"):
        feed_server.set("/news", rss([a], title="Aggregator"))
        await _cycle(db, urls)
        feed_server.set("/wire", rss([b], title="Wire"))
    else:
        feed_server.set("/news", rss([a], title="Aggregator"))
        feed_server.set("/wire", rss([b], title="Wire"))
    await _cycle(db, urls)
    rows = (
        sqlite3.connect(db)
        .execute("SELECT published_at, published_after, created_at, story_id FROM alerts")
        .fetchall()
    )
    assert len(rows) == 2, rows
    assert all(published is None for published, *_ in rows), rows
    assert all(_dated_by_arrival(bound, created) is bounded for _, bound, created, _ in rows)
    if history == "body-new-as-a-whole":  # a republished archive looks like this: no bound
        assert all(bound is None for _, bound, *_ in rows), rows
    for _, bound, created, _story in rows:
        if bound is not None:  # the poll before, which did not hold the report
            assert datetime.fromisoformat(bound) <= datetime.fromisoformat(created), rows
    assert (rows[0][3] == rows[1][3]) is same_story, rows


async def test_a_first_poll_backlog_is_never_bounded(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    backlog = [
        _undated("a", PARDON[0], "https://a.example/1", PARDON[1]),
        _undated("b", ARRIVAL[0], "https://b.example/2", ARRIVAL[1]),
    ]
    db, urls = tmp_path / "nw.db", [feed_server.url("/news")]
    feed_server.set("/news", rss(backlog, title="Aggregator"))
    report, _repo, _out = await _cycle(db, urls)
    # a backlog of unknown age: recorded, never alerted, and nothing bounds its dates
    assert report.alerts == 0
    assert sqlite3.connect(db).execute("SELECT count(*) FROM alerts").fetchone() == (0,)
    title, summary = AGGREGATOR_REPORTS[0]
    fresh = _undated("c", title, "https://c.example/3", summary)
    feed_server.set("/news", rss([fresh, *backlog], title="Aggregator"))
    await _cycle(db, urls)
    rows = sqlite3.connect(db).execute("SELECT link, published_after FROM alerts").fetchall()
    assert [link for link, _ in rows] == ["https://c.example/3"]
    assert rows[0][1] is not None  # the next poll's new report: the first poll bounds it


# Dates in links (bot.core.link_dates): an undated report whose link states its day is dated
# by it, when it is filed and when a restart re-indexes it from SQLite (the link is stored;
# nothing else is). Two attacks on one camp years apart, worded alike, stay two stories; a
# cross-script rewrite of one event, which the undated variants keep apart (p 0.81 < 0.97),
# joins when both links state the same day. With links that state no date, the opposite: the
# links are what decides.
DIOURA = (
    ("Mali: JNIM attacks the army camp of Dioura", "Jihadists of the JNIM attacked the camp."),
    ("Mali: the army camp of Dioura attacked by the JNIM", "The JNIM attacked the camp."),
)
BOULKESSI = (
    ("Mali: JNIM claims attack on army camp in Boulkessi", ""),
    ("مالي: جماعة نصرة الإسلام والمسلمين تتبنى الهجوم على معسكر بولكيسي", ""),
)
TODAY = datetime.fromtimestamp(NOW, UTC).strftime("%Y/%m/%d")
LINK_CASES = [
    # (reports, their links' dated paths, one story with dated links)
    ("one-actor-years-apart", DIOURA, ("2023/09/29", "2025/05/27"), False),
    ("rewrite-same-day", BOULKESSI, (TODAY, TODAY), True),
]


@pytest.mark.parametrize(
    ("reports", "days", "same_story"), [c[1:] for c in LINK_CASES], ids=[c[0] for c in LINK_CASES]
)
@pytest.mark.parametrize("links_dated", [True, False], ids=["dated-links", "plain-links"])
@pytest.mark.parametrize("restart", [False, True], ids=["one-body", "after-restart"])
async def test_undated_reports_are_dated_by_their_links(
    feed_server: FeedServer,
    tmp_path: Path,
    reports: tuple[tuple[str, str], tuple[str, str]],
    days: tuple[str, str],
    same_story: bool,
    links_dated: bool,
    restart: bool,
) -> None:
    links = [
        f"https://{host}.example/{day + '/' if links_dated else ''}mali-report-{n}"
        for n, (host, day) in enumerate(zip(("a", "b"), days, strict=True))
    ]
    a = _undated("a", reports[0][0], links[0], reports[0][1])
    b = _undated("b", reports[1][0], links[1], reports[1][1])
    if not reports[0][1]:  # titles only
        a["description"] = b["description"] = ""
    rows = await _two_undated_after_downtime(feed_server, tmp_path, a, b, restart)
    assert len(rows) == 2, rows
    # what users see keeps the feed's (missing) date: the link's date is read for grouping only
    assert all(published is None for _, published, *_ in rows), rows
    assert not any(_dated_by_arrival(bound, created) for _, _, bound, created, _ in rows), rows
    assert (rows[0][4] == rows[1][4]) is (same_story if links_dated else not same_story), rows


async def test_a_first_poll_alerts_an_undated_report_only_when_its_link_dates_it_fresh(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """On a feed's first poll (``backfill_hours``), an undated report alerts when its link
    states today (noon UTC of the day, never after its arrival, within the backfill); a link
    of 2019 or a link without a date is a backlog: recorded, never alerted."""
    (title, summary), (old_title, old_summary) = DIOURA
    backlog = [
        _undated("a", title, f"https://a.example/{TODAY}/dioura-camp", summary),
        _undated("b", old_title, "https://b.example/2019/09/30/dioura-camp", old_summary),
        _undated("c", PARDON[0], "https://c.example/pardon", PARDON[1]),
    ]
    db, urls = tmp_path / "nw.db", [feed_server.url("/news")]
    feed_server.set("/news", rss(backlog, title="Aggregator"))
    report, _repo, _out = await _cycle(db, urls)
    assert report.alerts == 1
    rows = sqlite3.connect(db).execute("SELECT link, published_at FROM alerts").fetchall()
    assert rows == [(f"https://a.example/{TODAY}/dioura-camp", None)], rows
    # the others are recorded as seen: a later poll does not alert them either
    await _cycle(db, urls)
    assert sqlite3.connect(db).execute("SELECT count(*) FROM alerts").fetchone() == (1,)
