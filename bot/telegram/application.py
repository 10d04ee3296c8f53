"""Build the python-telegram-bot Application: base URL, rate limiter, and command handlers."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from bot.telegram.delivery import ALERT_REQUEST, ChatPacer
from bot.telegram.retries import RetryPolicy, TelegramDeferred, with_telegram_retries

log = logging.getLogger("newswatch.telegram")

PACED_ENDPOINTS = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup"}
)
# Requests of command and button handlers that are retried: replies and button answers.
RETRIED_ENDPOINTS = PACED_ENDPOINTS | {"answerCallbackQuery"}
REPLY_RETRIES = 3  # a command reply waits out this many 429s before it is given up
# Replies and button answers: three 429s waited out, two network errors or 5xx retried.
REPLY_POLICY = RetryPolicy(network_retries=2, backoff_base=1.0, retry_after_waits=REPLY_RETRIES)


class PacedRateLimiter(AIORateLimiter):
    """AIORateLimiter, plus: every request of a command or button handler (replies, button
    answers) goes through ``with_telegram_retries``: replies are paced by the deliverer's
    per-chat pacer (alerts first in a shared chat), a 429 is waited out and a network error
    retried instead of the reply being dropped.

    The deliverer marks its own requests (``rate_limit_args=ALERT_REQUEST``): it paces them
    and retries them itself (the same function), so they pass straight through.
    """

    def __init__(self, pacer: ChatPacer | None = None):
        super().__init__(max_retries=0)
        self.pacer = pacer

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        request = partial(super().process_request, callback, args, kwargs, endpoint, data, None)
        if rate_limit_args == ALERT_REQUEST or endpoint not in RETRIED_ENDPOINTS:
            return await request()
        chat_id = data.get("chat_id")
        pacer = self.pacer

        async def turn() -> bool:
            await self._reply_turn(chat_id)
            return True

        paced = pacer is not None and chat_id is not None and endpoint in PACED_ENDPOINTS
        try:
            return await with_telegram_retries(
                request,
                REPLY_POLICY,
                turn=turn if paced else None,
                on_retry_after=pacer.block if pacer is not None else None,
                label=f"before a reply to {chat_id}" if chat_id is not None else f"({endpoint})",
            )
        except TelegramDeferred as exc:  # PTB's handlers see Telegram's own error
            if exc.cause is not None:
                raise exc.cause from None
            raise

    async def _reply_turn(self, chat_id: Any) -> None:
        assert self.pacer is not None
        try:
            key: int | str = int(chat_id)
        except (TypeError, ValueError):
            key = str(chat_id)
        while (wait := self.pacer.reply_wait(key)) > 0:
            await asyncio.sleep(min(wait, 5.0))
        self.pacer.taken(key)


def build_application(
    token: str, api_url: str, pacer: ChatPacer | None = None
) -> Application[Any, Any, Any, Any, Any, Any]:
    """An Application talking to ``api_url`` (token appended), rate-limited like Telegram asks.

    AIORateLimiter keeps us under ~30 messages/s overall and 20/min per group; the deliverer
    handles RetryAfter on alerts itself so that it can honour it exactly; command replies
    share its per-chat ``pacer`` (PacedRateLimiter).
    """
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        Application.builder()
        .token(token)
        .base_url(api_url)
        .base_file_url(api_url.replace("/bot", "/file/bot"))
        .rate_limiter(PacedRateLimiter(pacer))
        .concurrent_updates(False)
    )
    return builder.build()
