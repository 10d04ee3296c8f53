"""Public Telegram channels through t.me/s/<channel>, against a loopback fake with real-shaped
HTML: parsing, only-new posts and ?before= paging, forwards, no preview, 429, a deleted
channel."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from bot.core.models import SourceKind
from bot.core.sources import telegram_spec
from bot.feeds.sources.telegram_channel import parse_channel_page, post_title
from tests.fakes.feed_server import FeedServer
from tests.fakes.tme import Channel, FakeTelegramPreview, Post, channel_page
from tests.source_harness import Clock, alert_rows, source_pipeline

NOW = datetime.now(UTC)
ARABIC = "هجوم مسلح على موقع للجيش قرب باماكو في مالي"


@pytest.fixture
def tme() -> Iterator[FakeTelegramPreview]:
    with FakeTelegramPreview() as server:
        yield server


def sahel_posts() -> list[Post]:
    return [
        Post(
            101,
            "Mali: JNIM fighters attack an army post near Bamako<br/>Several soldiers were"
            ' killed, <a href="https://news.example.org/jnim">local sources</a> say.',
            at=NOW - timedelta(hours=2),
        ),
        Post(102, "", at=NOW - timedelta(hours=1, minutes=50), photos=2),
        Post(
            103,
            "Niamey: the ferry service resumes on the river after the floods.",
            at=NOW - timedelta(hours=1, minutes=40),
            edited=True,
        ),
        Post(104, ARABIC, at=NOW - timedelta(hours=1, minutes=30), videos=1),
        Post(
            105,
            "Assimi Goïta receives a Russian delegation in Bamako",
            at=NOW - timedelta(hours=1, minutes=20),
            forwarded_from=("Mali Presidency", "presidencemali/777"),
        ),
        Post(
            106,
            "Thanks for following",
            at=NOW - timedelta(hours=1),
            reply_to="Mali: JNIM attack on Kati",
        ),
    ]


def test_preview_page_is_parsed_post_by_post() -> None:
    channel = Channel("SahelWatch", "Sahel Watch 🌍")
    page = parse_channel_page(channel_page(channel, sahel_posts()).encode())
    assert page.has_preview and page.title == "Sahel Watch 🌍"
    posts = {p.post_id: p for p in page.posts}
    assert sorted(posts) == [101, 102, 103, 104, 105, 106]
    first = posts[101]
    assert first.ident == "sahelwatch/101"
    assert first.text.split("\n") == [
        "Mali: JNIM fighters attack an army post near Bamako",
        "Several soldiers were killed, local sources say.",
    ]
    assert first.links == ("https://news.example.org/jnim",)
    assert first.published is not None
    assert first.published == (NOW - timedelta(hours=2)).replace(
        microsecond=first.published.microsecond
    )
    assert posts[102].text == "" and posts[102].media == 2 and posts[102].media_label == "2 photos"
    assert posts[103].edited and not posts[101].edited
    assert posts[104].text == ARABIC and posts[104].media == 1
    assert posts[105].forwarded_from == "Mali Presidency"
    assert posts[105].original == "presidencemali/777"
    assert posts[106].text == "Thanks for following", "a replied-to post's text is not this one's"


@pytest.mark.parametrize(
    ("text", "media", "title"),
    [
        ("Short first line\nthen the body", "", "Short first line"),
        ("", "2 photos", "[2 photos]"),
        (
            "Une très longue première ligne qui raconte tout. " * 6,
            "",
            "Une très longue première ligne qui raconte tout.",
        ),
        ("word " * 80, "", ("word " * 31).strip() + "…"),
    ],
)
def test_post_title_is_the_first_line_or_sentence_cut_at_a_word(
    text: str, media: str, title: str
) -> None:
    assert post_title(text, media) == title


def test_declarations_name_channels() -> None:
    for text in (
        "sahelwatch",
        "@sahelwatch",
        "https://t.me/s/sahelwatch",
        "https://t.me/sahelwatch",
    ):
        spec = telegram_spec(text, "test")
        assert (spec.url, spec.kind, spec.target) == (
            "telegram:sahelwatch",
            SourceKind.TELEGRAM,
            "sahelwatch",
        )


async def test_channel_alerts_each_matching_post_once_and_then_only_new_posts(
    tme: FakeTelegramPreview, tmp_path: Path
) -> None:
    channel = tme.add(Channel("sahelwatch", "Sahel Watch", sahel_posts()))
    spec = telegram_spec("sahelwatch", "test")
    clock = Clock()
    pipeline, repo, fetcher, out = source_pipeline(
        tmp_path / "nw.db", [spec], clock=clock, telegram_preview_url=tme.base_url
    )
    try:
        report = await pipeline.run_cycle(force=True)
        assert report.errors == 0, report.feed_errors
        titles = [a["title"] for a in alert_rows(repo)]
        assert any("JNIM fighters attack" in t for t in titles)
        assert any("Goïta" in t for t in titles)
        assert any("باماكو" in t for t in titles), "Arabic posts match too"
        assert not any("ferry" in t for t in titles)
        alert = next(a for a in alert_rows(repo) if "JNIM" in a["title"])
        assert alert["link"] == "https://t.me/sahelwatch/101"
        assert alert["source"] == "Sahel Watch"
        keys = [r["key"] for r in repo.db.execute_returning_dicts("SELECT key FROM items")]
        assert len(keys) == 6 and all("sahelwatch/" in k for k in keys)
        state = json.loads(repo.feeds.states([spec.url])[spec.url].source_state or "")
        assert state == {"last_id": 106}

        channel.posts.append(
            Post(107, "Gao: MINUSMA convoy leaves the city", at=clock.now - timedelta(minutes=1))
        )
        channel.posts[0].edited = True  # an edit never alerts again
        clock.advance(600)
        before = len(alert_rows(repo))
        await pipeline.run_cycle(force=True)
        new = alert_rows(repo)[before:]
        assert [a["title"] for a in new] == ["Gao: MINUSMA convoy leaves the city"]
    finally:
        await fetcher.aclose()
    assert out.notices == []


@pytest.mark.parametrize(("backfill", "pages", "stored"), [(24, 9, 27), (100, 10, 30)])
async def test_first_read_pages_back_with_before_to_the_backfill_window(
    tme: FakeTelegramPreview, tmp_path: Path, backfill: int, pages: int, stored: int
) -> None:
    """Post i is 40 - i hours old; 3 posts a page: 24 h back takes 9 pages (down to post 14,
    the first one older than the window); 100 h back stops at max_pages (10)."""
    tme.page_size = 3
    posts = [
        Post(i, f"Mali report number {i} from Bamako", at=NOW - timedelta(hours=40 - i))
        for i in range(1, 41)
    ]
    tme.add(Channel("sahelwatch", "Sahel Watch", posts))
    spec = telegram_spec("sahelwatch", "test")
    pipeline, repo, fetcher, _ = source_pipeline(
        tmp_path / "nw.db", [spec], telegram_preview_url=tme.base_url, backfill_hours=backfill
    )
    try:
        await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    hits = tme.hits_for("sahelwatch")
    assert hits[:3] == ["/s/sahelwatch", "/s/sahelwatch?before=38", "/s/sahelwatch?before=35"]
    assert len(hits) == pages
    assert repo.db.execute("SELECT count(*) FROM items").fetchone()[0] == stored
    alerted = {a["title"] for a in alert_rows(repo)}
    assert "Mali report number 40 from Bamako" in alerted
    assert ("Mali report number 15 from Bamako" in alerted) == (backfill > 25)


async def test_a_gap_of_many_posts_is_filled_from_older_pages(
    tme: FakeTelegramPreview, tmp_path: Path
) -> None:
    tme.page_size = 5
    channel = tme.add(Channel("sahelwatch", "Sahel Watch", []))
    spec = telegram_spec("sahelwatch", "test")
    clock = Clock()
    pipeline, repo, fetcher, _ = source_pipeline(
        tmp_path / "nw.db", [spec], clock=clock, telegram_preview_url=tme.base_url
    )
    try:
        channel.posts = [Post(1, "Old post", at=NOW - timedelta(hours=1))]
        await pipeline.run_cycle(force=True)
        channel.posts += [
            Post(i, f"Bamako update {i}: the curfew continues", at=NOW - timedelta(minutes=30 - i))
            for i in range(2, 15)
        ]
        clock.advance(600)
        await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    assert repo.db.execute("SELECT count(*) FROM items").fetchone()[0] == 14, "no post is lost"


async def test_channel_without_preview_gets_one_notice_and_is_paused(
    tme: FakeTelegramPreview, tmp_path: Path
) -> None:
    tme.add(Channel("privatechan", "Private", mode="no-preview"))
    spec = telegram_spec("privatechan", "test")
    clock = Clock()
    pipeline, repo, fetcher, out = source_pipeline(
        tmp_path / "nw.db", [spec], clock=clock, telegram_preview_url=tme.base_url
    )
    try:
        await pipeline.run_cycle(force=True)
        clock.advance(600)
        await pipeline.run_cycle(force=True)
        clock.advance(600)
        await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    assert len(out.notices) == 1
    assert "t.me/s/privatechan has no public preview" in out.notices[0]
    assert "/retry telegram:privatechan" in out.notices[0]
    state = repo.feeds.states([spec.url])[spec.url]
    assert state.status == "paused"
    assert "no public preview" in (state.last_error or "")
    assert len(tme.hits_for("privatechan")) == 2, "fetched once (with its redirect), not per cycle"


async def test_unknown_channel_gets_the_same_notice(
    tme: FakeTelegramPreview, tmp_path: Path
) -> None:
    spec = telegram_spec("nosuchchannel", "test")
    pipeline, _repo, fetcher, out = source_pipeline(
        tmp_path / "nw.db", [spec], telegram_preview_url=tme.base_url
    )
    try:
        await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    assert len(out.notices) == 1 and "t.me/s/nosuchchannel has no public preview" in out.notices[0]


async def test_deleted_channel_is_told_apart_and_paused(
    tme: FakeTelegramPreview, tmp_path: Path
) -> None:
    channel = tme.add(Channel("sahelwatch", "Sahel Watch", sahel_posts()))
    spec = telegram_spec("sahelwatch", "test")
    clock = Clock()
    pipeline, repo, fetcher, out = source_pipeline(
        tmp_path / "nw.db", [spec], clock=clock, telegram_preview_url=tme.base_url
    )
    try:
        await pipeline.run_cycle(force=True)
        channel.mode = "no-preview"  # deleted, renamed or made private since
        clock.advance(600)
        await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    assert len(out.notices) == 1
    assert "no public preview any more" in out.notices[0]
    assert repo.feeds.states([spec.url])[spec.url].status == "paused"
    assert len(alert_rows(repo)) >= 3, "alerts already stored are kept"


async def test_429_is_respected_and_nothing_is_lost(
    tme: FakeTelegramPreview, tmp_path: Path
) -> None:
    channel = tme.add(Channel("sahelwatch", "Sahel Watch", sahel_posts(), mode="429"))
    spec = telegram_spec("sahelwatch", "test")
    clock = Clock()
    pipeline, repo, fetcher, out = source_pipeline(
        tmp_path / "nw.db", [spec], clock=clock, telegram_preview_url=tme.base_url
    )
    try:
        report = await pipeline.run_cycle(force=True)
        assert "429" in str(report.feed_errors[spec.url])
        state = repo.feeds.states([spec.url])[spec.url]
        assert state.status == "active" and state.retry_not_before
        hits = len(tme.hits_for("sahelwatch"))
        clock.advance(60)  # before Retry-After (120 s): even a forced cycle waits
        await pipeline.run_cycle(force=True)
        assert len(tme.hits_for("sahelwatch")) == hits
        channel.mode = None
        clock.advance(120)
        await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    assert any("JNIM" in a["title"] for a in alert_rows(repo))
    assert out.notices == []


async def test_429_while_paging_fails_the_read_without_moving_on(
    tme: FakeTelegramPreview, tmp_path: Path
) -> None:
    tme.page_size = 2
    channel = tme.add(Channel("sahelwatch", "Sahel Watch", sahel_posts()))
    spec = telegram_spec("sahelwatch", "test")
    pipeline, repo, fetcher, _ = source_pipeline(
        tmp_path / "nw.db", [spec], telegram_preview_url=tme.base_url
    )
    original = tme._handle

    def limited(
        req: BaseHTTPRequestHandler,
    ) -> None:  # the newest page answers, older pages are rate-limited
        if "before=" in req.path:
            channel.mode = "429"
        try:
            original(req)
        finally:
            channel.mode = None

    tme._handle = limited  # type: ignore[method-assign]
    try:
        report = await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    assert "before=" in str(report.feed_errors[spec.url])
    assert report.feed_errors[spec.url].kind == "rate_limited"  # the page's own kind
    state = repo.feeds.states([spec.url])[spec.url]
    assert state.source_state is None and state.retry_not_before
    assert repo.db.execute("SELECT count(*) FROM items").fetchone()[0] == 0


@pytest.mark.parametrize("original_first", [True, False])
async def test_forwarded_post_joins_the_original_whichever_arrives_first(
    tme: FakeTelegramPreview, tmp_path: Path, original_first: bool
) -> None:
    text = "Kidal: FLA fighters and the army clash north of the town"
    tme.add(
        Channel(
            "malinews",
            "Mali News",
            [Post(50, text, at=NOW - timedelta(minutes=30))],
        )
    )
    tme.add(
        Channel(
            "sahelwatch",
            "Sahel Watch",
            [
                Post(
                    900,
                    text,
                    at=NOW - timedelta(minutes=20),
                    forwarded_from=("Mali News", "malinews/50"),
                )
            ],
        )
    )
    first, second = ("malinews", "sahelwatch") if original_first else ("sahelwatch", "malinews")
    clock = Clock()
    specs = [telegram_spec(first, "test")]
    pipeline, repo, fetcher, out = source_pipeline(
        tmp_path / "nw.db", specs, clock=clock, telegram_preview_url=tme.base_url
    )
    try:
        await pipeline.run_cycle(force=True)
        specs.append(telegram_spec(second, "test"))
        clock.advance(300)
        await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    alerts = alert_rows(repo)
    assert len(alerts) == 1 and len(out.alerts) == 1
    assert json.loads(alerts[0]["sources"]) == (
        ["Mali News", "Sahel Watch"] if original_first else ["Sahel Watch", "Mali News"]
    )
    story = repo.db.execute("SELECT outlets FROM stories").fetchall()
    assert len(story) == 1 and len(json.loads(story[0][0])) == 2


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    ],
)
async def test_junk_answers_are_failures_that_are_retried_not_pauses(
    feed_server: FeedServer, tmp_path: Path, body: bytes
) -> None:
    feed_server.set("/s/sahelwatch", body, content_type="text/html")
    spec = telegram_spec("sahelwatch", "test")
    base = feed_server.url("")
    pipeline, repo, fetcher, out = source_pipeline(
        tmp_path / "nw.db", [spec], telegram_preview_url=base
    )
    try:
        report = await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    assert "not a channel preview" in str(report.feed_errors[spec.url])
    state = repo.feeds.states([spec.url])[spec.url]
    assert state.status == "active" and state.consecutive_failures == 1
    assert out.notices == []


def test_hostile_markup_never_breaks_parsing() -> None:
    channel = Channel("sahelwatch", "Sahel <b>Watch</b>")
    posts = [
        Post(1, "<script>alert(1)</script>Mali: <i>JNIM</i> &amp; <b>FLA</b><br/><br/>x"),
        Post(2, "a" * 20000),
        Post(3, "<a href='javascript:alert(1)'>click</a> <a href='https://x.example/'>ok</a>"),
    ]
    page = parse_channel_page(channel_page(channel, posts).encode())
    first, second, third = page.posts
    assert first.text == "Mali: JNIM & FLA\nx"
    assert len(second.text) == 4000, "text is capped"
    assert third.links == ("https://x.example/",)
    broken = b"<div class='tgme_widget_message' data-post='x/abc'><time datetime='not a date'>"
    assert parse_channel_page(broken).posts == []
    odd = parse_channel_page(
        b"<div class='tgme_widget_message' data-post='x/7'><div class='tgme_widget_message_date'>"
        b"<time datetime='not a date'></time></div></div>"
    )
    assert [(p.post_id, p.published) for p in odd.posts] == [(7, None)]
