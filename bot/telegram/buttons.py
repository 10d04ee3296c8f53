"""Inline "Mute <entity> 24h" / "Mute <source> 24h" buttons under alerts and their callbacks."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot.core.errors import ButtonExpired
from bot.core.ports import DeliveryStore
from bot.core.records import MuteKind, Role

log = logging.getLogger("newswatch.buttons")

MUTE_HOURS = 24
MAX_ENTITY_BUTTONS = 3
LABEL_CHARS = 28
# callback_data is at most 64 bytes: refer to the alert by id, never carry names in it.
_DATA = re.compile(r"^mute:(e|s):(\d{1,12})(?::(\d{1,2}))?$")


def _label(name: str) -> str:
    name = " ".join(name.split())
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


def alert_keyboard(
    alert_id: int, entities: Sequence[str], source: str
) -> InlineKeyboardMarkup | None:
    """One row per mute button: each matched entity (up to 3), then the source."""
    rows = [
        [
            InlineKeyboardButton(
                f"Mute {_label(e)} {MUTE_HOURS}h", callback_data=f"mute:e:{alert_id}:{i}"
            )
        ]
        for i, e in enumerate(entities[:MAX_ENTITY_BUTTONS])
        if e
    ]
    if source:
        rows.append(
            [
                InlineKeyboardButton(
                    f"Mute {_label(source)} {MUTE_HOURS}h", callback_data=f"mute:s:{alert_id}"
                )
            ]
        )
    return InlineKeyboardMarkup(rows) if rows else None


@dataclass(frozen=True, slots=True)
class MuteTarget:
    """What a mute button mutes: an ``entity`` or a ``source``, by name."""

    kind: MuteKind
    value: str


class MuteButtons:
    """Handles presses of the mute buttons: the mute applies at once and is confirmed."""

    def __init__(
        self,
        repo: DeliveryStore,
        *,
        admin_ids: Sequence[int] = (),
        timezone: str = "Africa/Bamako",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.repo = repo
        self.admin_ids = set(admin_ids)
        self.zone = ZoneInfo(timezone)
        self.clock = clock

    def resolve(self, data: str, chat_id: int, user_id: int | None) -> MuteTarget:
        """What to mute for a button's data in a chat; ButtonExpired says why nothing."""
        match = _DATA.match(data or "")
        if not match:
            raise ButtonExpired("This button is not valid any more.")
        code, alert_id, index = match.group(1), int(match.group(2)), match.group(3)
        rows = self.repo.alerts.alerts_by_ids([alert_id])
        if not rows:
            raise ButtonExpired("This alert is no longer stored, so it cannot be muted from here.")
        if chat_id not in self.repo.outbox.alert_chats(alert_id) and user_id not in self.admin_ids:
            raise ButtonExpired("This alert was not sent to this chat.")
        alert = rows[0]
        if code == "s":
            source = alert.source
            if not source:
                raise ButtonExpired("This alert has no source to mute.")
            return MuteTarget(MuteKind.SOURCE, source)
        entities = alert.entities
        position = int(index or 0)
        if position >= len(entities):
            raise ButtonExpired("This button is not valid any more.")
        return MuteTarget(MuteKind.ENTITY, str(entities[position]))

    async def on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        chat = update.effective_chat
        user = update.effective_user
        if chat is None:
            await query.answer("This button only works in the chat of the alert.")
            return
        try:
            target = self.resolve(query.data or "", chat.id, user.id if user else None)
        except ButtonExpired as exc:
            await query.answer(str(exc), show_alert=True)
            return
        kind, value = target.kind, target.value
        user_id = user.id if user else None
        if chat.type in ("group", "supergroup") and not await self._group_admin(
            context, chat.id, user_id
        ):
            await query.answer(
                "Only this group's admins (or the bot's owner and admins) can mute it.",
                show_alert=True,
            )
            return
        now = self.clock()
        until = now + timedelta(hours=MUTE_HOURS)
        self.repo.chats.add_mute(chat.id, kind, value, until, user_id, now)
        self.repo.chats.log_setting_change(
            user_id, chat.id, f"mute button: {kind} {value} 24h", now
        )
        local = until.astimezone(self.zone)
        label = self.zone.key.split("/")[-1].replace("_", " ")
        log.info("chat %s muted %s %r until %s", chat.id, kind, value, until.isoformat())
        await query.answer(
            f"Muted {value} for {MUTE_HOURS} h (until {local:%d %b %H:%M} {label}).",
            show_alert=False,
        )

    async def _group_admin(
        self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, user_id: int | None
    ) -> bool:
        """A bot admin or owner, or an admin of this Telegram group: a mute button changes the
        group's alerts, as /mute does."""
        if user_id is None:
            return False
        if user_id in self.admin_ids or self.repo.access.users().get(user_id) is Role.OWNER:
            return True
        try:
            member = await context.bot.get_chat_member(chat_id, user_id)
        except Exception as exc:  # cannot tell: refuse
            log.warning("getChatMember for %s in %s failed: %s", user_id, chat_id, exc)
            return False
        return member.status in ("administrator", "creator")

    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        app.add_handler(CallbackQueryHandler(self.on_press, pattern=r"^mute:"))
