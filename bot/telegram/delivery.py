"""Drain the outbox to Telegram: send pending deliveries, record message ids, handle errors."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.alert_views import view_from_row
from bot.core.formatting import render_alert, render_plain
from storage.repository import Repository, StoredAlert

log = logging.getLogger("newswatch.delivery")

NETWORK_RETRIES = 3
BACKOFF_BASE = 1.0


def retry_after_seconds(exc: RetryAfter) -> float:
    value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramDeliverer:
    """Sends every pending delivery. One task per chat, so chats do not wait on each other."""

    def __init__(
        self,
        bot: Bot,
        repo: Repository,
        *,
        timezone: str,
        admin_ids: Sequence[int] = (),
        link_previews: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Any] = asyncio.sleep,
    ):
        self.bot = bot
        self.repo = repo
        self.timezone = timezone
        self.admin_ids = tuple(admin_ids)
        self.link_previews = link_previews
        self.clock = clock
        self.sleep = sleep
        self._lock = asyncio.Lock()

    async def deliver(self, new_alerts: Sequence[StoredAlert]) -> None:
        await self.drain()

    async def drain(self) -> int:
        """Send everything pending now. Returns how many messages were sent."""
        async with self._lock:
            rows = self.repo.pending_deliveries(self.clock())
            by_chat: defaultdict[int | str, list[dict[str, Any]]] = defaultdict(list)
            for row in rows:
                by_chat[row["chat_id"]].append(row)
            results = await asyncio.gather(
                *(self._drain_chat(chat_rows) for chat_rows in by_chat.values())
            )
            return sum(results)

    async def _drain_chat(self, rows: list[dict[str, Any]]) -> int:
        sent = 0
        for row in rows:
            outcome = await self._send_one(row)
            if outcome == "sent":
                sent += 1
            elif outcome == "chat-dead":
                break
        return sent

    async def _send_one(self, row: dict[str, Any]) -> str:
        delivery_id = int(row["delivery_id"])
        chat_id: int | str = row["chat_id"]
        text = row.get("payload") or render_alert(view_from_row(row), self.timezone)
        plain = False
        attempt = 0
        while True:
            try:
                message = await self.bot.send_message(
                    chat_id=chat_id,
                    text=render_plain(text) if plain else text,
                    parse_mode=None if plain else ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=not self.link_previews),
                    message_thread_id=row.get("thread_id"),
                    disable_notification=row.get("priority") == "digest",
                )
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                log.warning(
                    "telegram asked to wait %.0fs (429) before sending to %s", wait, chat_id
                )
                await self.sleep(wait)
                continue
            except ChatMigrated as exc:
                new_id = int(exc.new_chat_id)
                log.warning("chat %s became supergroup %s; following it", chat_id, new_id)
                self.repo.migrate_chat(chat_id, new_id)
                chat_id = new_id
                continue
            except Forbidden as exc:
                reason = f"forbidden: {exc.message}"
                self.repo.deactivate_chat(chat_id, reason, self.clock())
                self.repo.mark_failed(delivery_id, reason, self.clock())
                await self.notify_admins(f"Chat {chat_id} deactivated: {exc.message}")
                return "chat-dead"
            except BadRequest as exc:
                lowered = exc.message.lower()
                if "parse entities" in lowered and not plain:
                    log.warning(
                        "HTML rejected for delivery %s; resending as plain text", delivery_id
                    )
                    plain = True
                    continue
                self.repo.mark_failed(delivery_id, f"bad request: {exc.message}", self.clock())
                if "chat not found" in lowered:
                    await self.notify_admins(f"Chat {chat_id} not found: alerts cannot reach it.")
                    return "chat-dead"
                return "failed"
            except (TimedOut, NetworkError) as exc:
                attempt += 1
                if attempt > NETWORK_RETRIES:
                    later = self.clock() + timedelta(seconds=30)
                    self.repo.mark_retry(
                        delivery_id, f"network: {exc.message}", later, self.clock()
                    )
                    return "retry"
                await self.sleep(BACKOFF_BASE * 2 ** (attempt - 1))
                continue
            self.repo.mark_sent(delivery_id, message.message_id, self.clock())
            return "sent"

    async def notify_admins(self, text: str) -> None:
        log.warning("admin notice: %s", text)
        for admin in self.admin_ids:
            try:
                await self.bot.send_message(chat_id=admin, text=text)
            except Exception as exc:  # a notice must never break delivery
                log.warning("could not notify admin %s: %s", admin, type(exc).__name__)
