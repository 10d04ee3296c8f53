"""Commands of access and alert chats: /start (pairing), /help, /allow, /deny, /subscribe,
/unsubscribe, and the button that sends the alerts waiting since before a chat subscribed.
"""

from __future__ import annotations

import contextlib
import logging

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

from bot.core.alert_views import alert_view
from bot.core.errors import UserError
from bot.core.formatting import render_digest
from bot.core.reports import (
    render_help,
)
from bot.telegram.commands.env import (
    CommandEnv,
    message_and_user,
    user_id_arg,
)

log = logging.getLogger("newswatch.commands")

BACKLOG_MAX = 30  # at most this many waiting alerts offered as one digest


async def start(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message = update.effective_message
    assert message is not None
    user_id = update.effective_user.id if update.effective_user else None
    chat_id = message.chat_id
    if args and user_id is not None:
        if env.access.claim(args.split()[0], user_id, chat_id):
            await message.reply_text(
                "Paired: you are the owner of this bot, and this chat will receive alerts."
                " To send alerts to a group too, add the bot there and send /subscribe in"
                " it. Use /allow <user id> to let others in. Send /help for the commands."
            )
            await env.publish_admin_commands(context.bot, user_id)
            await _offer_backlog(env, message, chat_id)
            return
        if not env.access.is_allowed(user_id, chat_id):
            await env.refuse(update)
            return
        await message.reply_text("That pairing code is not valid (or was already used).")
        return
    if not env.access.is_allowed(user_id, chat_id):
        await env.refuse(update)
        return
    await help_command(env, update, context, "")


async def help_command(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message = update.effective_message
    assert message is not None
    names = [e.name for e in env.watchlists().entities]
    await env.pages(message, [render_help(names, env.help_entries)])


async def allow(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message, actor = message_and_user(update)
    await message.reply_text(env.access.allow(actor, user_id_arg(args, "allow")))


async def deny(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message, actor = message_and_user(update)
    await message.reply_text(env.access.deny(actor, user_id_arg(args, "deny")))


async def subscribe(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message, actor = message_and_user(update)
    chat_id, name = await _target_chat(env, message, args)
    added = env.repo.access.subscribe_chat(chat_id, actor=actor, now=env.clock())
    log.warning("chat %s subscribed by %s (new: %s)", chat_id, actor, added)
    if not added:
        await message.reply_text(f"{name} already receives alerts.")
        return
    await message.reply_text(
        f"{name} now receives alerts (new ones, from the next cycle on)."
        " /unsubscribe stops them; /quiet and /digest set how they arrive."
    )
    await _offer_backlog(env, message, chat_id)


async def unsubscribe(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message, actor = message_and_user(update)
    chat_id, name = await _target_chat(env, message, args)
    removed = env.repo.access.unsubscribe_chat(chat_id, actor=actor, now=env.clock())
    if str(chat_id) in env.access.chat_ids:
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


async def _target_chat(env: CommandEnv, message: Message, args: str) -> tuple[int, str]:
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


async def _offer_backlog(env: CommandEnv, message: Message, chat_id: int) -> None:
    """Alerts stored while no chat received alerts: say how many, offer the last N."""
    waiting = env.repo.alerts.unrouted_alert_count()
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


async def backlog(env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The buttons under the waiting-alerts offer: queue one digest, or nothing."""
    query = update.callback_query
    if query is None:
        return
    if not env.access.is_admin(query.from_user.id):
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
    rows = env.repo.alerts.unrouted_alerts(count)
    if not rows:
        await query.answer("Nothing is waiting any more.")
        return
    views = [alert_view(r) for r in rows]
    texts = render_digest(views, f"🗞 {len(views)} alerts found before this chat subscribed")
    env.repo.outbox.queue_backlog_digest(chat_id, [r.id for r in rows], texts, env.clock())
    log.info("%d waiting alerts queued as a digest for chat %s", len(rows), chat_id)
    await query.answer(f"{len(rows)} alerts are on their way, as one digest.")
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(reply_markup=None)
    await env.deliver_soon()
