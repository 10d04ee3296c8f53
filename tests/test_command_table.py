"""The command table is the one source: handlers, /help, setMyCommands, docs/commands.md and
the README's command list all agree with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from telegram.ext import CommandHandler

from bot.app.access import AccessControl
from bot.core.reports import render_help
from bot.telegram.application import build_application
from bot.telegram.commands.dispatch import Commands
from bot.telegram.commands.docs import DOCS, command_list_markdown, main, with_command_list
from bot.telegram.commands.table import COMMANDS, Role
from storage.db import open_database
from storage.queries import Queries
from storage.repository import Repository
from tests.conftest import TOKEN
from tests.fakes.telegram_api import FakeTelegramAPI

ROOT = Path(__file__).resolve().parent.parent
LISTED = [c.name for c in COMMANDS if c.listed]


def _commands(tmp_path: Path) -> Commands:
    db = open_database(tmp_path / "nw.db")
    repo = Repository(db)
    return Commands(
        access=AccessControl(repo, admin_ids=(1,), chat_ids=()),
        repo=repo,
        queries=Queries(db),
        watchlists=lambda: None,
        matcher=lambda: None,  # type: ignore[arg-type,return-value]
    )


def test_names_are_unique_and_each_handler_is_a_command_body() -> None:
    names = [c.name for c in COMMANDS]
    assert len(names) == len(set(names))
    for command in COMMANDS:
        assert re.fullmatch(r"[a-z]{1,32}", command.name), command.name  # Telegram's rule
        assert 3 <= len(command.help) <= 256, command.name
        assert command.handler.__module__.startswith("bot.telegram.commands."), command.name
    assert {c.name for c in COMMANDS if c.role is Role.ANYONE} == {"start"}


def test_docs_command_list_is_generated_from_the_table() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert with_command_list(text) == text, "run: python -m bot.telegram.commands.docs"
    assert main(["--check"]) == 0
    for command in COMMANDS:
        assert f"`/{command.name}" in command_list_markdown()
        assert f"`/{command.name}" in text.split(command_list_markdown())[1], (
            f"/{command.name} has no row in the detailed table of docs/commands.md"
        )


def test_a_stale_docs_list_is_found(tmp_path: Path) -> None:
    text = DOCS.read_text(encoding="utf-8")
    stale = tmp_path / "commands.md"
    stale.write_text(text.replace("| `/mutes` |", "| `/mutez` |"), encoding="utf-8")
    assert main(["--check", str(stale)]) == 1
    assert main([str(stale)]) == 0 and stale.read_text(encoding="utf-8") == text


def test_readme_names_every_command_and_no_other() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("In Telegram (")
    paragraph = readme[start : readme.index("\n\n", start)]
    named = set(re.findall(r"(?<![\w/.])/([a-z]+)\b", paragraph))
    assert named == {c.name for c in COMMANDS}, named ^ {c.name for c in COMMANDS}


def test_help_lists_every_listed_command_in_table_order(tmp_path: Path) -> None:
    text = render_help(["JNIM"], _commands(tmp_path).help_entries)
    usages = [line.split(":")[0].split()[0] for line in text.splitlines() if line.startswith("/")]
    assert usages == [f"/{name}" for name in LISTED]
    assert "/start" not in text


async def test_register_and_publish_follow_the_table(
    telegram_api: FakeTelegramAPI, tmp_path: Path
) -> None:
    app = build_application(TOKEN, telegram_api.base_url)
    commands = _commands(tmp_path)
    commands.register(app)
    registered = [
        name
        for handlers in app.handlers.values()
        for h in handlers
        if isinstance(h, CommandHandler)
        for name in sorted(h.commands)
    ]
    assert registered == [c.name for c in COMMANDS]
    await app.bot.initialize()
    try:
        await commands.publish(app)
    finally:
        await app.bot.shutdown()
    # Everyone sees the commands that are not the admins'; admin 1's private chat, all.
    published = {c["command"]: c["description"] for c in telegram_api.state.commands}
    assert list(published) == [c.name for c in COMMANDS if c.listed and c.role is not Role.ADMIN]
    assert all(published[c.name] == c.help for c in COMMANDS if c.name in published)
    admin = {c["command"]: c["description"] for c in telegram_api.state.scoped_commands["chat:1"]}
    assert list(admin) == LISTED
    assert all(admin[c.name] == c.help for c in COMMANDS if c.listed)
    assert {"allow", "deny", "watch"} <= set(admin) - set(published)
    assert list(telegram_api.state.scoped_commands) == ["chat:1"]


async def test_an_admin_telegram_cannot_reach_does_not_stop_publishing(
    telegram_api: FakeTelegramAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An admin who never opened a chat with the bot: "chat not found" for that scope only;
    everyone's list is published and the other admins' too."""
    db = open_database(tmp_path / "nw.db")
    repo = Repository(db)
    commands = Commands(
        access=AccessControl(repo, admin_ids=(1, 2), chat_ids=()),
        repo=repo,
        queries=Queries(db),
        watchlists=lambda: None,
        matcher=lambda: None,  # type: ignore[arg-type,return-value]
    )
    telegram_api.state.known_chats = {2}
    app = build_application(TOKEN, telegram_api.base_url)
    commands.register(app)
    await app.bot.initialize()
    try:
        await commands.publish(app)
    finally:
        await app.bot.shutdown()
    assert [c["command"] for c in telegram_api.state.commands][:1] == [LISTED[0]]
    assert list(telegram_api.state.scoped_commands) == ["chat:2"]
    assert "setMyCommands for admin 1 failed" in caplog.text
