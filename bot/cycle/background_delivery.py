"""Deliver in the background so a cycle never waits on Telegram's rate limits (``run`` mode)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from bot.core.models import StoredAlert

log = logging.getLogger("newswatch.delivery")


class BackgroundDeliverer:
    """Wraps a deliverer: ``deliver`` returns at once and one background task sends.

    Alerts are already committed in the outbox when ``deliver`` is called, so nothing is lost
    if the task is cancelled at shutdown: pending rows are sent by the next start. Calls that
    arrive while a delivery runs are coalesced into one more pass.
    """

    def __init__(self, inner: Any):
        self.inner = inner
        self._batch: list[StoredAlert] = []
        self._task: asyncio.Task[None] | None = None

    async def deliver(self, new_alerts: Sequence[StoredAlert]) -> None:
        self._batch.extend(new_alerts)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="newswatch-delivery")

    async def _run(self) -> None:
        while True:
            batch, self._batch = self._batch, []
            try:
                await self.inner.deliver(batch)
            except Exception:  # the rows stay pending; the next pass or start sends them
                log.exception("delivery pass failed")
            if not self._batch:
                return

    async def notify_admins(self, text: str) -> None:
        await self.inner.notify_admins(text)

    @property
    def storage_error(self) -> str | None:
        return getattr(self.inner, "storage_error", None)

    async def finish(self, timeout: float) -> bool:
        """Wait for the running pass up to ``timeout`` s, then cancel it. True if it finished."""
        task = self._task
        if task is None or task.done():
            return True
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(task)
            return True
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            log.warning("delivery interrupted at shutdown; unsent alerts stay pending")
            return False
