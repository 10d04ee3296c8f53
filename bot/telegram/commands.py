"""Bot command handlers: what the bot answers when authorised users talk to it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.alert_views import view_from_row
from bot.app.access import AccessControl
from bot.core import delivery_policy
from bot.core.errors import NewswatchError, UserError, UserFacingError
from bot.core.formatting import escape, render_digest
from bot.core.incidents import describe_incident
from bot.core.matching import MatchResult, describe
from bot.core.normalize import normalize
from bot.core.periods import (
    describe_duration,
    is_duration,
    minutes_hint,
    parse_clock,
    parse_clock_range,
    parse_duration,
    parse_period,
    parse_span,
)
from bot.core.reports import (
    PAGE_SIZE,
    MuteLine,
    alert_block,
    alert_line,
    alerts_csv,
    bin_counts,
    describe_retry,
    feed_health,
    paginate,
    relative,
    render_alert_list,
    render_feeds,
    render_help,
    render_mutes,
    render_stats,
    render_story,
    render_watchlist,
    stamp,
    trend_bins,
)
from bot.core.search_query import parse_search
from bot.core.web_links import story_url
from bot.data.incident_data import incident_filter, load_default_tagger
from bot.render.heavy_work import heavy_work
from storage.queries import IncidentFilter, Queries, SearchError
from storage.repository import FeedLookupError, Repository, parse_iso

log = logging.getLogger("newswatch.commands")

# (name, arguments, description): /help and setMyCommands both read this list.
COMMANDS: list[tuple[str, str, str]] = [
    ("help", "", "What the bot watches, and the commands"),
    ("recent", "[N | 6h | 3d]", "The latest alerts, newest first"),
    ("search", "<words> [since:7d]", "Full-text search over past alerts"),
    ("entity", "<name> [7d]", "The alerts for one watched entity"),
    ("story", "<id>", "Every outlet that reported a story"),
    ("stats", "[7d]", "Alerts per entity and source, against the period before"),
    ("trend", "<entity> [30d]", "A chart of an entity's mentions over a period"),
    ("map", "[30d] [entity] [ar]", "A map of incidents: type, toll and place (ar: Arabic names)"),
    ("feeds", "", "Feed health: failing and stale feeds"),
    ("retry", "<feed url>", "Owner: fetch a paused or 410-disabled feed again"),
    ("watchlist", "", "The entities in force, by file, and the version"),
    ("test", "<headline> [summary on a new line]", "What would alert, and which rule decided"),
    ("mute", "<entity | source> <duration>", "Stop sending alerts about an entity or a source"),
    ("unmute", "<entity | source>", "Lift a mute"),
    ("mutes", "", "What is muted in this chat"),
    ("digest", "off | hourly | daily HH:MM", "Collect alerts into a digest, or not"),
    ("quiet", "HH:MM-HH:MM | off", "Quiet hours (local time): alerts wait until they end"),
    ("export", "[30d]", "A CSV file of the alerts of a period"),
    ("watch", "<name>[, alias, …]", "Owner: watch a new entity"),
    ("unwatch", "<name>", "Owner: stop watching an entity added with /watch"),
    ("addfeed", "<url>", "Owner: poll a new feed (fetched once to check it)"),
    ("rmfeed", "<url>", "Owner: stop polling a feed added with /addfeed"),
    ("subscribe", "[chat id | @channel]", "Owner: send alerts to this chat (or that one)"),
    ("unsubscribe", "[chat id | @channel]", "Owner: stop sending alerts to this chat"),
    (
        "priority",
        "high-only | <entity> high|medium|low | off",
        "Only incidents this severe alert at once",
    ),
    ("allow", "<user id>", "Owner: let a user use the bot"),
    ("deny", "<user id>", "Owner: stop a user from using the bot"),
    ("health", "", "Bot health: uptime, last cycle, failing feeds"),
]
OTHER_COMMANDS: dict[str, str] = {}
BACKLOG_MAX = 30  # at most this many waiting alerts offered as one digest
MAX_LIST = 100
MAP_TIME_LIMIT = 60.0  # seconds for drawing /map in a worker thread
MAX_SEARCHES_KEPT = 500
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE, str], Awaitable[None]]


class MatcherLike(Protocol):
    def match(self, title: str, summary: str) -> MatchResult: ...


@dataclass(frozen=True, slots=True)
class _Search:
    match: str | None
    since: datetime | None
    label: str
    incident: IncidentFilter | None = None


class Commands:
    """Every bot command. Built by ``main.py`` with the storage and watchlist it needs."""

    def __init__(
        self,
        *,
        access: AccessControl,
        repo: Repository,
        queries: Queries,
        watchlists: Callable[[], Any],  # -> WatchlistSet in force
        matcher: Callable[[], MatcherLike],
        timezone: str = "Africa/Bamako",
        stale_after: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        web_base_url: str | None = None,
        deliver_now: Callable[[], Awaitable[None]] | None = None,
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
        # Starts a delivery pass at once (main.py: the deliverer), e.g. after /quiet off.
        self.deliver_now = deliver_now
        self.feed_admin: Any = None  # bot.telegram.feed_admin.FeedAdmin, set by main.py
        self._searches: OrderedDict[str, _Search] = OrderedDict()

    # ----- plumbing ----------------------------------------------------------------------
    def register(self, app: Application) -> None:
        app.add_handler(CommandHandler("start", self._wrap("start", self.start, open_=True)))
        handlers: dict[str, tuple[Handler, bool]] = {
            "help": (self.help, False),
            "recent": (self.recent, False),
            "search": (self.search, False),
            "entity": (self.entity, False),
            "story": (self.story, False),
            "stats": (self.stats, False),
            "trend": (self.trend, False),
            "map": (self.map, False),
            "feeds": (self.feeds, False),
            "retry": (self.retry, True),
            "watchlist": (self.watchlist, False),
            "test": (self.test, False),
            "mute": (self.mute, False),
            "unmute": (self.unmute, False),
            "mutes": (self.mutes, False),
            "digest": (self.digest, False),
            "quiet": (self.quiet, False),
            "export": (self.export, False),
            "priority": (self.priority, False),
            "allow": (self.allow, True),
            "deny": (self.deny, True),
            "watch": (self.watch, True),
            "unwatch": (self.unwatch, True),
            "addfeed": (self.addfeed, True),
            "rmfeed": (self.rmfeed, True),
            "subscribe": (self.subscribe, True),
            "unsubscribe": (self.unsubscribe, True),
        }
        for name, (fn, admin) in handlers.items():
            app.add_handler(CommandHandler(name, self._wrap(name, fn, admin=admin)))
        app.add_handler(CallbackQueryHandler(self.more, pattern=r"^more:"))
        app.add_handler(CallbackQueryHandler(self.backlog, pattern=r"^backlog:"))
        # Unknown commands get a hint, unless another handler (another issue's) knows them.
        app.add_handler(MessageHandler(filters.COMMAND, self._unknown), group=99)

    async def publish(self, app: Application) -> None:
        """setMyCommands: the command list with descriptions, as Telegram shows it.

        Commands registered by other modules (e.g. /health) are listed too, after ours.
        """
        listed = [(name, desc) for name, _, desc in COMMANDS]
        known = {name for name, _ in listed} | {"start"}
        for handlers in app.handlers.values():
            for h in handlers:
                if isinstance(h, CommandHandler):
                    for name in sorted(h.commands - known):
                        listed.append((name, OTHER_COMMANDS.get(name, f"/{name}")))
                        known.add(name)
        await app.bot.set_my_commands([BotCommand(name, desc) for name, desc in listed[:100]])

    def _wrap(
        self, name: str, fn: Handler, *, admin: bool = False, open_: bool = False
    ) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
        async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            message = update.effective_message
            if message is None:
                return
            user_id = update.effective_user.id if update.effective_user else None
            chat_id = update.effective_chat.id if update.effective_chat else None
            if not open_ and not self.access.is_allowed(user_id, chat_id):
                log.info("refused /%s from user %s in chat %s", name, user_id, chat_id)
                await self.refuse(update)
                return
            if admin and not self.access.is_admin(user_id):
                await message.reply_text(f"Only the owner or an admin may use /{name}.")
                return
            text = message.text or ""
            args = text.split(maxsplit=1)[1].strip() if len(text.split(maxsplit=1)) > 1 else ""
            changes = name in CHAT_SETTINGS and bool(args)  # with no argument they only show
            if changes and not await self._may_change_settings(update, context, user_id):
                log.info("refused /%s %s from user %s in group %s", name, args, user_id, chat_id)
                await message.reply_text(
                    "Only this group's admins (or the bot's owner and admins) can change its"
                    " alert settings."
                )
                return
            try:
                await fn(update, context, args)
                if changes:
                    await self._audit_setting(update, name, args, user_id)
            except NewswatchError as exc:  # the bot's one place for our own errors
                if isinstance(exc, UserFacingError):  # a bad argument, a name not found …
                    await message.reply_text(str(exc))
                else:  # e.g. the database was replaced: not the user's doing
                    log.error("/%s failed: %s", name, exc)
                    await message.reply_text(f"Sorry, /{name} failed: {exc}")
            except Exception:  # a bug: answered here, logged and reported by the error handler
                with contextlib.suppress(TelegramError):
                    await message.reply_text(
                        f"Sorry, /{name} failed with an internal error; it is in the bot's log."
                    )
                raise

        return handler

    async def _may_change_settings(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, user_id: int | None
    ) -> bool:
        """In a group: only its Telegram admins, or the bot's owner and admins, so that any
        member cannot silence or hold the alerts the whole group relies on."""
        chat = update.effective_chat
        if chat is None or chat.type not in ("group", "supergroup"):
            return True
        if self.access.is_admin(user_id) or user_id is None:
            return user_id is not None
        try:
            member = await context.bot.get_chat_member(chat.id, user_id)
        except Exception as exc:  # cannot tell: refuse
            log.warning("getChatMember for %s in %s failed: %s", user_id, chat.id, exc)
            return False
        return member.status in ("administrator", "creator")

    async def _audit_setting(
        self, update: Update, name: str, args: str, user_id: int | None
    ) -> None:
        """Every change of a chat's alert settings: in the audit log, and said in the chat."""
        chat = update.effective_chat
        message = update.effective_message
        if chat is None or message is None:
            return
        self.repo.log_setting_change(user_id, chat.id, f"/{name} {args}", self.clock())
        if chat.type in ("group", "supergroup"):
            user = update.effective_user
            who = (user.full_name if user else "?") + f" (id {user_id})"
            await message.reply_text(
                f"Alert settings of this chat changed by {who}: /{name} {args}"
            )

    async def refuse(self, update: Update) -> None:
        user = update.effective_user
        if update.effective_message is not None:
            await update.effective_message.reply_text(
                f"Sorry, this bot is private. Your user id is {user.id if user else '?'}:"
                " ask its owner to allow you."
            )

    async def _pages(
        self, message: Message, pages: Sequence[str], markup: InlineKeyboardMarkup | None = None
    ) -> None:
        for i, page in enumerate(pages):
            await message.get_bot().send_message(
                chat_id=message.chat_id,
                text=page,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                message_thread_id=message.message_thread_id if message.is_topic_message else None,
                reply_markup=markup if i == len(pages) - 1 else None,
            )

    async def _unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        word = message.text.split()[0][1:]
        command, _, target = word.partition("@")
        if target and target.lower() != (context.bot.username or "").lower():
            return  # addressed to another bot in the group
        for group, handlers in context.application.handlers.items():
            if group == 99:
                continue
            for h in handlers:
                if isinstance(h, CommandHandler) and command.lower() in h.commands:
                    return
        user_id = update.effective_user.id if update.effective_user else None
        chat_id = update.effective_chat.id if update.effective_chat else None
        if not self.access.is_allowed(user_id, chat_id):
            await self.refuse(update)
            return
        await message.reply_text(f"Unknown command /{command}. Send /help for the list.")

    # ----- onboarding --------------------------------------------------------------------
    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message = update.effective_message
        assert message is not None
        user_id = update.effective_user.id if update.effective_user else None
        chat_id = message.chat_id
        if args and user_id is not None:
            if self.access.claim(args.split()[0], user_id, chat_id):
                await message.reply_text(
                    "Paired: you are the owner of this bot, and this chat will receive alerts."
                    " To send alerts to a group too, add the bot there and send /subscribe in"
                    " it. Use /allow <user id> to let others in. Send /help for the commands."
                )
                await self._offer_backlog(message, chat_id)
                return
            if not self.access.is_allowed(user_id, chat_id):
                await self.refuse(update)
                return
            await message.reply_text("That pairing code is not valid (or was already used).")
            return
        if not self.access.is_allowed(user_id, chat_id):
            await self.refuse(update)
            return
        await self.help(update, context, "")

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message = update.effective_message
        assert message is not None
        names = [e.name for e in self.watchlists().entities]
        await self._pages(message, [render_help(names, COMMANDS)])

    async def allow(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message, actor = self._message_and_user(update)
        await message.reply_text(self.access.allow(actor, _user_id_arg(args, "allow")))

    async def deny(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message, actor = self._message_and_user(update)
        await message.reply_text(self.access.deny(actor, _user_id_arg(args, "deny")))

    # ----- what to watch (bot-managed files) ---------------------------------------------
    def _admin_files(self) -> Any:
        if self.feed_admin is None:
            raise UserError("Changing the watchlist from Telegram is not set up here.")
        return self.feed_admin

    async def watch(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message, actor = self._message_and_user(update)
        await message.reply_text(self._admin_files().watch(args, actor))

    async def unwatch(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message, actor = self._message_and_user(update)
        await message.reply_text(self._admin_files().unwatch(args, actor))

    async def addfeed(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message, actor = self._message_and_user(update)
        reply = await self._admin_files().addfeed(args, actor)
        await message.reply_text(reply, link_preview_options=NO_PREVIEW)

    async def rmfeed(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message, actor = self._message_and_user(update)
        reply = self._admin_files().rmfeed(args, actor)
        await message.reply_text(reply, link_preview_options=NO_PREVIEW)

    # ----- alert chats -------------------------------------------------------------------
    async def subscribe(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
    ) -> None:
        message, actor = self._message_and_user(update)
        chat_id, name = await self._target_chat(message, args)
        added = self.repo.subscribe_chat(chat_id, actor=actor, now=self.clock())
        log.warning("chat %s subscribed by %s (new: %s)", chat_id, actor, added)
        if not added:
            await message.reply_text(f"{name} already receives alerts.")
            return
        await message.reply_text(
            f"{name} now receives alerts (new ones, from the next cycle on)."
            " /unsubscribe stops them; /quiet and /digest set how they arrive."
        )
        await self._offer_backlog(message, chat_id)

    async def unsubscribe(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
    ) -> None:
        message, actor = self._message_and_user(update)
        chat_id, name = await self._target_chat(message, args)
        removed = self.repo.unsubscribe_chat(chat_id, actor=actor, now=self.clock())
        if str(chat_id) in self.access.chat_ids:
            await message.reply_text(
                f"{name} is an alert chat of the configuration (NEWSWATCH_CHAT_IDS / chat_ids):"
                " remove it there and restart to stop its alerts."
            )
            return
        if not removed:
            await message.reply_text(f"{name} was not receiving alerts.")
            return
        log.warning("chat %s unsubscribed by %s", chat_id, actor)
        await message.reply_text(
            f"{name} no longer receives alerts; those not sent yet are dropped."
            " /subscribe starts them again."
        )

    async def _target_chat(self, message: Message, args: str) -> tuple[int, str]:
        """This chat, or the chat named by ``args`` (a numeric id or a channel's @username)."""
        text = args.strip()
        if not text:
            return message.chat_id, "This chat"
        if text.lstrip("-").isdecimal() and len(text) <= 20:
            target: int | str = int(text)
        elif text.startswith("@") and 2 <= len(text) <= 64:
            target = text
        else:
            raise UserError(
                "Usage: /subscribe in the chat itself, or /subscribe <chat id | @channel>"
                " (for a channel, add the bot as an admin allowed to post first)."
            )
        try:
            chat = await message.get_bot().get_chat(target)
        except TelegramError as exc:
            raise UserError(
                f"I cannot reach {text[:64]} ({exc.message}): add the bot to that chat first"
                " (in a channel, as an admin allowed to post), then try again."
            ) from exc
        label = chat.title or (f"@{chat.username}" if chat.username else str(chat.id))
        return int(chat.id), f"{label} ({chat.id})"

    async def _offer_backlog(self, message: Message, chat_id: int) -> None:
        """Alerts stored while no chat received alerts: say how many, offer the last N."""
        waiting = self.repo.unrouted_alert_count()
        if not waiting:
            return
        count = min(waiting, BACKLOG_MAX)
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        f"Send the last {count} as a digest",
                        callback_data=f"backlog:{chat_id}:{count}",
                    ),
                    InlineKeyboardButton("No, thanks", callback_data="backlog:no"),
                ]
            ]
        )
        await message.reply_text(
            f"{waiting} alert(s) found while no chat received alerts are waiting."
            f" Send the last {count} here as one digest? (All of them stay searchable"
            " with /recent and /search.)",
            reply_markup=markup,
        )

    async def backlog(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The buttons under the waiting-alerts offer: queue one digest, or nothing."""
        query = update.callback_query
        if query is None:
            return
        if not self.access.is_admin(query.from_user.id):
            await query.answer("Only the owner or an admin may do this.", show_alert=True)
            return
        parts = (query.data or "").split(":")
        if len(parts) != 3:
            await query.answer("OK: they stay searchable with /recent and /search.")
            with contextlib.suppress(TelegramError):
                await query.edit_message_reply_markup(reply_markup=None)
            return
        try:
            chat_id, count = int(parts[1]), max(1, min(int(parts[2]), BACKLOG_MAX))
        except ValueError:
            await query.answer()
            return
        rows = self.repo.unrouted_alerts(count)
        if not rows:
            await query.answer("Nothing is waiting any more.")
            return
        views = [view_from_row(r) for r in rows]
        texts = render_digest(views, f"🗞 {len(views)} alerts found before this chat subscribed")
        self.repo.queue_backlog_digest(chat_id, [int(r["id"]) for r in rows], texts, self.clock())
        log.info("%d waiting alerts queued as a digest for chat %s", len(rows), chat_id)
        await query.answer(f"{len(rows)} alerts are on their way, as one digest.")
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(reply_markup=None)
        await self._deliver_now()

    async def _deliver_now(self) -> None:
        if self.deliver_now is None:
            return
        try:
            await self.deliver_now()
        except Exception:  # the next cycle delivers anyway
            log.exception("could not start a delivery pass")

    # ----- alerts ------------------------------------------------------------------------
    async def recent(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message = _message(update)
        span = parse_span(args)
        if span.period is not None:
            rows = self.queries.recent(since=self.clock() - span.period, limit=MAX_LIST + 1)
            what = f"in the last {describe_duration(span.period)}"
        else:
            rows = self.queries.recent(limit=span.count)
            what = f"(last {span.count})"
        more = len(rows) > MAX_LIST
        lines = [alert_line(r) for r in rows[:MAX_LIST]]
        header = f"<b>Latest alerts</b> {escape(what)}, newest first"
        if more:
            header += f" (the first {MAX_LIST}; narrow the period for the rest)"
        await self._pages(message, render_alert_list(lines, header, f"No alerts {what}."))

    async def search(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message = _message(update)
        query = parse_search(args)
        if query.error or (query.match is None and not query.filtered):
            await message.reply_text(query.error or "Nothing to search for.")
            return
        incident = incident_filter(query)
        if isinstance(incident, str):
            await message.reply_text(incident)
            return
        since = self.clock() - query.since if query.since else None
        label = query.label + (f" since {describe_duration(query.since)}" if query.since else "")
        search = _Search(match=query.match, since=since, label=label, incident=incident)
        await self._search_page(message, search, 0)

    async def _search_page(self, message: Message, search: _Search, offset: int) -> None:
        try:
            page = self.queries.search(
                search.match,
                since=search.since,
                limit=PAGE_SIZE,
                offset=offset,
                incident=search.incident,
            )
        except SearchError as exc:
            log.warning("search %r refused by FTS5: %s", search.match, exc)
            await message.reply_text(
                "That search could not run; try plain words (operators are not supported)."
            )
            return
        weak = self._weak_lines(search) if offset == 0 else []
        if page.total == 0:
            text = escape(f"No alerts match {search.label}.")
            await self._pages(message, paginate(weak, header=text) if weak else [text])
            return
        if not page.rows:
            await message.reply_text(f"No more alerts match {search.label}.")
            return
        end = offset + len(page.rows)
        header = (
            f"<b>{page.total} alert(s)</b> match {escape(search.label)}"
            f" ({offset + 1}–{end}, newest first)"
        )
        blocks = [alert_block(alert_line(r)) for r in page.rows]
        pages = paginate([*blocks, *weak], header=header, sep="\n\n")
        markup = None
        if end < page.total:
            token = self._remember(search)
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton("More", callback_data=f"more:{token}:{end}")]]
            )
        await self._pages(message, pages, markup)

    def _weak_lines(self, search: _Search) -> list[str]:
        """Weak matches of a search (stored, never alerted): a short list under the alerts."""
        if search.match is None or search.incident is not None:
            return []  # weak matches carry no incident fields
        try:
            weak = self.queries.search_weak(search.match, since=search.since, limit=5)
        except SearchError:
            return []
        if not weak.total:
            return []
        lines = [
            f"<i>{weak.total} weak match(es), stored but not alerted"
            " (names only in a list or an aside):</i>"
        ]
        for row in weak.rows:
            names = ", ".join(json.loads(row.get("entities") or "[]"))
            lines.append(
                f"~ {escape(row.get('title') or '')} ({escape(row.get('source') or '')}"
                f"; weak: {escape(names)})"
            )
        return ["\n".join(lines)]

    def _remember(self, search: _Search) -> str:
        token = secrets.token_hex(6)
        self._searches[token] = search
        while len(self._searches) > MAX_SEARCHES_KEPT:
            self._searches.popitem(last=False)
        return token

    async def more(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The "More" button under a search page: the next page, as a new message."""
        query = update.callback_query
        if query is None:
            return
        chat_id = query.message.chat.id if query.message else None
        if not self.access.is_allowed(query.from_user.id, chat_id):
            await query.answer("This bot is private.", show_alert=True)
            return
        await query.answer()
        if not isinstance(query.message, Message):
            return
        try:
            _, token, offset_text = (query.data or "").split(":", 2)
            offset = int(offset_text)
        except ValueError:
            return
        search = self._searches.get(token)
        if search is None:
            await query.message.reply_text("This search has expired: send it again.")
            return
        try:
            await self._search_page(query.message, search, max(0, offset))
        except Exception:  # answered here, logged and reported by the error handler
            with contextlib.suppress(TelegramError):
                await query.message.reply_text(
                    "Sorry, the next page failed; it is in the bot's log."
                )
            raise

    async def entity(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message = _message(update)
        name_text, period = _split_period(args, None)
        if not name_text:
            raise UserError("Which entity? For example: /entity JNIM 7d")
        name = self._resolve_entity(name_text)
        since = self.clock() - period if period else None
        page = self.queries.entity(name, since=since, limit=MAX_LIST)
        what = f" in the last {describe_duration(period)}" if period else ""
        header = f"<b>{escape(name)}</b>: {page.total} alert(s){escape(what)}, newest first"
        if page.total > len(page.rows):
            header += f" (the latest {len(page.rows)})"
        lines = [alert_line(r) for r in page.rows]
        await self._pages(message, render_alert_list(lines, header, f"No alerts for {name}{what}."))

    async def story(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message = _message(update)
        text = args.strip().lstrip("#")
        if not text.isdecimal():
            raise UserError("Which story? Give its number, e.g. /story 12 (shown in lists).")
        if int(text) > MAX_ID:
            raise UserError(f"There is no story {text}: story numbers are smaller.")
        story, alerts = self.queries.story(int(text))
        if story is None:
            raise UserError(f"There is no story {int(text)}.")
        web_url = story_url(self.web_base_url, int(text))
        await self._pages(
            message, render_story(story, [alert_line(a) for a in alerts], web_url=web_url)
        )

    async def stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message = _message(update)
        period = parse_period(args, timedelta(days=7))
        now = self.clock()
        start, before = now - period, now - 2 * period
        q = self.queries
        pages = render_stats(
            describe_duration(period),
            (q.count(start, now), q.count(before, start)),
            (q.counts_by_entity(start, now), q.counts_by_entity(before, start)),
            (q.counts_by_source(start, now), q.counts_by_source(before, start)),
            reports=q.report_count(start, now),
            event_types=(q.counts_by_event_type(start, now), q.counts_by_event_type(before, start)),
        )
        await self._pages(message, pages)

    async def trend(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        from bot.render.charts import trend_png

        message = _message(update)
        name_text, period = _split_period(args, timedelta(days=30))
        if not name_text:
            raise UserError("Which entity? For example: /trend JNIM 30d")
        assert period is not None
        name = self._resolve_entity(name_text)
        now = self.clock()
        bins = trend_bins(period, now)
        times = self.queries.entity_times(name, bins.since, now + timedelta(seconds=1))
        series = bin_counts(bins, times)
        total = sum(n for _, n in series)
        label = describe_duration(period)
        try:  # in the worker process: ten years of bars must not hold alerts back
            png = await heavy_work().run(
                partial(trend_png, xlabel=bins.axis_label, unit=bins.unit),
                name,
                series,
                f"{name}: alerts per {bins.unit}, last {label} (UTC)",
            )
        except TimeoutError:
            raise UserError("The chart took too long to draw; try a shorter period.") from None
        await message.reply_photo(
            photo=png,
            caption=f"{name}: {total} alert(s) in the last {label}, per {bins.unit}",
            filename=f"trend-{label.replace(' ', '')}.png",
        )

    async def map(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        """/map [period] [entity] [ar]: a PNG of incidents, drawn off the event loop."""
        from bot.data.gazetteer_file import load_default_boundaries
        from bot.render.incident_map import map_for

        message = _message(update)
        words = args.split()
        arabic = bool(words) and words[-1].lower() in ("ar", "arabic", "عربي")
        if arabic:
            words = words[:-1]
        period = timedelta(days=30)
        if words and is_duration(words[0]):
            period = parse_duration(words.pop(0))
        elif words and is_duration(words[-1]):
            period = parse_duration(words.pop())
        entity = self._resolve_entity(" ".join(words)) if words else None
        now = self.clock()
        rows = self.queries.incident_rows(now - period, now + timedelta(seconds=1), entity)
        label = describe_duration(period)
        try:
            rendered, caption = await asyncio.wait_for(
                asyncio.to_thread(
                    map_for,
                    rows,
                    load_default_boundaries(),
                    period_label=label,
                    entity=entity,
                    arabic=arabic,
                    now=now,
                ),
                timeout=MAP_TIME_LIMIT,
            )
        except TimeoutError:
            raise UserError("The map took too long to draw; try a shorter period.") from None
        await message.reply_photo(
            photo=rendered.png,
            caption=caption[:1000],
            filename=f"map-{label.replace(' ', '')}.png",
        )

    async def priority(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        """/priority high-only | <entity> <high|medium|low|any> | off: alerts below a chat's
        minimum severity wait for its daily digest instead of coming at once."""
        message = _message(update)
        words = args.split()
        chat = message.chat_id
        now = self.clock()
        levels = ("high", "medium", "low")
        if not words:
            prefs = self.repo.severity_prefs(chat)
            if not prefs:
                text = "Every matched alert comes at once (no minimum severity)."
            else:
                text = "Minimum severity: " + ", ".join(
                    f"{'every entity' if k == '*' else k}: {v}" for k, v in sorted(prefs.items())
                )
            await message.reply_text(
                text + "\nChange it with /priority high-only, /priority ENTITY medium,"
                " or /priority off."
            )
            return
        if words == ["off"]:
            self.repo.clear_severity_prefs(chat)
            await message.reply_text("No minimum severity: every matched alert comes at once.")
            return
        if words[0].lower() in ("high-only", "high_only", "highonly") and len(words) == 1:
            self.repo.set_severity_pref(chat, "*", "high", now)
            await message.reply_text(
                "Only high-severity incidents (10+ dead, a capital or major base attacked, a"
                " coup, a mass abduction) now come at once; everything else waits for the"
                " daily digest. /priority off to undo."
            )
            return
        level = words[-1].lower()
        if len(words) < 2 or level not in (*levels, "any"):
            raise UserError(
                "Usage: /priority high-only, /priority ENTITY high|medium|low|any, or /priority off"
            )
        name = self._resolve_entity(" ".join(words[:-1]))
        self.repo.set_severity_pref(chat, name.casefold(), None if level == "any" else level, now)
        if level == "any":
            await message.reply_text(f"{name}: every matched alert comes at once.")
        else:
            await message.reply_text(
                f"{name}: only incidents of severity {level} or more come at once;"
                " the rest waits for the daily digest."
            )

    async def export(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message = _message(update)
        period = parse_period(args, timedelta(days=30))
        now = self.clock()
        rows = list(self.queries.export_rows(since=now - period))
        try:  # in the worker process, like charts
            data = (await heavy_work().run(alerts_csv, rows)).encode("utf-8")
        except TimeoutError:
            raise UserError("The export took too long; try a shorter period.") from None
        label = describe_duration(period)
        await message.reply_document(
            document=data,
            filename=f"newswatch-alerts-{now:%Y%m%d}-{label.replace(' ', '')}.csv",
            caption=f"{len(rows)} alert(s) from the last {label}.{minutes_hint(args)}",
        )

    # ----- configuration views -----------------------------------------------------------
    async def feeds(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message = _message(update)
        health = [feed_health(r) for r in self.queries.feeds()]
        await self._pages(message, render_feeds(health, self.clock(), self.stale_after))

    async def retry(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message = _message(update)
        if not args.strip():
            await message.reply_text("Usage: /retry <feed url, or a part of it that only it has>")
            return
        try:
            url, previous = self.repo.retry_feed(args, self.clock())
        except FeedLookupError as exc:
            await message.reply_text(f"/retry: {exc}.", link_preview_options=NO_PREVIEW)
            return
        await message.reply_text(describe_retry(url, previous), link_preview_options=NO_PREVIEW)

    async def watchlist(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
    ) -> None:
        message = _message(update)
        wset = self.watchlists()
        files = [(Path(wl.path).name, [e.name for e in wl.entities]) for wl in wset.watchlists]
        await self._pages(message, render_watchlist(files, wset.version))

    async def test(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message = _message(update)
        if not args.strip():
            raise UserError("Paste a headline after /test, e.g. /test JNIM attacks near Kidal")
        # The first line is the headline; further lines, if any, are the summary.
        title, _newline, summary = args.strip().partition("\n")
        explanation = describe(self.matcher().match(title, summary.strip()))
        incident = load_default_tagger().tag(title, summary.strip())
        explanation += "\n" + "\n".join(describe_incident(incident))
        pages = paginate(
            [f"<pre>{escape(explanation)}</pre>"], header="<b>Test</b>: " + escape(args[:300])
        )
        await self._pages(message, pages)

    # ----- per-chat delivery -------------------------------------------------------------
    async def mute(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message, user_id = self._message_and_user(update)
        words = args.split()
        if len(words) < 2 or not is_duration(words[-1]):
            raise UserError(
                "Usage: /mute <entity | source> <duration>, e.g. /mute JNIM 6h"
                " or /mute source RFI Afrique 1d"
            )
        until = self.clock() + parse_duration(words[-1])
        if until - self.clock() > LONG_MUTE and not self.access.is_admin(user_id):
            raise UserError(
                f"A mute longer than {LONG_MUTE.days} days needs the bot's owner or an admin."
            )
        kind, value = self._resolve_mute_target(" ".join(words[:-1]))
        self.repo.add_mute(message.chat_id, kind, value, until, user_id, self.clock())
        log.info(
            "chat %s muted %s %r until %s (by %s)",
            message.chat_id,
            kind,
            value,
            until,
            user_id,
        )
        await message.reply_text(
            f"Muted {kind} {value} in this chat until {stamp(until)}"
            f" ({relative(until, self.clock())})."
            " Its alerts are still stored and searchable."
        )

    async def unmute(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message = _message(update)
        text = args.strip()
        if not text:
            raise UserError("Usage: /unmute <entity | source>; /mutes lists them.")
        kind_word, _, rest = text.partition(" ")
        kinds: tuple[str, ...] = ("entity", "source")
        if kind_word.lower() in kinds and rest.strip():
            kinds, text = (kind_word.lower(),), rest.strip()
        removed = 0
        for kind in kinds:
            value = text
            if kind == "entity":
                value = self._try_entity(text) or text
            removed += self.repo.remove_mute(message.chat_id, kind, value)
        if removed:
            await message.reply_text(f"Unmuted {text}: its alerts will be sent again.")
        else:
            await message.reply_text(f"{text} was not muted in this chat. /mutes lists the mutes.")

    async def mutes(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message = _message(update)
        now = self.clock()
        lines = [
            MuteLine(str(r["kind"]), str(r["value"]), parse_iso(r.get("until")))
            for r in self.repo.active_mutes(message.chat_id, now)
        ]
        await self._pages(message, [render_mutes(lines, now)])

    async def digest(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message = _message(update)
        words = args.lower().split()
        modes = delivery_policy.DIGEST_MODES
        if not words:
            prefs = self.repo.get_chat_prefs(message.chat_id) or {}
            mode = prefs.get("digest_mode") or "off"
            when = f" at {prefs.get('digest_time')}" if mode in ("low", "all") else ""
            await message.reply_text(
                f"Digest: {mode}{when} ({self.timezone} time)."
                " Change it with /digest off, /digest hourly or /digest daily HH:MM."
            )
            return
        if words[0] == "off":
            self.repo.set_chat_prefs(message.chat_id, self.clock(), digest_mode="off")
            released = await self._release(message.chat_id, ("daily", "hourly"))
            await message.reply_text(f"Digest off: every alert is sent as it comes.{released}")
            return
        if words[0] == "hourly" and len(words) == 1:
            self.repo.set_chat_prefs(message.chat_id, self.clock(), digest_mode="hourly")
            await self._release(message.chat_id, ("daily",))
            await message.reply_text(
                "Digest: alerts are now collected and sent once an hour, on the hour;"
                " urgent alerts still go out at once."
            )
            return
        mode = "all" if words[0] == "daily" else words[0]
        if mode not in modes or len(words) != 2:
            raise UserError("Usage: /digest off | hourly | daily HH:MM (e.g. /digest daily 07:30)")
        at = parse_clock(words[1])
        self.repo.set_chat_prefs(
            message.chat_id, self.clock(), digest_mode=mode, digest_time=f"{at:%H:%M}"
        )
        await self._release(message.chat_id, ("hourly",))
        await message.reply_text(
            f"Digest: alerts are now collected and sent once a day at {at:%H:%M}"
            f" ({self.timezone} time); urgent alerts still go out at once."
        )

    async def quiet(self, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str) -> None:
        message = _message(update)
        text = args.strip().lower()
        if not text:
            prefs = self.repo.get_chat_prefs(message.chat_id) or {}
            if prefs.get("quiet_start") and prefs.get("quiet_end"):
                now_text = f"{prefs['quiet_start']}-{prefs['quiet_end']} ({self.timezone} time)"
            else:
                now_text = "none"
            await message.reply_text(
                f"Quiet hours: {now_text}. Set them with /quiet 22:00-07:00, or /quiet off."
            )
            return
        if text == "off":
            self.repo.set_chat_prefs(
                message.chat_id, self.clock(), quiet_start=None, quiet_end=None
            )
            released = await self._release(message.chat_id, ("quiet",))
            await message.reply_text(f"Quiet hours off: alerts are sent at any hour.{released}")
            return
        start, end = parse_clock_range(text)
        self.repo.set_chat_prefs(
            message.chat_id, self.clock(), quiet_start=f"{start:%H:%M}", quiet_end=f"{end:%H:%M}"
        )
        # Held under the old hours: planned again under the new ones (sent now, or held on).
        await self._release(message.chat_id, ("quiet",))
        await message.reply_text(
            f"Quiet hours {start:%H:%M}-{end:%H:%M} ({self.timezone} time): alerts that come"
            " in meanwhile are sent when they end."
        )

    async def _release(self, chat_id: int, reasons: tuple[str, ...]) -> str:
        """Alerts held for ``reasons`` are due at once, and a delivery pass starts now."""
        released = self.repo.release_held(chat_id, reasons, self.clock())
        if not released:
            return ""
        log.info("chat %s: %d held alert(s) released (%s)", chat_id, released, ", ".join(reasons))
        await self._deliver_now()
        return f" The {released} alert(s) held so far are on their way."

    # ----- name resolution ---------------------------------------------------------------
    def _entity_names(self) -> list[str]:
        names = [e.name for e in self.watchlists().entities]
        for stored in self.queries.entity_names():
            if stored not in names:
                names.append(stored)
        return names

    def _try_entity(self, text: str) -> str | None:
        """The watched (or stored) entity named ``text``: by name, then by alias, any case."""
        wanted = normalize(text)
        if not wanted:
            return None
        names = self._entity_names()
        for name in names:
            if normalize(name) == wanted:
                return name
        for entity in self.watchlists().entities:
            if any(normalize(a.text) == wanted for a in entity.aliases if not a.regex):
                return str(entity.name)
        return None

    def _resolve_entity(self, text: str) -> str:
        name = self._try_entity(text)
        if name is None:
            watched = ", ".join(e.name for e in self.watchlists().entities)
            raise UserError(f"No watched entity is called {text.strip()[:60]}. Watched: {watched}")
        return name

    def _resolve_mute_target(self, text: str) -> tuple[str, str]:
        kind_word, _, rest = text.partition(" ")
        kinds = ["entity", "source"]
        if kind_word.lower() in kinds and rest.strip():
            kinds, text = [kind_word.lower()], rest.strip()
        if "entity" in kinds:
            name = self._try_entity(text)
            if name is not None:
                return "entity", name
        if "source" in kinds:
            wanted = normalize(text)
            for source in self.queries.source_names():
                if normalize(source) == wanted:
                    return "source", source
        raise UserError(
            f"{text[:60]} is neither a watched entity nor a known source."
            " See /watchlist for entities and /recent for source names."
        )

    @staticmethod
    def _message_and_user(update: Update) -> tuple[Message, int]:
        message = _message(update)
        if update.effective_user is None:
            raise UserError("This command needs a user.")
        return message, update.effective_user.id


def _message(update: Update) -> Message:
    message = update.effective_message
    assert message is not None
    return message


# Commands that change a chat's alert settings: in a group, only its admins (one member must
# not mute or hold the alerts of everyone else).
CHAT_SETTINGS = frozenset({"mute", "unmute", "digest", "quiet", "priority"})
LONG_MUTE = timedelta(days=30)  # longer mutes need the owner or an admin


def _user_id_arg(args: str, command: str) -> int:
    text = args.strip()
    if not text.lstrip("-").isdecimal() or len(text) > 20:
        raise UserError(f"Usage: /{command} <user id> (a number; the user sees it when refused).")
    if abs(int(text)) > MAX_ID:  # SQLite integers are 64-bit: 20 digits used to crash
        raise UserError(f"/{command}: {text} is not a Telegram user id (too large).")
    return int(text)


# Largest id SQLite stores (64-bit signed); Telegram's own ids are far below it.
MAX_ID = 2**63 - 1


def _split_period(args: str, default: timedelta | None) -> tuple[str, timedelta | None]:
    """``"JNIM 7d"`` -> ("JNIM", 7 days); a last word that is no period belongs to the name."""
    words = args.split()
    if len(words) >= 2 and is_duration(words[-1]):
        return " ".join(words[:-1]), parse_duration(words[-1])
    return " ".join(words), default
