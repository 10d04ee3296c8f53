"""Bot command handlers: what the bot answers when users talk to it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.core.formatting import escape


class Commands:
    """Handlers for /start and /help; later issues add search, stats and the rest."""

    def __init__(
        self,
        *,
        admin_ids: Sequence[int],
        chat_ids: Sequence[int],
        watched: Callable[[], Sequence[str]],
    ):
        self.admin_ids = set(admin_ids)
        self.chat_ids = set(chat_ids)
        self.watched = watched

    def allowed(self, update: Update) -> bool:
        user = update.effective_user
        chat = update.effective_chat
        if user is not None and user.id in self.admin_ids:
            return True
        return chat is not None and chat.id in self.chat_ids

    async def refuse(self, update: Update) -> None:
        user = update.effective_user
        if update.effective_message is not None:
            await update.effective_message.reply_text(
                f"Sorry, this bot is private. Your user id is {user.id if user else '?'}:"
                " ask its owner to allow you."
            )

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not self.allowed(update):
            await self.refuse(update)
            return
        await self.help(update, context)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not self.allowed(update):
            await self.refuse(update)
            return
        names = ", ".join(escape(n) for n in self.watched()) or "nothing yet"
        text = (
            "<b>newswatch</b> sends one alert per news story that mentions what you watch.\n"
            f"Watching: {names}\n\n/help: this message"
        )
        if update.effective_message is not None:
            await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)

    def register(self, app: Application) -> None:
        app.add_handler(CommandHandler("start", self.start))
        app.add_handler(CommandHandler("help", self.help))
