"""The /health command: the status report in Telegram, for allowed users and chats."""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import CommandHandler, ContextTypes

from bot.core.status_report import StatusReport, render_html

log = logging.getLogger("newswatch.health")


def health_handler(
    status: Callable[[], StatusReport], allowed: Callable[[int | None, int | None], bool]
) -> CommandHandler[ContextTypes.DEFAULT_TYPE, None]:
    """A CommandHandler for /health; ``status`` builds a fresh report on every call.

    ``allowed(user_id, chat_id)`` decides who may see it (e.g. AccessControl.is_allowed).
    """

    async def health(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        user = update.effective_user
        chat = update.effective_chat
        if not allowed(user.id if user else None, chat.id if chat else None):
            await message.reply_text(
                f"Sorry, this bot is private. Your user id is {user.id if user else '?'}:"
                " ask its owner to allow you."
            )
            return
        try:
            text = render_html(status())
        except Exception as exc:  # the report must never take the bot down
            log.exception("/health failed")
            text = f"Health report failed: {type(exc).__name__}"
            await message.reply_text(text)
            return
        await message.reply_text(text, parse_mode=ParseMode.HTML)

    return CommandHandler("health", health)
