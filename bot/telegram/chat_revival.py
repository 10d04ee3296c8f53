"""Bring a chat that blocked or removed the bot (403) back to life, with its pending alerts.

A 403 deactivates a chat (bot.telegram.delivery) and keeps its alerts pending. The chat is
active again when:

- anything arrives from it: its user sends /start or any command or message (a user who
  blocked the bot cannot write to it without unblocking it first);
- the bot is added to the group again (a ``my_chat_member`` update to member or admin);
- the owner or an admin sends ``/retry chat <id>``.

Then the admins are told and a delivery pass sends what waited.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from telegram import ChatMember, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    TypeHandler,
    filters,
)

from bot.core.ports import ChatLife

log = logging.getLogger("newswatch.chats")

_PRESENT = {ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER}
_GONE = {ChatMember.LEFT, ChatMember.BANNED}
RETRY_CHAT = filters.Regex(r"^/retry(@\w+)?\s+chat\b")


class ChatRevival:
    """Handlers that reactivate chats; ``kick`` starts a delivery pass."""

    def __init__(
        self,
        repo: ChatLife,
        *,
        notify_admins: Callable[[str], Awaitable[None]],
        kick: Callable[[], Awaitable[None]],
        is_admin: Callable[[int | None], bool],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.repo = repo
        self.notify_admins = notify_admins
        self.kick = kick
        self.is_admin = is_admin
        self.clock = clock

    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        app.add_handler(TypeHandler(Update, self.on_update), group=-3)
        app.add_handler(
            ChatMemberHandler(self.on_member, ChatMemberHandler.MY_CHAT_MEMBER), group=-2
        )
        app.add_handler(CommandHandler("retry", self.retry_chat, filters=RETRY_CHAT), group=-2)

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None or update.my_chat_member is not None:
            return  # membership changes are on_member's
        if self.repo.chats.is_revivable(chat.id):
            await self.revive(chat.id, "a message arrived from it")

    async def on_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        if change is None:
            return
        chat_id = change.chat.id
        status = change.new_chat_member.status
        if status in _PRESENT and self.repo.chats.is_revivable(chat_id):
            await self.revive(chat_id, "the bot was added to it again")
        elif status in _GONE:
            log.warning("chat %s: the bot was removed (%s)", chat_id, status)
            self.repo.chats.deactivate(chat_id, f"forbidden: bot {status}", self.clock())

    async def retry_chat(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        user = update.effective_user
        if message is None:
            raise ApplicationHandlerStop
        if not self.is_admin(user.id if user else None):
            await message.reply_text("Only the owner or an admin may use /retry.")
            raise ApplicationHandlerStop
        parts = (message.text or "").split()
        chat_id = _chat_id(parts[2] if len(parts) > 2 else "")
        if chat_id is None:
            await message.reply_text("Usage: /retry chat <chat id> (e.g. -1001234567890)")
            raise ApplicationHandlerStop
        pending = await self.revive(chat_id, f"/retry chat by {user.id if user else '?'}")
        if pending is None:
            await message.reply_text(f"Chat {chat_id} is not deactivated: nothing to retry.")
        else:
            await message.reply_text(
                f"Chat {chat_id} is active again; {pending} pending alert(s) are being sent."
                " If it still blocks the bot, it is deactivated again at the first one."
            )
        raise ApplicationHandlerStop  # the feed /retry must not see it

    async def revive(self, chat_id: int, why: str) -> int | None:
        """Reactivate; tell the admins and start a delivery pass. None: it was not inactive."""
        pending = self.repo.chats.reactivate(chat_id, self.clock())
        if pending is None:
            return None
        text = f"Chat {chat_id} is active again ({why}); {pending} pending alert(s) follow."
        log.warning("%s", text)
        try:
            await self.notify_admins(text)
            await self.kick()
        except Exception as exc:  # the next cycle's pass sends them anyway
            log.warning("after reactivating chat %s: %s", chat_id, exc)
        return pending


def _chat_id(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if -(2**63) < value < 2**63 else None


def revival_for(deliverer: Any) -> Callable[[], Awaitable[None]]:
    """A kick for a TelegramDeliverer or a BackgroundDeliverer around one."""

    async def kick() -> None:
        await deliverer.deliver([])

    return kick
