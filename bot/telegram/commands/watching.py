"""What the bot watches and how it is doing: /feeds, /retry, /watchlist, /test, /health, and
the owner's /watch, /unwatch, /addfeed, /rmfeed (bot-managed files).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from telegram import (
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    ContextTypes,
)

from bot.core.errors import FeedLookupError, UserError
from bot.core.formatting import escape
from bot.core.incidents import describe_incident
from bot.core.matching import describe
from bot.core.reports import (
    describe_retry,
    feed_health,
    paginate,
    render_feeds,
    render_watchlist,
)
from bot.core.status_report import render_html
from bot.data.incident_data import load_default_tagger
from bot.telegram.commands.env import (
    NO_PREVIEW,
    CommandEnv,
    message_and_user,
    message_of,
)

log = logging.getLogger("newswatch.commands")


async def feeds(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message = message_of(update)
    health = [feed_health(r) for r in env.queries.feeds()]
    await env.pages(message, render_feeds(health, env.clock(), env.stale_after))


async def retry(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message = message_of(update)
    if not args.strip():
        await message.reply_text("Usage: /retry <feed url, or a part of it that only it has>")
        return
    try:
        url, previous = env.repo.feeds.retry(args, env.clock())
    except FeedLookupError as exc:
        await message.reply_text(f"/retry: {exc}.", link_preview_options=NO_PREVIEW)
        return
    await message.reply_text(describe_retry(url, previous), link_preview_options=NO_PREVIEW)


async def watchlist(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message = message_of(update)
    wset = env.watchlists()
    files = [(Path(wl.path).name, [e.name for e in wl.entities]) for wl in wset.watchlists]
    await env.pages(message, render_watchlist(files, wset.version))


async def headline_test(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message = message_of(update)
    if not args.strip():
        raise UserError("Paste a headline after /test, e.g. /test JNIM attacks near Kidal")
    # The first line is the headline; further lines, if any, are the summary.
    title, _newline, summary = args.strip().partition("\n")
    explanation = describe(env.matcher().match(title, summary.strip()))
    incident = load_default_tagger().tag(title, summary.strip())
    explanation += "\n" + "\n".join(describe_incident(incident))
    pages = paginate(
        [f"<pre>{escape(explanation)}</pre>"], header="<b>Test</b>: " + escape(args[:300])
    )
    await env.pages(message, pages)


def _admin_files(env: CommandEnv) -> Any:
    if env.feed_admin is None:
        raise UserError("Changing the watchlist from Telegram is not set up here.")
    return env.feed_admin


async def watch(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message, actor = message_and_user(update)
    # In a thread: the edited watchlist is parsed and compiled (0.03 s at 1,000 entities,
    # 0.3-0.5 s at 10,000), and the event loop goes on meanwhile.
    await message.reply_text(await asyncio.to_thread(_admin_files(env).watch, args, actor))


async def unwatch(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message, actor = message_and_user(update)
    await message.reply_text(await asyncio.to_thread(_admin_files(env).unwatch, args, actor))


async def addfeed(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message, actor = message_and_user(update)
    reply = await _admin_files(env).addfeed(args, actor)
    await message.reply_text(reply, link_preview_options=NO_PREVIEW)


async def rmfeed(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message, actor = message_and_user(update)
    reply = _admin_files(env).rmfeed(args, actor)
    await message.reply_text(reply, link_preview_options=NO_PREVIEW)


async def health(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    """/health: the status report (uptime, last cycle, pending deliveries, failing feeds)."""
    message = message_of(update)
    if env.status is None:
        raise UserError("The health report is not set up here.")
    await message.reply_text(render_html(env.status()), parse_mode=ParseMode.HTML)
