"""Dispatching bot commands from the table: who may run what, arguments, answers, errors.

``Commands`` is built by the composition root with the bot's collaborators (see
``CommandEnv``); ``register`` adds one handler per row of ``table.COMMANDS`` plus the
command buttons, and ``publish`` sends the same table to ``setMyCommands``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.core.errors import NewswatchError, UserFacingError
from bot.telegram.commands import onboarding, queries
from bot.telegram.commands.env import MAX_COMMANDS, ButtonHandler, CommandEnv
from bot.telegram.commands.table import COMMANDS, Command, Role, help_entries

log = logging.getLogger("newswatch.commands")

UNKNOWN_GROUP = 99  # the "unknown command" hint runs after every other handler group
# Inline buttons under command replies: callback data prefix -> handler.
BUTTONS: tuple[tuple[str, ButtonHandler], ...] = (
    (r"^more:", queries.more),
    (r"^backlog:", onboarding.backlog),
)
PTBCallback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


class Commands(CommandEnv):
    """Every bot command, dispatched from ``table.COMMANDS``."""

    help_entries = tuple(help_entries())

    # ----- plumbing ----------------------------------------------------------------------
    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        for command in COMMANDS:
            app.add_handler(CommandHandler(command.name, self._wrap(command)))
        for pattern, button in BUTTONS:
            app.add_handler(CallbackQueryHandler(self._button(button), pattern=pattern))
        # Unknown commands get a hint, unless another handler (another module's) knows them.
        app.add_handler(MessageHandler(filters.COMMAND, self._unknown), group=UNKNOWN_GROUP)

    async def publish(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """setMyCommands: the listed commands of the table with their help, as Telegram
        shows them. Everyone sees the commands that are not reserved to admins (the default
        scope); the private chat of each admin (the configured admins and the owner) lists
        them all (a chat scope), so /allow, /deny and the other admin commands are offered
        only to those who may run them. A command another module registers (and the table
        does not know) is listed after them by its name, for everyone."""
        extra: list[BotCommand] = []
        known = {c.name for c in COMMANDS}
        for handlers in app.handlers.values():
            for h in handlers:
                if isinstance(h, CommandHandler):
                    for name in sorted(h.commands - known):
                        extra.append(BotCommand(name, f"/{name}"))
                        known.add(name)
        listed = [c for c in COMMANDS if c.listed]
        everyone = [BotCommand(c.name, c.help) for c in listed if c.role is not Role.ADMIN]
        self.admin_command_list = [BotCommand(c.name, c.help) for c in listed] + extra
        await app.bot.set_my_commands((everyone + extra)[:MAX_COMMANDS])
        for user_id in sorted(self.access.admin_user_ids()):
            await self.publish_admin_commands(app.bot, user_id)

    def _button(self, button: ButtonHandler) -> PTBCallback:
        async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await button(self, update, context)

        return handler

    def _wrap(self, command: Command) -> PTBCallback:
        name = command.name

        async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            message = update.effective_message
            if message is None:
                return
            user_id = update.effective_user.id if update.effective_user else None
            chat_id = update.effective_chat.id if update.effective_chat else None
            if command.role is not Role.ANYONE and not self.access.is_allowed(user_id, chat_id):
                log.info("refused /%s from user %s in chat %s", name, user_id, chat_id)
                await self.refuse(update)
                return
            if command.role is Role.ADMIN and not self.access.is_admin(user_id):
                await message.reply_text(f"Only the owner or an admin may use /{name}.")
                return
            text = message.text or ""
            args = text.split(maxsplit=1)[1].strip() if len(text.split(maxsplit=1)) > 1 else ""
            changes = command.chat_setting and bool(args)  # with no argument they only show
            if changes and not await self._may_change_settings(update, context, user_id):
                log.info("refused /%s %s from user %s in group %s", name, args, user_id, chat_id)
                await message.reply_text(
                    "Only this group's admins (or the bot's owner and admins) can change its"
                    " alert settings."
                )
                return
            try:
                await command.handler(self, update, context, args)
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
        self.repo.chats.log_setting_change(user_id, chat.id, f"/{name} {args}", self.clock())
        if chat.type in ("group", "supergroup"):
            user = update.effective_user
            who = (user.full_name if user else "?") + f" (id {user_id})"
            await message.reply_text(
                f"Alert settings of this chat changed by {who}: /{name} {args}"
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
            if group == UNKNOWN_GROUP:
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
