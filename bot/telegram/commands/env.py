"""What every command handler is given: the bot's collaborators and the helpers they share.

A command is a function ``async def name(env, update, context, args)`` in one of the group
modules (``onboarding``, ``queries``, ``charts``, ``chat_settings``, ``watching``), listed
once in ``table.COMMANDS``. ``env`` is the ``Commands`` object built by the composition root.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.core.errors import UserError
from bot.core.matching import MatcherLike
from bot.core.normalize import normalize
from bot.core.periods import is_duration, parse_duration
from bot.core.ports import AccessPolicy, AlertQueries, CommandStore
from bot.core.search_query import IncidentFilter
from bot.core.status_report import StatusReport

log = logging.getLogger("newswatch.commands")

MAX_COMMANDS = 100  # setMyCommands takes at most this many
MAX_LIST = 100  # at most this many alerts in one list reply
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# Largest id SQLite stores (64-bit signed); Telegram's own ids are far below it.
MAX_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Search:
    """A /search kept for its "More" button."""

    match: str | None
    since: datetime | None
    label: str
    incident: IncidentFilter | None = None


class CommandEnv:
    """The collaborators of the commands, and what several command groups need."""

    # (name, arguments, description) of the listed commands, for /help (set by Commands)
    help_entries: Sequence[tuple[str, str, str]] = ()
    # Every listed command, admins' included, as published to admins' chats (set by
    # Commands.publish; empty until the bot has published its commands)
    admin_command_list: Sequence[BotCommand] = ()

    def __init__(
        self,
        *,
        access: AccessPolicy,
        repo: CommandStore,
        queries: AlertQueries,
        watchlists: Callable[[], Any],  # -> WatchlistSet in force
        matcher: Callable[[], MatcherLike],
        timezone: str = "Africa/Bamako",
        stale_after: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        web_base_url: str | None = None,
        deliver_now: Callable[[], Awaitable[None]] | None = None,
        status: Callable[[], StatusReport] | None = None,
    ):
        self.access = access
        self.repo = repo
        self.queries = queries
        self.watchlists = watchlists
        self.matcher = matcher
        self.timezone = timezone
        self.stale_after = stale_after
        self.clock = clock
        self.web_base_url = web_base_url  # `main.py web`'s address: /story links there
        # Starts a delivery pass at once (the deliverer, set by the composition root), e.g.
        # after /quiet off.
        self.deliver_now = deliver_now
        self.status = status  # builds a fresh /health report
        self.feed_admin: Any = None  # bot.telegram.feed_admin.FeedAdmin, set at composition
        self.searches: OrderedDict[str, Search] = OrderedDict()

    async def publish_admin_commands(self, bot: Bot, user_id: int) -> None:
        """Lists every command, admins' included, in ``user_id``'s private chat (a chat
        scope of setMyCommands). Telegram refuses it for a user who never opened a chat with
        the bot ("chat not found"): logged; the commands work all the same."""
        if not self.admin_command_list:
            return
        try:
            await bot.set_my_commands(
                list(self.admin_command_list)[:MAX_COMMANDS], scope=BotCommandScopeChat(user_id)
            )
        except TelegramError as exc:  # the list is a convenience; the commands still work
            log.warning("setMyCommands for admin %s failed: %s", user_id, exc)

    async def refuse(self, update: Update) -> None:
        user = update.effective_user
        if update.effective_message is not None:
            await update.effective_message.reply_text(
                f"Sorry, this bot is private. Your user id is {user.id if user else '?'}:"
                " ask its owner to allow you."
            )

    async def pages(
        self, message: Message, pages: Sequence[str], markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """A reply of one or more HTML pages (the last one carries ``markup``), in the
        chat's topic when asked in one. Paced and retried by PacedRateLimiter."""
        for i, page in enumerate(pages):
            await message.get_bot().send_message(
                chat_id=message.chat_id,
                text=page,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                message_thread_id=message.message_thread_id if message.is_topic_message else None,
                reply_markup=markup if i == len(pages) - 1 else None,
            )

    async def deliver_soon(self) -> None:
        """Start a delivery pass now (e.g. held alerts released); the next cycle otherwise."""
        if self.deliver_now is None:
            return
        try:
            await self.deliver_now()
        except Exception:  # boundary: the next cycle delivers anyway
            log.exception("could not start a delivery pass")

    # ----- name resolution ---------------------------------------------------------------
    def entity_names(self) -> list[str]:
        names = [e.name for e in self.watchlists().entities]
        for stored in self.queries.entity_names():
            if stored not in names:
                names.append(stored)
        return names

    def try_entity(self, text: str) -> str | None:
        """The watched (or stored) entity named ``text``: by name, then by alias, any case."""
        wanted = normalize(text)
        if not wanted:
            return None
        names = self.entity_names()
        for name in names:
            if normalize(name) == wanted:
                return name
        for entity in self.watchlists().entities:
            if any(normalize(a.text) == wanted for a in entity.aliases if not a.regex):
                return str(entity.name)
        return None

    def resolve_entity(self, text: str) -> str:
        name = self.try_entity(text)
        if name is None:
            watched = ", ".join(e.name for e in self.watchlists().entities)
            raise UserError(f"No watched entity is called {text.strip()[:60]}. Watched: {watched}")
        return name


ArgsHandler = Callable[[CommandEnv, Update, ContextTypes.DEFAULT_TYPE, str], Awaitable[None]]
ButtonHandler = Callable[[CommandEnv, Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


def message_of(update: Update) -> Message:
    message = update.effective_message
    assert message is not None
    return message


def message_and_user(update: Update) -> tuple[Message, int]:
    message = message_of(update)
    if update.effective_user is None:
        raise UserError("This command needs a user.")
    return message, update.effective_user.id


def user_id_arg(args: str, command: str) -> int:
    text = args.strip()
    if not text.lstrip("-").isdecimal() or len(text) > 20:
        raise UserError(f"Usage: /{command} <user id> (a number; the user sees it when refused).")
    if abs(int(text)) > MAX_ID:  # SQLite integers are 64-bit: 20 digits used to crash
        raise UserError(f"/{command}: {text} is not a Telegram user id (too large).")
    return int(text)


def split_period(args: str, default: timedelta | None) -> tuple[str, timedelta | None]:
    """``"JNIM 7d"`` -> ("JNIM", 7 days); a last word that is no period belongs to the name."""
    words = args.split()
    if len(words) >= 2 and is_duration(words[-1]):
        return " ".join(words[:-1]), parse_duration(words[-1])
    return " ".join(words), default
