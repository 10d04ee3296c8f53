"""The outbox aggregate: deliveries (alerts, digests), story edits of sent messages, and
admin notices, from pending to sent, failed, skipped or bundled into a digest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.core.records import (
    AdminNotice,
    DeliveryKind,
    DeliveryStatus,
    HoldReason,
    NoticeStatus,
    OutboxRow,
    StoryEdit,
    delivery_kind,
    hold_reason,
)
from bot.core.story_edits import FIRST_MESSAGE_OUTLETS, StoryEditState
from storage.alerts import alert_record
from storage.columns import chunks, iso, json_list, parse_iso
from storage.sqlite_utils_loader import Database
from storage.transactions import transaction


class Outbox:
    """Reads and writes of ``deliveries`` and ``admin_notices`` (and a story's edit marks)."""

    def __init__(self, db: Database):
        self.db = db

    def pending(self, now: datetime, limit: int = 1000) -> list[OutboxRow]:
        """Pending rows due now for active chats, with their alert and story outlets."""
        rows = self.db.execute_returning_dicts(
            "SELECT d.id AS delivery_id, d.chat_id, d.thread_id, d.kind, d.attempts,"
            " d.payload, d.held, d.silent, s.outlets AS story_outlets, a.*"
            " FROM deliveries d LEFT JOIN alerts a ON a.id = d.alert_id"
            " LEFT JOIN stories s ON s.id = a.story_id"
            " LEFT JOIN chats c ON c.chat_id = d.chat_id"
            " WHERE d.status = ? AND (d.not_before IS NULL OR d.not_before <= ?)"
            " AND COALESCE(c.active, 1) = 1 ORDER BY d.id LIMIT ?",
            [DeliveryStatus.PENDING, iso(now), limit],
        )
        return [
            OutboxRow(
                delivery_id=int(row["delivery_id"]),
                chat_id=row["chat_id"],
                thread_id=row.get("thread_id"),
                kind=delivery_kind(row.get("kind")),
                attempts=int(row.get("attempts") or 0),
                payload=row.get("payload"),
                held=hold_reason(row.get("held")),
                silent=bool(row.get("silent")),
                alert=alert_record(row) if row.get("id") is not None else None,
                story_outlets=tuple(str(o) for o in json_list(row.get("story_outlets"))),
            )
            for row in rows
        ]

    def pending_delivery_count(self) -> int:
        """Deliveries still to send, of every chat and kind."""
        row = self.db.execute(
            "SELECT count(*) FROM deliveries WHERE status = ?", [DeliveryStatus.PENDING]
        ).fetchone()
        return int(row[0])

    def mark_sent(self, delivery_id: int, message_id: int | None, now: datetime) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE deliveries SET status = ?, message_id = ?, updated_at = ?,"
                " attempts = attempts + 1, last_error = NULL WHERE id = ?",
                [DeliveryStatus.SENT, message_id, iso(now), delivery_id],
            )

    def mark_failed(self, delivery_id: int, reason: str, now: datetime) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE deliveries SET status = ?, last_error = ?, updated_at = ?,"
                " attempts = attempts + 1 WHERE id = ?",
                [DeliveryStatus.FAILED, reason, iso(now), delivery_id],
            )

    def mark_retry(
        self, delivery_id: int, reason: str, not_before: datetime, now: datetime
    ) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE deliveries SET last_error = ?, not_before = ?, updated_at = ?,"
                " attempts = attempts + 1 WHERE id = ?",
                [reason, iso(not_before), iso(now), delivery_id],
            )

    def hold(self, holds: Sequence[tuple[int, datetime, HoldReason]], now: datetime) -> None:
        """Keep pending rows back until a time (quiet hours, daily digest), recording why."""
        with transaction(self.db):
            self.db.conn.executemany(
                "UPDATE deliveries SET not_before = ?, held = ?, updated_at = ?"
                " WHERE id = ? AND status = ?",
                [
                    (iso(until), why, iso(now), delivery_id, DeliveryStatus.PENDING)
                    for delivery_id, until, why in holds
                ],
            )

    def skip(self, skips: Sequence[tuple[int, str]], now: datetime) -> None:
        """Close pending rows that must not be sent (e.g. muted), with the reason."""
        with transaction(self.db):
            self.db.conn.executemany(
                "UPDATE deliveries SET status = ?, last_error = ?, updated_at = ?"
                " WHERE id = ? AND status = ?",
                [
                    (DeliveryStatus.SKIPPED, reason, iso(now), delivery_id, DeliveryStatus.PENDING)
                    for delivery_id, reason in skips
                ],
            )

    def bundle_into_digest(
        self,
        ids: Sequence[int],
        chat_id: int | str,
        thread_id: int | None,
        texts: Sequence[str],
        silent: bool,
        now: datetime,
    ) -> list[int]:
        """Atomically replace pending alert rows by digest rows (one per message text).

        The bundled rows become ``digested`` with ``digest_id`` = the first digest row.
        """
        new_ids: list[int] = []
        with transaction(self.db):
            for text in texts:
                cursor = self.db.execute(
                    "INSERT INTO deliveries (alert_id, chat_id, thread_id, kind, status, attempts,"
                    " created_at, updated_at, payload, silent)"
                    " VALUES (NULL, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
                    [
                        chat_id,
                        thread_id,
                        DeliveryKind.DIGEST,
                        DeliveryStatus.PENDING,
                        iso(now),
                        iso(now),
                        text,
                        1 if silent else 0,
                    ],
                )
                new_ids.append(int(cursor.lastrowid or 0))
            self.db.conn.executemany(
                "UPDATE deliveries SET status = ?, digest_id = ?, updated_at = ?"
                " WHERE id = ? AND status = ?",
                [
                    (
                        DeliveryStatus.DIGESTED,
                        new_ids[0],
                        iso(now),
                        delivery_id,
                        DeliveryStatus.PENDING,
                    )
                    for delivery_id in ids
                ],
            )
        return new_ids

    def queue_backlog_digest(
        self, chat_id: int, alert_ids: Sequence[int], texts: Sequence[str], now: datetime
    ) -> list[int]:
        """Queue a digest of waiting alerts for ``chat_id``, atomically: the digest rows, and
        one ``digested`` row per alert so they no longer count as waiting."""
        new_ids: list[int] = []
        with transaction(self.db):
            for text in texts:
                cursor = self.db.execute(
                    "INSERT INTO deliveries (alert_id, chat_id, thread_id, kind, status, attempts,"
                    " created_at, updated_at, payload, silent)"
                    " VALUES (NULL, ?, NULL, ?, ?, 0, ?, ?, ?, 1)",
                    [
                        chat_id,
                        DeliveryKind.DIGEST,
                        DeliveryStatus.PENDING,
                        iso(now),
                        iso(now),
                        text,
                    ],
                )
                new_ids.append(int(cursor.lastrowid or 0))
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO deliveries (alert_id, chat_id, kind, status, attempts,"
                " created_at, updated_at, digest_id)"
                " VALUES (?, ?, ?, ?, 0, ?, ?, ?)",
                [
                    (
                        alert_id,
                        chat_id,
                        DeliveryKind.ALERT,
                        DeliveryStatus.DIGESTED,
                        iso(now),
                        iso(now),
                        new_ids[0],
                    )
                    for alert_id in alert_ids
                ],
            )
        return new_ids

    def release_held(self, chat_id: int, reasons: Sequence[HoldReason], now: datetime) -> int:
        """Pending rows of a chat held for one of ``reasons`` (quiet, daily, hourly) are due
        now; they keep ``held``, so they go out together as one digest. Returns how many."""
        marks = ",".join("?" for _ in reasons)
        with transaction(self.db):
            cursor = self.db.execute(
                "UPDATE deliveries SET not_before = NULL, updated_at = ?"
                f" WHERE chat_id = ? AND status = ? AND held IN ({marks})",
                [iso(now), chat_id, DeliveryStatus.PENDING, *reasons],
            )
            return int(cursor.rowcount or 0)

    def story_edit_candidates(self, updated_since: datetime) -> list[StoryEditState]:
        """The stories whose messages name fewer outlets than the story now has, updated
        since ``updated_since``: the candidates. Whether and when one is edited (the
        interval, the window) is decided by ``bot.core.story_edits.edit_due``, not here."""
        return [
            StoryEditState(
                story_id=int(story_id),
                outlets=int(outlets or 0),
                outlets_shown=int(FIRST_MESSAGE_OUTLETS if shown is None else shown),
                last_edit_at=parse_iso(last_edit_at),
                updated_at=parse_iso(updated_at) or datetime.min.replace(tzinfo=UTC),
            )
            for story_id, outlets, shown, last_edit_at, updated_at in self.db.execute(
                "SELECT id, json_array_length(outlets), edited_outlets, last_edit_at, updated_at"
                " FROM stories WHERE updated_at >= ? AND first_alert_id IS NOT NULL"
                " AND json_array_length(outlets) > COALESCE(edited_outlets, ?) ORDER BY id",
                [iso(updated_since), FIRST_MESSAGE_OUTLETS],
            )
        ]

    def story_edit_messages(self, story_ids: Sequence[int]) -> list[StoryEdit]:
        """The sent first messages of these stories in chats still active, one per
        (story, chat message) with the first alert."""
        rows: list[dict[str, Any]] = []
        for chunk in chunks([str(i) for i in dict.fromkeys(story_ids)]):
            marks = ",".join("?" * len(chunk))
            rows.extend(
                self.db.execute_returning_dicts(
                    "SELECT s.id AS story_id, s.outlets AS story_outlets, d.id AS delivery_id,"
                    " d.chat_id, d.thread_id, d.message_id, a.*"
                    " FROM stories s JOIN deliveries d ON d.alert_id = s.first_alert_id"
                    " AND d.kind = ? AND d.status = ? AND d.message_id IS NOT NULL"
                    " JOIN alerts a ON a.id = s.first_alert_id"
                    " LEFT JOIN chats c ON c.chat_id = d.chat_id"
                    f" WHERE s.id IN ({marks}) AND COALESCE(c.active, 1) = 1"
                    " ORDER BY s.id, d.id",
                    [DeliveryKind.ALERT, DeliveryStatus.SENT, *chunk],
                )
            )
        return [
            StoryEdit(
                story_id=int(row["story_id"]),
                story_outlets=tuple(str(o) for o in json_list(row.get("story_outlets"))),
                delivery_id=int(row["delivery_id"]),
                chat_id=row["chat_id"],
                thread_id=row.get("thread_id"),
                message_id=int(row["message_id"]),
                alert=alert_record(row),
            )
            for row in rows
        ]

    def mark_story_edited(self, story_id: int, outlets_shown: int, now: datetime) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE stories SET edited_outlets = ?, last_edit_at = ? WHERE id = ?",
                [outlets_shown, iso(now), story_id],
            )

    def alert_chats(self, alert_id: int) -> set[int]:
        """Chats that an alert was routed to (any delivery status)."""
        return {
            int(r[0])
            for r in self.db.execute(
                "SELECT DISTINCT chat_id FROM deliveries WHERE alert_id = ?", [alert_id]
            )
        }

    def queue_admin_notice(self, admin_ids: Sequence[int], text: str, now: datetime) -> None:
        """One pending notice per admin, stored before any send is tried."""
        if not admin_ids:
            return
        with transaction(self.db):
            self.db.conn.executemany(
                "INSERT INTO admin_notices (admin_id, text, status, attempts, created_at)"
                " VALUES (?, ?, ?, 0, ?)",
                [(admin, text, NoticeStatus.PENDING, iso(now)) for admin in admin_ids],
            )

    def pending_admin_notices(self) -> list[AdminNotice]:
        """Unsent notices, oldest first."""
        return [
            AdminNotice(id=int(i), admin_id=int(admin), text=str(text), attempts=int(n or 0))
            for i, admin, text, n in self.db.execute(
                "SELECT id, admin_id, text, attempts FROM admin_notices WHERE status = ?"
                " ORDER BY id",
                [NoticeStatus.PENDING],
            )
        ]

    def mark_notice(
        self, notice_id: int, status: NoticeStatus, error: str | None, now: datetime
    ) -> None:
        """``sent``, ``failed`` (for good), or ``pending`` again after a failed attempt."""
        with transaction(self.db):
            self.db.execute(
                "UPDATE admin_notices SET status = ?, attempts = attempts + 1, last_error = ?,"
                " sent_at = COALESCE(?, sent_at) WHERE id = ?",
                [status, error, iso(now) if status is NoticeStatus.SENT else None, notice_id],
            )
