"""The first hour of a new user, against `main.py run`, the fake Bot API and a real SQLite file:
no alert chat yet, pairing, the waiting alerts offered as a digest, /subscribe in a group,
admin notices to the owner, /unsubscribe."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.bot_process import UnpairedBot, ask, unpaired_bot, wire_feed

pytestmark = pytest.mark.slow  # main.py run against the fake Bot API

OWNER = 8101
GROUP = -1008101
CHANNEL = -1008102
STRANGER = 8109

WATCHLIST = """
[[entities]]
name = "Mali"
aliases = ["Mali", "Malian"]
"""


SIKASSO = "Malian farmers sell a record sorghum harvest in Sikasso"
EARLY = [(f"e{i}", f"Mali: early report number {i} on the road to Gao") for i in range(3)]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UnpairedBot]:
    tmp = tmp_path_factory.mktemp("onboarding")
    with unpaired_bot(
        tmp, wire_feed(EARLY), watchlist=WATCHLIST, usernames={"@sahelalerts": CHANNEL}
    ) as bot:
        yield bot


def _count(db: sqlite3.Connection, sql: str, *params: object) -> int:
    return int(db.execute(sql, params).fetchone()[0])


def test_a_new_user_pairs_gets_the_waiting_alerts_and_subscribes_a_group(
    fresh: UnpairedBot,
) -> None:
    api, db = fresh.api, fresh.db
    # `run` says where the database is, and warns once that no chat receives alerts.
    assert fresh.proc.wait_output("database: ", timeout=5)
    assert fresh.proc.wait_output("no alert chat", timeout=10), fresh.proc.output()
    assert fresh.proc.output().count("no alert chat") == 1
    # Alerts found before any alert chat exists are stored, and sent nowhere (yet).
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and _count(db, "SELECT count(*) FROM alerts") < 3:
        time.sleep(0.2)
    assert _count(db, "SELECT count(*) FROM alerts") == 3, fresh.proc.output()
    assert _count(db, "SELECT count(*) FROM deliveries") == 0

    # Pairing: the bot says how many alerts are waiting and offers them as one digest.
    replies = ask(api, f"/start {fresh.code}", chat_id=OWNER, user_id=OWNER)
    assert "Paired" in replies[0].text and "/subscribe" in replies[0].text
    offer = next(m for m in replies if "waiting" in m.text)
    assert "3 alert(s)" in offer.text and "last 3" in offer.text
    buttons = offer.params["reply_markup"]["inline_keyboard"][0]
    send = next(b for b in buttons if b["text"].startswith("Send"))
    assert send["callback_data"] == f"backlog:{OWNER}:3"
    # A stranger's press does nothing.
    api.push_callback(send["callback_data"], chat_id=STRANGER, user_id=STRANGER)
    assert api.wait_for(lambda s: len(s.callback_answers) >= 1, timeout=10)
    before = len(api.messages_to(OWNER))
    api.push_callback(send["callback_data"], chat_id=OWNER, user_id=OWNER)
    assert api.wait_for(lambda s: len(api.messages_to(OWNER)) > before, timeout=15)
    digest = api.messages_to(OWNER)[-1].text
    assert "3 alerts found before" in digest and all(t in digest for _, t in EARLY)
    assert _count(db, "SELECT count(*) FROM deliveries WHERE status = 'digested'") == 3
    assert not any(api.messages_to(STRANGER)), "nothing goes to a stranger"

    # The owner makes a group an alert chat from Telegram: stored in SQLite, no restart.
    reply = ask(api, "/subscribe", chat_id=GROUP, user_id=OWNER, chat_type="supergroup")
    assert "now receives alerts" in reply[0].text
    assert "waiting" not in "\n".join(m.text for m in reply), "nothing is waiting any more"
    assert _count(db, "SELECT count(*) FROM subscriptions WHERE chat_id = ?", GROUP) == 1
    again = ask(api, "/subscribe", chat_id=GROUP, user_id=OWNER, chat_type="supergroup")
    assert "already receives" in again[0].text
    # A channel, from the private chat, by its @username.
    channel = ask(api, "/subscribe @sahelalerts", chat_id=OWNER, user_id=OWNER)
    assert f"({CHANNEL}) now receives alerts" in channel[0].text
    unknown = ask(api, "/subscribe @nosuchchannel", chat_id=OWNER, user_id=OWNER)
    assert "cannot reach @nosuchchannel" in unknown[0].text
    # Members of the group may not subscribe other chats.
    refused = ask(api, "/subscribe", chat_id=GROUP, user_id=STRANGER, chat_type="supergroup")
    assert "Only the owner" in refused[0].text

    # New alerts reach the owner's chat, the group and the channel.
    fresh.server.set("/wire.xml", wire_feed([*EARLY, ("n1", "Malian army convoy reaches Kidal")]))
    for chat in (OWNER, GROUP, CHANNEL):
        assert api.wait_for(
            lambda s, chat=chat: any("Kidal" in m.text for m in api.messages_to(chat)),
            timeout=45,
        ), (chat, fresh.proc.output())

    # Admin notices reach the paired owner (no NEWSWATCH_ADMIN_IDS is configured).
    assert fresh.watchlists is not None
    (fresh.watchlists / "desk.toml").write_text('[[entities]]\nname = "Broken"\naliases = [\n')
    assert api.wait_for(
        lambda s: any("desk.toml" in m.text for m in api.messages_to(OWNER)), timeout=45
    ), fresh.proc.output()
    assert _count(db, "SELECT count(*) FROM admin_notices WHERE admin_id = ?", OWNER) >= 1
    (fresh.watchlists / "desk.toml").write_text(WATCHLIST)

    # /unsubscribe stops the group's alerts.
    bye = ask(api, "/unsubscribe", chat_id=GROUP, user_id=OWNER, chat_type="supergroup")
    assert "no longer receives alerts" in bye[0].text
    assert _count(db, "SELECT count(*) FROM subscriptions WHERE chat_id = ?", GROUP) == 0
    fresh.server.set(
        "/wire.xml",
        wire_feed([*EARLY, ("n1", "Malian army convoy reaches Kidal"), ("n2", SIKASSO)]),
    )
    assert api.wait_for(
        lambda s: any("Sikasso" in m.text for m in api.messages_to(OWNER)), timeout=45
    ), (db.execute("SELECT title, entities FROM alerts").fetchall(), fresh.proc.output())
    time.sleep(1)
    assert not any("Sikasso" in m.text for m in api.messages_to(GROUP))


def test_channel_posts_are_not_needed_to_subscribe(fresh: SimpleNamespace, tmp_path: Path) -> None:
    """Channels never send commands with a user: /subscribe @channel from the private chat."""
    if not fresh.db.execute("SELECT 1 FROM users WHERE role = 'owner'").fetchone():
        pytest.skip("needs the pairing test first")
    assert fresh.db.execute(
        "SELECT count(*) FROM subscriptions WHERE chat_id = ?", [CHANNEL]
    ).fetchone() == (1,)


def test_the_owner_adds_a_feed_and_an_entity_from_telegram(fresh: UnpairedBot) -> None:
    """No restart and no file edit: /addfeed and /watch write the bot-managed files."""
    if not fresh.db.execute("SELECT 1 FROM users WHERE role = 'owner'").fetchone():
        pytest.skip("needs the pairing test first")
    api, server = fresh.api, fresh.server
    server.set("/page.html", "<html><body>Not a feed</body></html>", fault="html")
    server.set(
        "/koutiala.xml",
        wire_feed([("k1", "Koutiala cotton gin reopens after two years")]),
    )
    # The entity first: items of the feed added next alert from its first fetch on.
    watched = ask(api, "/watch Koutiala, Kutiala", chat_id=OWNER, user_id=OWNER)
    assert "Now watching Koutiala" in watched[0].text, watched[0].text
    listing = "\n".join(m.text for m in ask(api, "/watchlist", chat_id=OWNER, user_id=OWNER))
    assert "Koutiala" in listing
    page = ask(api, f"/addfeed {server.url('/page.html')}", chat_id=OWNER, user_id=OWNER)
    assert "Not added" in page[0].text and "HTML" in page[0].text
    url = server.url("/koutiala.xml")
    refused = ask(api, f"/addfeed {url}", chat_id=STRANGER, user_id=STRANGER)
    assert "private" in refused[0].text
    added = ask(api, f"/addfeed {url}", chat_id=OWNER, user_id=OWNER)
    assert "Added" in added[0].text and "1 item(s)" in added[0].text, added[0].text
    assert "already polled" in ask(api, f"/addfeed {url}", chat_id=OWNER, user_id=OWNER)[0].text
    assert api.wait_for(
        lambda s: any("cotton gin reopens" in m.text for m in api.messages_to(OWNER)), timeout=60
    ), fresh.db.execute("SELECT title, entities FROM alerts").fetchall()
    managed = Path(fresh.db.execute("PRAGMA database_list").fetchone()[2]).parent
    assert "Koutiala" in (managed / "telegram-watchlist.toml").read_text()
    assert server.url("/koutiala.xml") in (managed / "telegram-feeds.txt").read_text()
    # A bad /watch is refused and leaves the watchlist as it was.
    taken = ask(api, "/watch Mali", chat_id=OWNER, user_id=OWNER)
    assert "already watched" in taken[0].text
    # Undo both.
    assert (
        "No longer watching Koutiala"
        in ask(api, "/unwatch koutiala", chat_id=OWNER, user_id=OWNER)[0].text
    )
    assert "defined in desk.toml" in ask(api, "/unwatch Mali", chat_id=OWNER, user_id=OWNER)[0].text
    gone = ask(api, f"/rmfeed {server.url('/koutiala.xml')}", chat_id=OWNER, user_id=OWNER)
    assert "no longer polled" in gone[0].text
    assert server.url("/koutiala.xml") not in (managed / "telegram-feeds.txt").read_text()
