"""Commands that read past alerts: /recent, /search (and its More button), /entity, /story,
/stats, /export.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from datetime import timedelta

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import (
    ContextTypes,
)

from bot.core.errors import SearchError, UserError
from bot.core.formatting import escape
from bot.core.periods import (
    describe_duration,
    minutes_hint,
    parse_period,
    parse_span,
)
from bot.core.reports import (
    PAGE_SIZE,
    alert_block,
    alert_line,
    alerts_csv,
    paginate,
    render_alert_list,
    render_stats,
    render_story,
)
from bot.core.search_query import parse_search
from bot.core.web_links import story_url
from bot.data.incident_data import incident_filter
from bot.render.heavy_work import heavy_work
from bot.telegram.commands.env import (
    MAX_ID,
    MAX_LIST,
    CommandEnv,
    Search,
    message_of,
    split_period,
)

log = logging.getLogger("newswatch.commands")

MAX_SEARCHES_KEPT = 500  # searches remembered for their More button


async def recent(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message = message_of(update)
    span = parse_span(args)
    if span.period is not None:
        rows = env.queries.recent(since=env.clock() - span.period, limit=MAX_LIST + 1)
        what = f"in the last {describe_duration(span.period)}"
    else:
        rows = env.queries.recent(limit=span.count)
        what = f"(last {span.count})"
    more = len(rows) > MAX_LIST
    lines = [alert_line(r) for r in rows[:MAX_LIST]]
    header = f"<b>Latest alerts</b> {escape(what)}, newest first"
    if more:
        header += f" (the first {MAX_LIST}; narrow the period for the rest)"
    await env.pages(message, render_alert_list(lines, header, f"No alerts {what}."))


async def search(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message = message_of(update)
    query = parse_search(args)
    if query.error or (query.match is None and not query.filtered):
        await message.reply_text(query.error or "Nothing to search for.")
        return
    incident = incident_filter(query)  # LookupFailed: answered by the dispatcher
    since = env.clock() - query.since if query.since else None
    label = query.label + (f" since {describe_duration(query.since)}" if query.since else "")
    search = Search(match=query.match, since=since, label=label, incident=incident)
    await _search_page(env, message, search, 0)


async def _search_page(env: CommandEnv, message: Message, search: Search, offset: int) -> None:
    try:
        page = env.queries.search(
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
    weak = _weak_lines(env, search) if offset == 0 else []
    if page.total == 0:
        text = escape(f"No alerts match {search.label}.")
        await env.pages(message, paginate(weak, header=text) if weak else [text])
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
        token = _remember(env, search)
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton("More", callback_data=f"more:{token}:{end}")]]
        )
    await env.pages(message, pages, markup)


def _weak_lines(env: CommandEnv, search: Search) -> list[str]:
    """Weak matches of a search (stored, never alerted): a short list under the alerts."""
    if search.match is None or search.incident is not None:
        return []  # weak matches carry no incident fields
    try:
        weak = env.queries.search_weak(search.match, since=search.since, limit=5)
    except SearchError:
        return []
    if not weak.total:
        return []
    lines = [
        f"<i>{weak.total} weak match(es), stored but not alerted"
        " (names only in a list or an aside):</i>"
    ]
    for row in weak.rows:
        names = ", ".join(row.entities)
        lines.append(
            f"~ {escape(row.title or '')} ({escape(row.source or '')}; weak: {escape(names)})"
        )
    return ["\n".join(lines)]


def _remember(env: CommandEnv, search: Search) -> str:
    token = secrets.token_hex(6)
    env.searches[token] = search
    while len(env.searches) > MAX_SEARCHES_KEPT:
        env.searches.popitem(last=False)
    return token


async def more(env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "More" button under a search page: the next page, as a new message."""
    query = update.callback_query
    if query is None:
        return
    chat_id = query.message.chat.id if query.message else None
    if not env.access.is_allowed(query.from_user.id, chat_id):
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
    search = env.searches.get(token)
    if search is None:
        await query.message.reply_text("This search has expired: send it again.")
        return
    try:
        await _search_page(env, query.message, search, max(0, offset))
    except Exception:  # answered here, logged and reported by the error handler
        with contextlib.suppress(TelegramError):
            await query.message.reply_text("Sorry, the next page failed; it is in the bot's log.")
        raise


async def entity(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message = message_of(update)
    name_text, period = split_period(args, None)
    if not name_text:
        raise UserError("Which entity? For example: /entity JNIM 7d")
    name = env.resolve_entity(name_text)
    since = env.clock() - period if period else None
    page = env.queries.entity(name, since=since, limit=MAX_LIST)
    what = f" in the last {describe_duration(period)}" if period else ""
    header = f"<b>{escape(name)}</b>: {page.total} alert(s){escape(what)}, newest first"
    if page.total > len(page.rows):
        header += f" (the latest {len(page.rows)})"
    lines = [alert_line(r) for r in page.rows]
    await env.pages(message, render_alert_list(lines, header, f"No alerts for {name}{what}."))


async def story(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message = message_of(update)
    text = args.strip().lstrip("#")
    if not text.isdecimal():
        raise UserError("Which story? Give its number, e.g. /story 12 (shown in lists).")
    if int(text) > MAX_ID:
        raise UserError(f"There is no story {text}: story numbers are smaller.")
    story, alerts = env.queries.story(int(text))
    if story is None:
        raise UserError(f"There is no story {int(text)}.")
    web_url = story_url(env.web_base_url, int(text))
    await env.pages(message, render_story(story, [alert_line(a) for a in alerts], web_url=web_url))


async def stats(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message = message_of(update)
    period = parse_period(args, timedelta(days=7))
    now = env.clock()
    start, before = now - period, now - 2 * period
    q = env.queries
    pages = render_stats(
        describe_duration(period),
        (q.count(start, now), q.count(before, start)),
        (q.counts_by_entity(start, now), q.counts_by_entity(before, start)),
        (q.counts_by_source(start, now), q.counts_by_source(before, start)),
        reports=q.report_count(start, now),
        event_types=(q.counts_by_event_type(start, now), q.counts_by_event_type(before, start)),
    )
    await env.pages(message, pages)


async def export(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message = message_of(update)
    period = parse_period(args, timedelta(days=30))
    now = env.clock()
    rows = list(env.queries.export_rows(since=now - period))
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
