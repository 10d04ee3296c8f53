"""Pairing: with no admin configured, `run` prints a one-time code; /start CODE makes the owner."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.bot_process import UnpairedBot, ask, unpaired_bot, wire_feed

pytestmark = pytest.mark.slow  # main.py run against the fake Bot API

OWNER = 6001
INTRUDER = 6002
COLLEAGUE = 6003


@pytest.fixture(scope="module")
def paired(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UnpairedBot]:
    tmp = tmp_path_factory.mktemp("pairing")
    with unpaired_bot(tmp, wire_feed([("s1", "Floods in Somalia")])) as bot:
        yield bot


def test_pairing_flow(paired: UnpairedBot) -> None:
    api, code = paired.api, paired.code
    assert "newswatch_bot" in (paired.proc.wait_output("PAIRING") or "")
    # Before pairing, nobody may use the bot.
    refused = ask(api, "/recent", chat_id=OWNER, user_id=OWNER)
    assert str(OWNER) in refused[0].text and "private" in refused[0].text
    # A wrong code is refused with the same refusal, and does not burn the right one.
    wrong = "ABCDEFGH" if code != "ABCDEFGH" else "HGFEDCBA"
    assert str(INTRUDER) in ask(api, f"/start {wrong}", chat_id=INTRUDER, user_id=INTRUDER)[0].text
    # The right code makes the owner and subscribes the owner's chat.
    reply = ask(api, f"/start {code.lower()}", chat_id=OWNER, user_id=OWNER)[0].text
    assert "Paired" in reply and "owner" in reply
    assert paired.db.execute("SELECT user_id, role FROM users").fetchall() == [(OWNER, "owner")]
    assert paired.db.execute("SELECT chat_id FROM subscriptions").fetchall() == [(OWNER,)]
    actions = [r[0] for r in paired.db.execute("SELECT action FROM access_log ORDER BY id")]
    assert actions == ["paired", "subscribed"]
    # Telegram now offers the owner, in this chat, the admin commands everyone else is not.
    everyone = [c["command"] for c in api.state.commands]
    owners = [c["command"] for c in api.state.scoped_commands.get(f"chat:{OWNER}", [])]
    assert "allow" in owners and "watch" in owners and "recent" in owners
    assert "allow" not in everyone and "recent" in everyone
    assert not any(k.endswith(str(INTRUDER)) for k in api.state.scoped_commands)
    # The code works once only.
    again = ask(api, f"/start {code}", chat_id=INTRUDER, user_id=INTRUDER)[0].text
    assert str(INTRUDER) in again and "Paired" not in again
    assert paired.db.execute("SELECT count(*) FROM users WHERE role = 'owner'").fetchone()[0] == 1
    # The owner commands the bot and lets a colleague in.
    assert "Watching" in ask(api, "/help", chat_id=OWNER, user_id=OWNER)[0].text
    assert "may now use" in ask(api, f"/allow {COLLEAGUE}", chat_id=OWNER, user_id=OWNER)[0].text
    assert "Watching" in ask(api, "/start", chat_id=COLLEAGUE, user_id=COLLEAGUE)[0].text
    assert "pairing" in paired.proc.output().lower()  # every change is logged


def test_the_owners_chat_receives_alerts(paired: UnpairedBot) -> None:
    if not paired.db.execute("SELECT 1 FROM subscriptions").fetchone():
        pytest.skip("needs the pairing test first")
    paired.server.set(
        "/wire.xml",
        wire_feed(
            [("s1", "Floods in Somalia"), ("m1", "JNIM fighters attack a convoy near Kidal")]
        ),
    )
    assert paired.api.wait_for(
        lambda s: any("Kidal" in m.text and m.chat_id == OWNER for m in s.messages), timeout=45
    ), paired.proc.output()
