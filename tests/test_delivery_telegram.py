"""TelegramDeliverer against the fake Bot API over HTTP: errors, digests, mutes, story edits."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.formatting import MAX_MESSAGE_UTF16, utf16_len
from bot.core.incidents import Severity
from bot.core.matching import Hit
from bot.core.models import StoredAlert
from bot.core.records import DigestMode, MuteKind
from bot.core.watchlist import Priority
from bot.telegram.application import build_application
from bot.telegram.delivery import ChatPacer, TelegramDeliverer
from storage.db import open_database
from storage.repository import AlertDraft, NewItem, Repository
from tests.conftest import CHAT, TOKEN
from tests.fakes.telegram_api import FakeTelegramAPI, parse_telegram_html

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ADMIN = 7770001
OTHER = 5550002
_keys = itertools.count(1)


class Clock:
    def __init__(self, now: datetime = NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def add_alert(
    repo: Repository,
    title: str,
    *,
    chats: Sequence[tuple[int | str, int | None]] = ((CHAT, None),),
    priority: Priority = Priority.NORMAL,
    summary: str = "Militants struck a checkpoint.",
    source: str = "Sahel Wire",
    entities: tuple[str, ...] = ("JNIM",),
    story_id: int | None = None,
    now: datetime = NOW,
) -> StoredAlert:
    n = next(_keys)
    draft = AlertDraft(
        source=source,
        title=title,
        link=f"https://news.example.org/{n}",
        summary=summary,
        published=now - timedelta(minutes=5),
        entities=entities,
        matches=tuple(Hit(e, e, "title") for e in entities),
        priority=priority,
        chats=tuple(chats),
        story_id=story_id,
    )
    item = NewItem(
        key=f"key-{n}",
        canonical_url=None,
        feed_url="https://feeds.example.org/rss",
        title=title,
        link=draft.link,
        published=draft.published,
        alert=draft,
    )
    [stored] = repo.alerts.store_feed_items("https://feeds.example.org/rss", [item], now, None)
    return stored


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    return Repository(open_database(tmp_path / "nw.db"))


@pytest.fixture
async def bot(telegram_api: FakeTelegramAPI) -> AsyncIterator[Any]:
    app = build_application(TOKEN, telegram_api.base_url)
    await app.bot.initialize()
    yield app.bot
    await app.bot.shutdown()


def deliverer(
    bot: Any, repo: Repository, clock: Clock | None = None, **options: Any
) -> TelegramDeliverer:
    options.setdefault("pacer", ChatPacer(interval=0.0))
    options.setdefault("backoff_base", 0.05)
    return TelegramDeliverer(
        bot,
        repo,
        timezone="Africa/Bamako",
        admin_ids=(ADMIN,),
        clock=clock or Clock(),
        **options,
    )


def statuses(repo: Repository) -> dict[str, int]:
    return dict(
        repo.db.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall()
    )


def titles_of(api: FakeTelegramAPI, chat: int | str = CHAT) -> list[str]:
    return [parse_telegram_html(m.text).split("\n")[1] for m in api.messages_to(chat)]


# ----- Telegram's errors ------------------------------------------------------------------
@pytest.mark.slow  # waits out Telegram's retry_after and pacing in real time
async def test_429_on_first_sends_all_arrive_once_and_wait_is_honoured(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    for i in range(4):
        add_alert(repo, f"Alert {i}")
    telegram_api.inject("sendMessage", "429", count=2, retry_after=1)
    sent = await deliverer(bot, repo).drain()
    assert sent == 4
    assert Counter(titles_of(telegram_api)) == {f"Alert {i}": 1 for i in range(4)}
    calls = telegram_api.calls_of("sendMessage")
    assert len(calls) == 6
    for rejected, following in itertools.pairwise(calls[:3]):
        assert following[1] - rejected[1] >= 1.0, "a send happened before retry_after elapsed"
    assert statuses(repo) == {"sent": 4}


@pytest.mark.slow  # waits out Telegram's retry_after and pacing in real time
async def test_429_across_chats_blocks_every_chat(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    for title in ("Both chats", "Both again", "Both a third time"):
        add_alert(repo, title, chats=((CHAT, None), (OTHER, None)))
    telegram_api.inject("sendMessage", "429", count=1, retry_after=2, chat_id=CHAT)

    class Recording(ChatPacer):
        """Notes when the deliverer heard the 429 (the fake's clock: time.monotonic)."""

        blocked_at: float | None = None

        def block(self, seconds: float) -> None:
            self.blocked_at = self.blocked_at or self.monotonic()
            super().block(seconds)

    pacer = Recording(interval=0.0)
    await deliverer(bot, repo, pacer=pacer).drain()
    calls = telegram_api.calls_of("sendMessage")
    first_429 = next(c for c in calls if str(c[2]["chat_id"]) == str(CHAT))[1]
    assert pacer.blocked_at is not None and pacer.blocked_at >= first_429
    # Arrival times at the fake. Each chat sends one message at a time, so until the deliverer
    # has read the 429 the other chat goes on sending (with no pacing here, several under load),
    # and one request may still be on its way then; every request it sends after that, and
    # CHAT's retry, wait out the 2 s.
    blocked = pacer.blocked_at
    after = {
        chat: sorted(c[1] for c in calls if str(c[2]["chat_id"]) == str(chat) and c[1] > blocked)
        for chat in (CHAT, OTHER)
    }
    assert after[CHAT] and min(after[CHAT]) >= first_429 + 2.0
    assert all(t >= blocked + 2.0 for t in after[OTHER][1:]), (blocked, after)
    assert len(telegram_api.messages_to(CHAT)) == 3 and len(telegram_api.messages_to(OTHER)) == 3


async def test_long_429_is_deferred_not_slept_through(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    add_alert(repo, "Deferred")
    telegram_api.inject("sendMessage", "429", count=1, retry_after=120)
    d = deliverer(bot, repo, max_inline_wait=5.0)
    assert await d.drain() == 0
    assert statuses(repo) == {"pending": 1}, "a 429 never drops an alert"
    assert d._redrain is not None, "a drain is scheduled for when the wait is over"
    d._redrain.cancel()
    d.pacer.gate_until = 0.0  # as if 120 s had passed
    assert await d.drain() == 1
    assert titles_of(telegram_api) == ["Deferred"]


@pytest.mark.parametrize("faults", [["500"], ["502", "drop"], ["drop", "500", "502"]])
async def test_5xx_and_dropped_connections_arrive_once(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository, faults: list[str]
) -> None:
    for i in range(3):
        add_alert(repo, f"Net {i}")
    for kind in faults:
        telegram_api.inject("sendMessage", kind, count=1)
    assert await deliverer(bot, repo).drain() == 3
    assert Counter(titles_of(telegram_api)) == {f"Net {i}": 1 for i in range(3)}


async def test_an_outage_is_one_warning_with_the_pending_count_and_one_on_recovery(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 16: an API outage was logged only at INFO, one line per retry."""
    for i in range(3):
        add_alert(repo, f"Outage {i}")
    telegram_api.inject("sendMessage", "500", count=4)
    clock = Clock()
    d = deliverer(bot, repo, clock, network_retries=3)
    with caplog.at_level("INFO", logger="newswatch.delivery"):
        assert await d.drain() == 0
        clock.now += timedelta(seconds=31)
        assert await d.drain() == 3
    if d._redrain:
        d._redrain.cancel()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    down = [w for w in warnings if "Telegram unreachable" in w]
    assert len(down) == 1 and "3 alert(s) pending" in down[0], warnings
    assert len([w for w in warnings if "reachable again" in w]) == 1, warnings


async def test_persistent_5xx_keeps_the_row_pending_then_sends_later(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    add_alert(repo, "Later")
    telegram_api.inject("sendMessage", "500", count=3)
    clock = Clock()
    d = deliverer(bot, repo, clock, network_retries=1)
    assert await d.drain() == 0
    row = repo.db.execute("SELECT status, not_before, last_error FROM deliveries").fetchone()
    assert row[0] == "pending" and row[1] and "network" in row[2]
    assert await d.drain() == 0, "not before not_before"
    clock.now += timedelta(seconds=31)
    assert await d.drain() == 1
    assert titles_of(telegram_api) == ["Later"]
    if d._redrain:
        d._redrain.cancel()


async def test_403_deactivates_one_chat_and_others_keep_receiving(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    telegram_api.state.blocked_chats.add(OTHER)
    for i in range(3):
        add_alert(repo, f"Alert {i}", chats=((CHAT, None), (OTHER, None)))
    d = deliverer(bot, repo)
    await d.drain()
    assert len(telegram_api.messages_to(CHAT)) == 3
    assert telegram_api.messages_to(OTHER) == []
    assert repo.chats.inactive() == {OTHER}
    notices = [m.text for m in telegram_api.messages_to(ADMIN)]
    assert len(notices) == 1 and str(OTHER) in notices[0] and "deactivated" in notices[0]
    attempts_to_other = len(
        [c for c in telegram_api.calls_of("sendMessage") if c[2]["chat_id"] == OTHER]
    )
    assert attempts_to_other == 1, "no more attempts after the 403"
    add_alert(repo, "After block", chats=((CHAT, None), (OTHER, None)))
    await d.drain()
    assert titles_of(telegram_api)[-1] == "After block"
    assert len([c for c in telegram_api.calls_of("sendMessage") if c[2]["chat_id"] == OTHER]) == 1


async def test_chat_not_found_tells_admins_once(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    telegram_api.state.known_chats = {CHAT, ADMIN}
    add_alert(repo, "One", chats=((CHAT, None), (OTHER, None)))
    d = deliverer(bot, repo)
    await d.drain()
    add_alert(repo, "Two", chats=((CHAT, None), (OTHER, None)))
    await d.drain()
    notices = [m.text for m in telegram_api.messages_to(ADMIN)]
    assert len(notices) == 1 and "not found" in notices[0]
    assert titles_of(telegram_api) == ["One", "Two"]
    failed = repo.db.execute(
        "SELECT count(*) FROM deliveries WHERE chat_id = ? AND status = 'failed'", [OTHER]
    ).fetchone()[0]
    assert failed == 2


async def test_group_upgraded_to_supergroup_is_followed_and_stored(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    old, new = -4001, -1004001
    telegram_api.inject("sendMessage", "migrate", count=1, chat_id=old, migrate_to=new)
    add_alert(repo, "Before upgrade", chats=((old, None),))
    d = deliverer(bot, repo)
    await d.drain()
    assert titles_of(telegram_api, new) == ["Before upgrade"]
    assert repo.db.execute("SELECT migrated_to FROM chats WHERE chat_id = ?", [old]).fetchone() == (
        new,
    )
    add_alert(repo, "Routed to the old id", chats=((old, None),))
    await d.drain()
    assert titles_of(telegram_api, new) == ["Before upgrade", "Routed to the old id"]
    assert telegram_api.messages_to(old) == []


async def test_supergroup_upgrade_keeps_the_chats_settings(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    """Issue 16: the mutes, quiet hours and digest settings were lost with the old id."""
    old, new = -4002, -1004002
    repo.chats.set_prefs(
        old, NOW, quiet_start="23:00", quiet_end="06:00", digest_mode=DigestMode.LOW
    )
    repo.chats.add_mute(old, MuteKind.SOURCE, "Noisy Wire", NOW + timedelta(days=3), 1, NOW)
    telegram_api.inject("sendMessage", "migrate", count=1, chat_id=old, migrate_to=new)
    add_alert(repo, "Upgrade day", chats=((old, None),), priority=Priority.URGENT)
    await deliverer(bot, repo).drain()
    assert titles_of(telegram_api, new) == ["Upgrade day"]
    prefs = repo.chats.prefs(new)
    assert prefs and prefs.quiet_start == "23:00" and prefs.digest_mode == "low"
    assert [m.value for m in repo.chats.active_mutes(new, NOW)] == ["Noisy Wire"]
    assert repo.chats.prefs(old) is None and repo.chats.active_mutes(old, NOW) == []


async def test_unparseable_html_is_resent_as_plain_text(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    repo.db.execute(
        "INSERT INTO deliveries (chat_id, kind, status, attempts, payload, created_at)"
        " VALUES (?, 'notice', 'pending', 0, ?, ?)",
        [CHAT, "Broken <foo>markup</foo> & stuff", NOW.isoformat()],
    )
    await deliverer(bot, repo).drain()
    [message] = telegram_api.messages_to(CHAT)
    assert message.parse_mode is None
    assert message.text == "Broken markup & stuff"
    assert statuses(repo) == {"sent": 1}


# ----- message content --------------------------------------------------------------------
@pytest.mark.parametrize(
    "title",
    ["<script>alert(1)</script>", "Mali & Niger", "#include </etc/shadow>", "An <i>unbalanced"],
)
async def test_hostile_titles_arrive_intact(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository, title: str
) -> None:
    add_alert(repo, title, summary=f"Summary with {title}")
    await deliverer(bot, repo).drain()
    [message] = telegram_api.messages_to(CHAT)
    assert message.parse_mode == "HTML"
    plain = parse_telegram_html(message.text)
    assert title in plain and f"Summary with {title}" in plain


async def test_ten_thousand_character_summary_is_cut_to_a_valid_message(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    add_alert(repo, "Long", summary=("Tombouctou convoy ambushed " * 500)[:10_000])
    await deliverer(bot, repo).drain()
    [message] = telegram_api.messages_to(CHAT)
    plain = parse_telegram_html(message.text)
    assert utf16_len(plain) <= MAX_MESSAGE_UTF16
    assert message.parse_mode == "HTML", "no plain-text fallback was needed"


async def test_previews_priority_topics_and_buttons(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    add_alert(repo, "Urgent", priority=Priority.URGENT, entities=("JNIM", "Bamako"))
    add_alert(repo, "Low", priority=Priority.DIGEST)
    add_alert(repo, "Topic", chats=((-100777, 42),))
    await deliverer(bot, repo).drain()
    urgent, low = telegram_api.messages_to(CHAT)
    assert urgent.params["link_preview_options"] == {"is_disabled": True}
    assert urgent.params.get("disable_notification") in (None, False)
    assert low.params["disable_notification"] is True
    assert parse_telegram_html(urgent.text).startswith("🚨")
    buttons = [b[0] for b in urgent.params["reply_markup"]["inline_keyboard"]]
    assert [b["text"] for b in buttons] == [
        "Mute JNIM 24h",
        "Mute Bamako 24h",
        "Mute Sahel Wire 24h",
    ]
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
    [topic] = telegram_api.messages_to(-100777)
    assert topic.params["message_thread_id"] == 42


async def test_link_previews_can_be_enabled(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    add_alert(repo, "Preview")
    await deliverer(bot, repo, link_previews=True).drain()
    [message] = telegram_api.messages_to(CHAT)
    assert message.params["link_preview_options"] == {"is_disabled": False}


# ----- flood control, quiet hours, daily digest, mutes ------------------------------------
@pytest.mark.slow  # waits out Telegram's retry_after and pacing in real time
async def test_flood_of_50_goes_out_as_a_digest_within_rate_limits(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    for i in range(50):
        add_alert(repo, f"Flood story {i:02d} " + "with a longish headline " * 4)
    await deliverer(bot, repo, pacer=ChatPacer()).drain()
    messages = telegram_api.messages_to(CHAT)
    assert 2 <= len(messages) <= 3
    lines = [ln for m in messages for ln in parse_telegram_html(m.text).splitlines()[1:]]
    assert sorted(ln.split("Flood story ")[1][:2] for ln in lines) == [
        f"{i:02d}" for i in range(50)
    ]
    assert all(utf16_len(parse_telegram_html(m.text)) <= MAX_MESSAGE_UTF16 for m in messages)
    gaps = [b.at - a.at for a, b in itertools.pairwise(messages)]
    assert all(g >= 0.95 for g in gaps), gaps
    assert statuses(repo) == {"digested": 50, "sent": len(messages)}


async def test_a_flood_never_bundles_an_urgent_alert(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    for i in range(12):
        add_alert(repo, f"Routine {i:02d}")
    add_alert(repo, "Urgent: convoy ambushed", priority=Priority.URGENT)
    await deliverer(bot, repo, digest_threshold=10).drain()
    messages = [parse_telegram_html(m.text) for m in telegram_api.messages_to(CHAT)]
    assert messages[0].startswith("🚨") or "Urgent: convoy ambushed" in messages[0]
    digest = next(m for m in messages if "12 new alerts" in m)
    assert "Urgent: convoy ambushed" not in digest
    assert re.search(r"\d\d-\d\d \d\d:\d\d UTC", digest), "digest lines show their time"


async def test_threshold_alerts_still_go_one_by_one(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    for i in range(10):
        add_alert(repo, f"Alert {i}")
    await deliverer(bot, repo, digest_threshold=10).drain()
    assert len(telegram_api.messages_to(CHAT)) == 10


async def test_quiet_hours_hold_then_send_one_digest(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    repo.chats.set_prefs(CHAT, NOW, quiet_start="22:00", quiet_end="07:00")
    night = Clock(datetime(2026, 3, 1, 23, 0, tzinfo=UTC))
    for i in range(3):
        add_alert(repo, f"Night {i}", now=night.now)
    add_alert(repo, "Urgent at night", priority=Priority.URGENT, now=night.now)
    d = deliverer(bot, repo, night)
    await d.drain()
    assert titles_of(telegram_api) == ["Urgent at night"]
    night.now = datetime(2026, 3, 2, 6, 59, tzinfo=UTC)
    await d.drain()
    assert len(telegram_api.messages_to(CHAT)) == 1
    night.now = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    await d.drain()
    messages = telegram_api.messages_to(CHAT)
    assert len(messages) == 2
    digest = parse_telegram_html(messages[1].text)
    assert "3 alerts during quiet hours" in digest
    assert all(f"Night {i}" in digest for i in range(3))


async def test_daily_digest_mode_holds_low_priority(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    repo.chats.set_prefs(CHAT, NOW, digest_mode=DigestMode.LOW, digest_time="18:00")
    clock = Clock()
    add_alert(repo, "Low one", priority=Priority.DIGEST)
    add_alert(repo, "Low two", priority=Priority.DIGEST)
    add_alert(repo, "Normal", priority=Priority.NORMAL)
    d = deliverer(bot, repo, clock)
    await d.drain()
    assert titles_of(telegram_api) == ["Normal"]
    clock.now = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
    await d.drain()
    digest = telegram_api.messages_to(CHAT)[-1]
    assert "Daily digest: 2 alerts" in parse_telegram_html(digest.text)
    assert digest.params["disable_notification"] is True


async def test_minimum_severity_holds_news_and_an_unknown_stored_one_is_ignored(
    telegram_api: FakeTelegramAPI,
    bot: Any,
    repo: Repository,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """/priority high-only holds news that is no incident for the digest; a stored minimum
    this version does not know is ignored (the alert comes at once) and logged once."""
    repo.chats.set_severity_pref(CHAT, "jnim", Severity.HIGH, NOW)
    with repo.db.conn:  # written by a newer version, or by hand
        repo.db.conn.execute(
            "INSERT INTO severity_prefs (chat_id, entity, min_severity, updated_at)"
            " VALUES (?, 'bamako', 'critical', ?)",
            [CHAT, NOW.isoformat()],
        )
    add_alert(repo, "JNIM statement", entities=("JNIM",))
    add_alert(repo, "Bamako market reopens", entities=("Bamako",))
    d = deliverer(bot, repo)
    with caplog.at_level(logging.WARNING, logger="newswatch"):
        await d.drain()
        add_alert(repo, "Bamako roads reopen", entities=("Bamako",))
        await d.drain()
    assert titles_of(telegram_api) == ["Bamako market reopens", "Bamako roads reopen"]
    held = repo.db.execute("SELECT count(*) FROM deliveries WHERE held = 'daily'").fetchone()
    assert held[0] == 1  # the JNIM alert, below its minimum: waits for the daily digest
    unknown = [r for r in caplog.records if "unknown minimum severity" in r.getMessage()]
    assert len(unknown) == 1 and "'critical'" in unknown[0].getMessage()


async def test_muted_entity_and_source_are_skipped(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    repo.chats.add_mute(CHAT, MuteKind.ENTITY, "jnim", NOW + timedelta(hours=24), 1, NOW)
    repo.chats.add_mute(CHAT, MuteKind.SOURCE, "Noisy Wire", NOW + timedelta(hours=24), 1, NOW)
    add_alert(repo, "Only JNIM", entities=("JNIM",))
    add_alert(repo, "JNIM and Bamako", entities=("JNIM", "Bamako"))
    add_alert(repo, "Noisy", entities=("Bamako",), source="Noisy Wire")
    clock = Clock()
    d = deliverer(bot, repo, clock)
    await d.drain()
    assert titles_of(telegram_api) == ["JNIM and Bamako"]
    assert statuses(repo) == {"sent": 1, "skipped": 2}
    # The rule: a mute removes the entity from the alert; the chat sees a "Bamako" alert.
    text = parse_telegram_html(telegram_api.messages_to(CHAT)[-1].text)
    assert "Bamako" in text and "JNIM" not in text.replace("JNIM and Bamako", "")
    buttons = telegram_api.messages_to(CHAT)[-1].params["reply_markup"]["inline_keyboard"]
    assert not any("JNIM" in b["text"] for row in buttons for b in row)
    clock.now += timedelta(hours=25)
    add_alert(repo, "Only JNIM again", entities=("JNIM",), now=clock.now)
    await d.drain()
    assert titles_of(telegram_api)[-1] == "Only JNIM again", "mutes expire"


async def eventually(predicate: Any, timeout: float = 10.0) -> bool:
    """Poll without blocking the event loop (the fake's wait_for would block PTB's polling)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_mute_button_takes_effect_at_once(
    telegram_api: FakeTelegramAPI, repo: Repository
) -> None:
    from bot.telegram.buttons import MuteButtons

    app = build_application(TOKEN, telegram_api.base_url)
    MuteButtons(repo, timezone="Africa/Bamako").register(app)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        alert = add_alert(repo, "Press me", entities=("JNIM", "Bamako"))
        d = deliverer(app.bot, repo)
        await d.drain()
        [message] = telegram_api.messages_to(CHAT)
        data = message.params["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
        telegram_api.push_callback(data, chat_id=CHAT, user_id=9, message_id=message.message_id)
        assert await eventually(lambda: telegram_api.state.callback_answers)
        answer = telegram_api.state.callback_answers[0]["text"]
        assert answer.startswith("Muted Bamako for 24 h")
        mutes = repo.chats.active_mutes(CHAT, datetime.now(UTC))
        assert [(m.kind, m.value, m.created_by) for m in mutes] == [("entity", "Bamako", 9)]
        telegram_api.push_callback(f"mute:s:{alert.alert_id}", chat_id=OTHER, user_id=9)
        assert await eventually(lambda: len(telegram_api.state.callback_answers) == 2)
        assert "not sent to this chat" in telegram_api.state.callback_answers[1]["text"]
        assert repo.chats.active_mutes(OTHER, datetime.now(UTC)) == []
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


# ----- crash safety (in process) and story edits -----------------------------------------
async def test_digest_bundle_survives_a_crash_before_sending(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository, tmp_path: Path
) -> None:
    for i in range(12):
        add_alert(repo, f"Fold {i}")
    d = deliverer(bot, repo)
    d._drain_chat = _never  # type: ignore[method-assign]  # "crash" right after bundling
    await d.drain()
    assert statuses(repo) == {"digested": 12, "pending": 1}
    fresh = deliverer(bot, Repository(open_database(tmp_path / "nw.db")))
    await fresh.drain()
    [digest] = telegram_api.messages_to(CHAT)
    assert all(f"Fold {i}" in digest.text for i in range(12))


async def _never(rows: Any) -> int:
    return 0


async def test_story_edit_two_outlets_one_send_one_edit(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository, tmp_path: Path
) -> None:
    clock = Clock()
    first = add_alert(repo, "Attack near Gao", source="Outlet A")
    d = deliverer(bot, repo, clock)
    await d.drain()
    add_alert(repo, "Gao attack", source="Outlet B", story_id=first.story_id, now=clock.now)
    await d.drain()
    assert len(telegram_api.state.messages) == 1
    [edit] = telegram_api.state.edits
    plain = parse_telegram_html(edit.text)
    assert "also reported by: Outlet B" in plain and "Attack near Gao" in plain
    assert edit.params["reply_markup"]["inline_keyboard"], "buttons survive the edit"
    # a third outlet within the interval waits; a restarted process does the edit later
    clock.now += timedelta(minutes=1)
    add_alert(repo, "Gao", source="Outlet C", story_id=first.story_id, now=clock.now)
    await d.drain()
    assert len(telegram_api.state.edits) == 1
    clock.now += timedelta(minutes=5)
    restarted = deliverer(bot, Repository(open_database(tmp_path / "nw.db")), clock)
    await restarted.drain()
    assert len(telegram_api.state.edits) == 2
    assert "also reported by: Outlet B, Outlet C" in parse_telegram_html(
        telegram_api.state.edits[1].text
    )
    assert len(telegram_api.state.messages) == 1
    row = repo.db.execute("SELECT edited_outlets FROM stories WHERE id = ?", [first.story_id])
    assert row.fetchone()[0] == 3


async def test_message_not_modified_is_not_an_error(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    clock = Clock()
    first = add_alert(repo, "Kidal", source="Outlet A")
    add_alert(repo, "Kidal too", source="Outlet B", story_id=first.story_id)
    d = deliverer(bot, repo, clock)
    await d.drain()  # the first send already names Outlet B: the edit changes nothing
    assert "also reported by: Outlet B" in parse_telegram_html(telegram_api.state.messages[0].text)
    edits = telegram_api.calls_of("editMessageText")
    assert len(edits) == 1 and telegram_api.state.edits == []
    assert repo.db.execute("SELECT edited_outlets FROM stories").fetchone()[0] == 2
    await d.drain()
    assert len(telegram_api.calls_of("editMessageText")) == 1, "no edit loop"


def test_outbox_rows_for_each_status_are_visible_in_sqlite(tmp_path: Path) -> None:
    repo = Repository(open_database(tmp_path / "nw.db"))
    add_alert(repo, "x")
    db = sqlite3.connect(tmp_path / "nw.db")
    assert db.execute("SELECT kind, status FROM deliveries").fetchall() == [("alert", "pending")]
    assert json.loads(db.execute("SELECT outlets FROM stories").fetchone()[0]) == ["Sahel Wire"]


def notice_rows(repo: Repository) -> list[tuple[int, str, str]]:
    return [
        tuple(r)
        for r in repo.db.execute("SELECT admin_id, status, text FROM admin_notices ORDER BY id")
    ]


async def test_admin_notice_survives_an_outage_and_goes_out_once(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    telegram_api.inject("sendMessage", "500", count=100)
    d = deliverer(bot, repo)
    await d.notify_admins("Feed paused after 10 consecutive failures: https://x.example/rss")
    assert notice_rows(repo) == [
        (ADMIN, "pending", "Feed paused after 10 consecutive failures: https://x.example/rss")
    ]
    assert telegram_api.messages_to(ADMIN) == []
    telegram_api.state.faults.clear()  # Telegram is back
    await d.drain()
    await d.drain()
    assert [m.text for m in telegram_api.messages_to(ADMIN)] == [
        "Feed paused after 10 consecutive failures: https://x.example/rss"
    ]
    assert [status for _admin, status, _text in notice_rows(repo)] == ["sent"]


async def test_notices_keep_their_order_and_a_blocked_admin_is_not_retried(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    telegram_api.inject("sendMessage", "drop", count=1)
    d = TelegramDeliverer(
        bot,
        repo,
        timezone="Africa/Bamako",
        admin_ids=(ADMIN, OTHER),
        clock=Clock(),
        pacer=ChatPacer(interval=0.0),
    )
    telegram_api.state.blocked_chats.add(OTHER)
    await d.notify_admins("first")  # the connection drops: everything waits
    await d.notify_admins("second")
    await d.drain()
    assert [m.text for m in telegram_api.messages_to(ADMIN)] == ["first", "second"]
    statuses_by_admin = {(a, t): s for a, s, t in notice_rows(repo)}
    assert statuses_by_admin == {
        (ADMIN, "first"): "sent",
        (OTHER, "first"): "failed",
        (ADMIN, "second"): "sent",
        (OTHER, "second"): "failed",
    }
    calls_to_other = [c for c in telegram_api.calls_of("sendMessage") if c[2]["chat_id"] == OTHER]
    await d.drain()
    assert len(
        [c for c in telegram_api.calls_of("sendMessage") if c[2]["chat_id"] == OTHER]
    ) == len(calls_to_other)


async def test_digest_shows_one_line_per_story_with_its_outlet_count(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    first = add_alert(repo, "Attack on the Boulkessi camp", source="Outlet A")
    add_alert(repo, "Boulkessi camp attacked", source="Outlet B", story_id=first.story_id)
    add_alert(repo, "Camp de Boulkessi attaqué", source="Outlet C", story_id=first.story_id)
    for i in range(11):
        add_alert(repo, f"Other story {i}")
    await deliverer(bot, repo, digest_threshold=10).drain()
    [digest] = telegram_api.messages_to(CHAT)
    plain = parse_telegram_html(digest.text)
    lines = [line for line in plain.split("\n") if line.startswith("•")]
    assert len(lines) == 12, "one line per story, not per report"
    [story_line] = [line for line in lines if "Boulkessi" in line]
    assert "Outlet A · 3 outlets" in story_line
    assert "Boulkessi camp attacked" not in plain and "attaqué" not in plain


async def test_report_of_an_alerted_story_edits_it_and_is_no_digest_line(
    telegram_api: FakeTelegramAPI, bot: Any, repo: Repository
) -> None:
    clock = Clock()
    first = add_alert(repo, "Attack on the Boulkessi camp", source="Outlet A")
    d = deliverer(bot, repo, clock, digest_threshold=10)
    await d.drain()
    clock.now += timedelta(hours=6)  # next cycle: a flood and another outlet's report
    for i in range(11):
        add_alert(repo, f"Other story {i}", now=clock.now)
    add_alert(
        repo, "Boulkessi camp attacked", source="Outlet B", story_id=first.story_id, now=clock.now
    )
    await d.drain()
    messages = telegram_api.messages_to(CHAT)
    assert len(messages) == 2, "the first alert, then one digest"
    digest = parse_telegram_html(messages[1].text)
    assert "Boulkessi" not in digest and digest.count("•") == 11
    [edit] = telegram_api.state.edits
    assert edit.message_id == messages[0].message_id
    assert "also reported by: Outlet B" in parse_telegram_html(edit.text)
    link = repo.db.execute("SELECT link FROM alerts WHERE source = 'Outlet B'").fetchone()[0]
    assert f'<a href="{link}">Outlet B</a>' in edit.text, "each outlet links to its report"
