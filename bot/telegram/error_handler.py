"""The one python-telegram-bot error handler: log an unhandled error with its context and
tell the owner once per kind of error and period, as PTB's ``errorhandlerbot`` example does.

Every exception a handler lets through (command bodies re-raise theirs after answering the
user) reaches ``ErrorReporter.on_error``. It logs one ERROR with what was being handled (the
update's kind, chat, user and command; never the message text beyond the command word, and
never the token) and the traceback. The owner and admins get one notice per distinct kind
(the exception type and the command or update kind) per ``period``, through the same
notice queue as "feed paused" (so a notice survives an outage); errors of a kind already
reported in the period are only logged, and the next notice says how many there were.
Transient Telegram failures (network, 5xx, 429), already waited out by
``with_telegram_retries`` and reported by the deliverer as an outage, are one WARNING.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import Application, CallbackContext

from bot.telegram.retries import is_transient

log = logging.getLogger("newswatch.telegram")

ERROR_NOTICE_PERIOD = timedelta(hours=1)
_UPDATE_KINDS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "callback_query",
    "inline_query",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
)


@dataclass(frozen=True, slots=True)
class UpdateContext:
    """What an update was about, as far as an error report needs it."""

    kind: str  # "message", "callback_query", ... or "none" (a job, not an update)
    chat_id: int | None = None
    user_id: int | None = None
    command: str | None = None  # "/search", or a button's action ("button mute")

    @property
    def where(self) -> str:
        """The part of the error kind that is not the exception: the command, or the kind."""
        return self.command or self.kind

    def describe(self) -> str:
        parts = [self.command or self.kind]
        if self.chat_id is not None:
            parts.append(f"chat {self.chat_id}")
        if self.user_id is not None:
            parts.append(f"user {self.user_id}")
        return ", ".join(parts)


def describe_update(update: object) -> UpdateContext:
    """The context of ``update`` (any object PTB passes: an Update, None for a job, ...)."""
    if not isinstance(update, Update):
        return UpdateContext(kind="none" if update is None else type(update).__name__)
    kind = next((k for k in _UPDATE_KINDS if getattr(update, k, None) is not None), "update")
    chat = update.effective_chat
    user = update.effective_user
    command = None
    message = update.effective_message
    if update.callback_query is not None:
        action = (update.callback_query.data or "").split(":", 1)[0][:32]
        command = f"button {action}" if action else "button"
    elif message is not None and (message.text or "").startswith("/"):
        word = (message.text or "").split(maxsplit=1)[0]
        command = word.split("@", 1)[0][:64]
    return UpdateContext(
        kind=kind,
        chat_id=chat.id if chat else None,
        user_id=user.id if user else None,
        command=command,
    )


class ErrorReporter:
    """Registered with ``Application.add_error_handler``; ``notify`` queues an admin notice
    (``TelegramDeliverer.notify_admins``)."""

    def __init__(
        self,
        notify: Callable[[str], Awaitable[None]] | None,
        *,
        period: timedelta = ERROR_NOTICE_PERIOD,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.notify = notify
        self.period = period
        self.clock = clock
        self._told_at: dict[tuple[str, str], datetime] = {}
        self._since_told: dict[tuple[str, str], int] = {}

    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        app.add_error_handler(self.on_error)

    async def on_error(self, update: object, context: CallbackContext[Any, Any, Any, Any]) -> None:
        error = context.error
        if error is None:
            return
        where = describe_update(update)
        name = type(error).__name__
        if isinstance(error, RetryAfter) or is_transient(error):
            log.warning("Telegram failed while handling %s: %s", where.describe(), name)
            return
        log.error(
            "unhandled %s while handling %s",
            name,
            where.describe(),
            exc_info=(type(error), error, error.__traceback__),
        )
        key = (name, where.where)
        now = self.clock()
        told = self._told_at.get(key)
        if told is not None and now - told < self.period:
            self._since_told[key] = self._since_told.get(key, 0) + 1
            return
        self._told_at[key] = now
        repeats = self._since_told.pop(key, 0)
        await self._tell(self._notice(name, where, repeats))

    def _notice(self, name: str, where: UpdateContext, repeats: int) -> str:
        minutes = int(self.period.total_seconds() // 60)
        text = (
            f"newswatch: an internal error ({name}) while handling {where.describe()}."
            " The traceback is in the bot's log."
        )
        if repeats:
            text += f" It happened {repeats} more time(s) since the last notice."
        return text + f" The same error is reported at most once in {minutes} minutes."

    async def _tell(self, text: str) -> None:
        if self.notify is None:
            return
        try:
            await self.notify(text)
        except Exception as exc:  # boundary: a notice must never raise out of the handler
            log.warning("could not queue the error notice: %s", type(exc).__name__)
