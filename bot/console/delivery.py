"""Console delivery: print alerts to stdout when no Telegram token is configured."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.core.alert_views import alert_view
from bot.core.delivery_policy import ChatPrefs, DigestWhy, Pending, digest_header, plan_chat
from bot.core.formatting import AlertView, render_alert, render_plain
from bot.core.models import StoredAlert
from bot.core.ports import AlertStore
from bot.core.records import AlertRecord, DeliveryKind, Priority

CONNECT_HINT = (
    "Telegram is not connected: alerts are printed here. To receive them in Telegram, create a"
    " bot with @BotFather, then set TELEGRAM_BOT_TOKEN and NEWSWATCH_CHAT_IDS (see README)."
)
RULE = "─" * 60


class ConsoleDeliverer:
    """Prints each new alert as the plain-text form of the Telegram message, its link under
    it; more than ``digest_threshold`` at once are printed as one digest, as in Telegram
    (``bot.core.delivery_policy.plan_chat``: urgent alerts keep their own message)."""

    def __init__(
        self,
        repo: AlertStore,
        timezone: str,
        out: TextIO | None = None,
        *,
        digest_threshold: int = 10,
    ):
        self.repo = repo
        self.timezone = timezone
        self.out = out or sys.stdout
        self.digest_threshold = digest_threshold
        self._hinted = False

    async def hint(self) -> None:
        """Say once how to connect Telegram (at start-up of `run`, else with the first alerts)."""
        if not self._hinted:
            print(CONNECT_HINT, file=self.out, flush=True)
            self._hinted = True

    async def deliver(self, new_alerts: Sequence[StoredAlert]) -> None:
        await self.hint()
        rows = {r.id: r for r in self.repo.alerts.alerts_by_ids([a.alert_id for a in new_alerts])}
        if not rows:
            return
        plan = plan_chat(
            [Pending(alert_id, DeliveryKind.ALERT, row.priority) for alert_id, row in rows.items()],
            ChatPrefs(),
            datetime.now(UTC),
            ZoneInfo(self.timezone),
            self.digest_threshold,
        )
        for alert_id in plan.send:
            self._print_alert(rows[alert_id])
        for why, ids in plan.digests:
            self._print_digest(why, [alert_view(rows[i]) for i in ids])
        self.out.flush()

    def _print_alert(self, alert: AlertRecord) -> None:
        view = alert_view(alert)
        print(RULE, file=self.out)
        print(render_plain(render_alert(view, self.timezone)), file=self.out)
        if view.link:
            print(view.link, file=self.out)

    def _print_digest(self, why: DigestWhy, views: list[AlertView]) -> None:
        print(RULE, file=self.out)
        print(digest_header(why, len(views)), file=self.out)
        for view in views:
            when = view.when
            stamp = f"{when.astimezone(UTC):%m-%d %H:%M} UTC · " if when else ""
            marker = "🚨 " if view.priority is Priority.URGENT else ""
            entities = ", ".join(view.entities) or "match"
            print(f"• {marker}{view.title} — {entities} ({stamp}{view.source})", file=self.out)
            if view.link:
                print(f"  {view.link}", file=self.out)

    async def notify_admins(self, text: str) -> None:
        print(f"[admin] {text}", file=self.out, flush=True)
