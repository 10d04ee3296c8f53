"""Console delivery: print alerts to stdout when no Telegram token is configured."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from bot.alert_views import view_from_row
from bot.core.formatting import render_alert, render_plain
from storage.repository import Repository, StoredAlert

CONNECT_HINT = (
    "Telegram is not connected: alerts are printed here. To receive them in Telegram, create a"
    " bot with @BotFather, then set TELEGRAM_BOT_TOKEN and NEWSWATCH_CHAT_IDS (see README)."
)


class ConsoleDeliverer:
    """Prints each new alert as the plain-text form of the Telegram message."""

    def __init__(self, repo: Repository, timezone: str, out: TextIO | None = None):
        self.repo = repo
        self.timezone = timezone
        self.out = out or sys.stdout
        self._hinted = False

    async def hint(self) -> None:
        """Say once how to connect Telegram (at start-up of `run`, else with the first alerts)."""
        if not self._hinted:
            print(CONNECT_HINT, file=self.out, flush=True)
            self._hinted = True

    async def deliver(self, new_alerts: Sequence[StoredAlert]) -> None:
        await self.hint()
        rows = self.repo.alerts_by_ids([a.alert_id for a in new_alerts])
        for row in rows:
            text = render_plain(render_alert(view_from_row(row), self.timezone))
            print("─" * 60, file=self.out)
            print(text, file=self.out)
        self.out.flush()

    async def notify_admins(self, text: str) -> None:
        print(f"[admin] {text}", file=self.out, flush=True)
