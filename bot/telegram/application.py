"""Build the python-telegram-bot Application: base URL, rate limiter, and command handlers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from bot.telegram.delivery import ALERT_REQUEST, ChatPacer, retry_after_seconds

log = logging.getLogger("newswatch.telegram")

PACED_ENDPOINTS = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup"}
)
REPLY_RETRIES = 3  # a command reply waits out this many 429s before it is given up


class PacedRateLimiter(AIORateLimiter):
    """AIORateLimiter, plus: command replies go through the deliverer's per-chat pacer
    (alerts first in a shared chat) and wait out a 429 instead of being dropped.

    The deliverer marks its own requests (``rate_limit_args=ALERT_REQUEST``): it paces them
    and honours 429 itself, so they pass straight through (no retry here).
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
        if rate_limit_args == ALERT_REQUEST or endpoint not in PACED_ENDPOINTS:
            return await super().process_request(callback, args, kwargs, endpoint, data, None)
        chat_id = data.get("chat_id")
        attempt = 0
        while True:
            if self.pacer is not None and chat_id is not None:
                await self._reply_turn(chat_id)
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, None)
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                attempt += 1
                if self.pacer is not None:
                    self.pacer.block(wait)
                if attempt > REPLY_RETRIES:
                    raise
                log.warning(
                    "telegram asked to wait %.0fs (429) before a reply to %s; waiting",
                    wait,
                    chat_id,
                )
                await asyncio.sleep(wait)

    async def _reply_turn(self, chat_id: Any) -> None:
        assert self.pacer is not None
        try:
            key: int | str = int(chat_id)
        except (TypeError, ValueError):
            key = str(chat_id)
        while (wait := self.pacer.reply_wait(key)) > 0:
            await asyncio.sleep(min(wait, 5.0))
        self.pacer.taken(key)


def build_application(token: str, api_url: str, pacer: ChatPacer | None = None) -> Application:
    """An Application talking to ``api_url`` (token appended), rate-limited like Telegram asks.

    AIORateLimiter keeps us under ~30 messages/s overall and 20/min per group; the deliverer
    handles RetryAfter on alerts itself so that it can honour it exactly; command replies
    share its per-chat ``pacer`` (PacedRateLimiter).
    """
    builder: ApplicationBuilder = (
        Application.builder()
        .token(token)
        .base_url(api_url)
        .base_file_url(api_url.replace("/bot", "/file/bot"))
        .rate_limiter(PacedRateLimiter(pacer))
        .concurrent_updates(False)
    )
    return builder.build()
