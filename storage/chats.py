"""The chats aggregate: alert chats (deactivated, migrated, revived), their settings (mutes,
quiet hours, digests, minimum severities) and Telegram updates deferred at shutdown."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.incidents import Severity
from bot.core.records import (
    KEEP,
    DeliveryStatus,
    DigestMode,
    Keep,
    Mute,
    MuteKind,
    NoticeStatus,
    SeverityPrefs,
    StoredChatPrefs,
    digest_mode,
)
from storage.access import log_access
from storage.columns import iso, parse_iso
from storage.sqlite_utils_loader import Database
from storage.transactions import transaction


class ChatStore:
    """Reads and writes of ``chats``, ``mutes``, ``chat_prefs``, ``severity_prefs`` and
    ``deferred_updates``."""

    def __init__(self, db: Database):
        self.db = db

    def deactivate(self, chat_id: int | str, reason: str, now: datetime) -> None:
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO chats (chat_id, active, added_at, deactivated_at, deactivated_reason)"
                " VALUES (?, 0, ?, ?, ?) ON CONFLICT(chat_id) DO UPDATE SET active = 0,"
                " deactivated_at = excluded.deactivated_at,"
                " deactivated_reason = excluded.deactivated_reason",
                [chat_id, iso(now), iso(now), reason],
            )

    def migrate(self, old_id: int | str, new_id: int) -> None:
        """Follow a group upgraded to a supergroup: pending rows and the chat record move.

        The old id is remembered (``chats.migrated_to``) so that alerts still routed to it
        (configuration not yet updated) follow too: see follow_chat_migrations.
        """
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO chats (chat_id, active) VALUES (?, 1) ON CONFLICT(chat_id) DO NOTHING",
                [new_id],
            )
            self.db.execute(
                "INSERT INTO chats (chat_id, active, migrated_to, deactivated_reason)"
                " VALUES (?, 0, ?, ?) ON CONFLICT(chat_id) DO UPDATE SET active = 0,"
                " migrated_to = excluded.migrated_to,"
                " deactivated_reason = excluded.deactivated_reason",
                [old_id, new_id, f"migrated to {new_id}"],
            )
            self._move_chat_settings(old_id, new_id)
            self._follow_migrations()

    def _move_chat_settings(self, old_id: int | str, new_id: int) -> None:
        """Mutes, quiet hours, digest and severity settings and a subscription follow the
        chat to its new id (they were lost). Settings the new id already has win."""
        for table in ("chat_prefs", "severity_prefs", "subscriptions"):
            self.db.execute(
                f"UPDATE OR IGNORE {table} SET chat_id = ? WHERE chat_id = ?", [new_id, old_id]
            )
            self.db.execute(f"DELETE FROM {table} WHERE chat_id = ?", [old_id])
        self.db.execute(
            "UPDATE mutes SET chat_id = ? WHERE chat_id = ? AND NOT EXISTS (SELECT 1 FROM mutes m"
            " WHERE m.chat_id = ? AND m.kind = mutes.kind AND lower(m.value) = lower(mutes.value))",
            [new_id, old_id, new_id],
        )
        self.db.execute("DELETE FROM mutes WHERE chat_id = ?", [old_id])

    def follow_migrations(self) -> int:
        """Move pending rows of migrated chats to their new id. Returns how many moved."""
        with transaction(self.db):
            return self._follow_migrations()

    def _follow_migrations(self) -> int:
        moved = self.db.execute(
            "UPDATE OR IGNORE deliveries SET chat_id = (SELECT migrated_to FROM chats"
            " WHERE chats.chat_id = deliveries.chat_id) WHERE status = ? AND chat_id IN"
            " (SELECT chat_id FROM chats WHERE migrated_to IS NOT NULL)",
            [DeliveryStatus.PENDING],
        ).rowcount
        # rows left behind already had a twin for the new id (both ids were configured)
        self.db.execute(
            "UPDATE deliveries SET status = ?, last_error = 'duplicate after chat"
            " migration' WHERE status = ? AND chat_id IN"
            " (SELECT chat_id FROM chats WHERE migrated_to IS NOT NULL)",
            [DeliveryStatus.SKIPPED, DeliveryStatus.PENDING],
        )
        return int(moved or 0)

    def inactive(self) -> set[int]:
        return {int(r[0]) for r in self.db.execute("SELECT chat_id FROM chats WHERE active = 0")}

    def is_revivable(self, chat_id: int) -> bool:
        """True for a chat deactivated by an error (403 …), not one migrated to a new id."""
        row = self.db.execute(
            "SELECT 1 FROM chats WHERE chat_id = ? AND active = 0 AND migrated_to IS NULL",
            [chat_id],
        ).fetchone()
        return row is not None

    def reactivate(self, chat_id: int, now: datetime) -> int | None:
        """Make a deactivated chat active again; its pending alerts go with the next drain.

        Notices that failed because that chat had blocked the bot are pending again too.
        Returns the chat's pending deliveries, or None when it was not deactivated.
        """
        with transaction(self.db):
            cursor = self.db.execute(
                "UPDATE chats SET active = 1, deactivated_at = NULL, deactivated_reason = NULL"
                " WHERE chat_id = ? AND active = 0 AND migrated_to IS NULL",
                [chat_id],
            )
            if not cursor.rowcount:
                return None
            self.db.execute(
                "UPDATE admin_notices SET status = ? WHERE admin_id = ?"
                " AND status = ? AND last_error LIKE 'Forbidden%'",
                [NoticeStatus.PENDING, chat_id, NoticeStatus.FAILED],
            )
            log_access(self.db, None, "chat reactivated", None, chat_id, "", now)
            row = self.db.execute(
                "SELECT count(*) FROM deliveries WHERE chat_id = ? AND status = ?",
                [chat_id, DeliveryStatus.PENDING],
            ).fetchone()
        return int(row[0])

    def add_mute(
        self,
        chat_id: int,
        kind: MuteKind,
        value: str,
        until: datetime | None,
        created_by: int | None,
        now: datetime,
    ) -> int:
        """Mute an entity or a source in a chat until ``until``.

        An existing mute of the same value in the chat is replaced, not duplicated.
        """
        with transaction(self.db):
            self.db.execute(
                "DELETE FROM mutes WHERE chat_id = ? AND kind = ? AND lower(value) = lower(?)",
                [chat_id, kind, value],
            )
            cursor = self.db.execute(
                "INSERT INTO mutes (chat_id, kind, value, until, created_at, created_by)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [chat_id, kind, value, iso(until), iso(now), created_by],
            )
            return int(cursor.lastrowid or 0)

    def active_mutes(self, chat_id: int, now: datetime) -> list[Mute]:
        """Mutes in force in a chat now (``until`` None means until removed)."""
        return [
            Mute(
                id=int(i),
                chat_id=int(chat),
                kind=MuteKind(kind),
                value=str(value),
                until=parse_iso(until),
                created_at=parse_iso(created_at),
                created_by=created_by,
            )
            for i, chat, kind, value, until, created_at, created_by in self.db.execute(
                "SELECT id, chat_id, kind, value, until, created_at, created_by FROM mutes"
                " WHERE chat_id = ? AND (until IS NULL OR until > ?) ORDER BY id",
                [chat_id, iso(now)],
            )
            if kind in MuteKind.__members__.values()
        ]

    def remove_mute(self, chat_id: int, kind: MuteKind, value: str) -> int:
        """Lift a mute; returns how many were removed (0 when there was none)."""
        with transaction(self.db):
            cursor = self.db.execute(
                "DELETE FROM mutes WHERE chat_id = ? AND kind = ? AND lower(value) = lower(?)",
                [chat_id, kind, value],
            )
            return int(cursor.rowcount or 0)

    def severity_prefs(self, chat_id: int) -> SeverityPrefs:
        """A chat's minimum severity per entity (casefolded name, or "*" for every entity);
        a stored level that is no ``Severity`` goes to ``unknown``, never raises."""
        minimums: dict[str, Severity] = {}
        unknown: dict[str, str] = {}
        for entity, level in self.db.execute(
            "SELECT entity, min_severity FROM severity_prefs WHERE chat_id = ? ORDER BY entity",
            [chat_id],
        ):
            try:
                minimums[str(entity)] = Severity(level)
            except ValueError:
                unknown[str(entity)] = str(level)
        return SeverityPrefs(minimums, unknown)

    def set_severity_pref(
        self, chat_id: int, entity: str, min_severity: Severity | None, now: datetime
    ) -> None:
        """Set (or with None clear) a chat's minimum severity for an entity ("*": all)."""
        with transaction(self.db):
            if min_severity is None:
                self.db.execute(
                    "DELETE FROM severity_prefs WHERE chat_id = ? AND entity = ?",
                    [chat_id, entity],
                )
            else:
                self.db.execute(
                    "INSERT INTO severity_prefs (chat_id, entity, min_severity, updated_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT(chat_id, entity) DO UPDATE SET"
                    " min_severity = excluded.min_severity, updated_at = excluded.updated_at",
                    [chat_id, entity, min_severity, iso(now)],
                )

    def clear_severity_prefs(self, chat_id: int) -> None:
        with transaction(self.db):
            self.db.execute("DELETE FROM severity_prefs WHERE chat_id = ?", [chat_id])

    def prefs(self, chat_id: int) -> StoredChatPrefs | None:
        """A chat's quiet hours and digest settings as stored, or None when it has none."""
        row = self.db.execute(
            "SELECT quiet_start, quiet_end, digest_mode, digest_time FROM chat_prefs"
            " WHERE chat_id = ?",
            [chat_id],
        ).fetchone()
        if row is None:
            return None
        quiet_start, quiet_end, mode, digest_time = row
        return StoredChatPrefs(
            chat_id=chat_id,
            quiet_start=quiet_start or None,
            quiet_end=quiet_end or None,
            digest_mode=digest_mode(mode),
            digest_time=digest_time or None,
        )

    def set_prefs(
        self,
        chat_id: int,
        now: datetime,
        *,
        quiet_start: str | Keep | None = KEEP,
        quiet_end: str | Keep | None = KEEP,
        digest_mode: DigestMode | Keep = KEEP,
        digest_time: str | Keep | None = KEEP,
    ) -> None:
        """Set the given ones of quiet_start, quiet_end ("HH:MM" or None), digest_mode and
        digest_time ("HH:MM" or None); those left at KEEP are not changed."""
        given: dict[str, object] = {
            name: value
            for name, value in (
                ("quiet_start", quiet_start),
                ("quiet_end", quiet_end),
                ("digest_mode", digest_mode),
                ("digest_time", digest_time),
            )
            if value is not KEEP
        }
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO chat_prefs (chat_id, updated_at) VALUES (?, ?)"
                " ON CONFLICT(chat_id) DO NOTHING",
                [chat_id, iso(now)],
            )
            if given:
                assignments = ", ".join(f"[{name}] = ?" for name in given)
                self.db.execute(
                    f"UPDATE chat_prefs SET {assignments}, updated_at = ? WHERE chat_id = ?",
                    [*given.values(), iso(now), chat_id],
                )

    def log_setting_change(
        self, actor: int | None, chat_id: int, detail: str, now: datetime
    ) -> None:
        """Audit a change of a chat's alert settings (/mute, /quiet, /digest …)."""
        with transaction(self.db):
            log_access(self.db, actor, "chat setting", None, chat_id, detail, now)

    def defer_updates(self, payloads: Sequence[tuple[int, str]], now: datetime) -> None:
        """Keep Telegram updates (update id, JSON) not answered at shutdown for the next start."""
        with transaction(self.db):
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO deferred_updates (update_id, payload, deferred_at)"
                " VALUES (?, ?, ?)",
                [(update_id, payload, iso(now)) for update_id, payload in payloads],
            )

    def take_deferred_updates(self, since: datetime) -> list[str]:
        """The deferred updates not older than ``since`` (JSON, in order); all are removed."""
        with transaction(self.db):
            rows = self.db.execute(
                "SELECT payload FROM deferred_updates WHERE deferred_at >= ? ORDER BY update_id",
                [iso(since)],
            ).fetchall()
            self.db.execute("DELETE FROM deferred_updates")
        return [str(r[0]) for r in rows]
