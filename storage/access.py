"""The access aggregate: bot users and their roles, subscribed chats, and the access log."""

from __future__ import annotations

from datetime import datetime

from bot.core.records import AccessEntry, DeliveryKind, DeliveryStatus, Role, role
from storage.columns import iso, parse_iso
from storage.sqlite_utils_loader import Database
from storage.transactions import transaction


def log_access(
    db: Database,
    actor: int | None,
    action: str,
    user_id: int | None,
    chat_id: int | None,
    detail: str,
    now: datetime,
) -> None:
    db.execute(
        "INSERT INTO access_log (at, actor, action, user_id, chat_id, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [iso(now), actor, action, user_id, chat_id, detail],
    )


class AccessStore:
    """Reads and writes of ``users``, ``subscriptions`` and ``access_log``."""

    def __init__(self, db: Database):
        self.db = db

    def users(self) -> dict[int, Role]:
        """Every known bot user and their role (owner | allowed | denied)."""
        return {int(r[0]): role(r[1]) for r in self.db.execute("SELECT user_id, role FROM users")}

    def set_user_role(
        self,
        user_id: int,
        role: Role,
        *,
        actor: int | None,
        now: datetime,
        chat_id: int | None = None,
        detail: str = "",
    ) -> None:
        """Give ``user_id`` a role and record who did it in ``access_log``, atomically."""
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO users (user_id, role, added_at, added_by, chat_id)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET role = excluded.role,"
                " added_at = excluded.added_at, added_by = excluded.added_by",
                [user_id, role, iso(now), actor, chat_id],
            )
            log_access(self.db, actor, role, user_id, chat_id, detail, now)

    def claim_owner(self, user_id: int, chat_id: int, now: datetime) -> bool:
        """Make ``user_id`` the owner and subscribe ``chat_id``, unless an owner already exists."""
        with transaction(self.db):
            if self.db.execute("SELECT 1 FROM users WHERE role = ?", [Role.OWNER]).fetchone():
                return False
            self.db.execute(
                "INSERT INTO users (user_id, role, added_at, added_by, chat_id)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET role = excluded.role,"
                " added_at = excluded.added_at, added_by = excluded.added_by",
                [user_id, Role.OWNER, iso(now), user_id, chat_id],
            )
            log_access(self.db, user_id, "paired", user_id, chat_id, "pairing code accepted", now)
            self._subscribe(chat_id, user_id, now)
        return True

    def subscribe_chat(self, chat_id: int, *, actor: int | None, now: datetime) -> bool:
        """Make ``chat_id`` an alert chat; False when it already was one. A chat that was
        deactivated (the bot was blocked or removed) is active again."""
        with transaction(self.db):
            added = self._subscribe(chat_id, actor, now)
            self.db.execute(
                "UPDATE chats SET active = 1, deactivated_at = NULL, deactivated_reason = NULL"
                " WHERE chat_id = ? AND active = 0",
                [chat_id],
            )
            return added

    def unsubscribe_chat(self, chat_id: int, *, actor: int | None, now: datetime) -> bool:
        """Stop sending alerts to ``chat_id``; its pending alerts are skipped, not sent later."""
        with transaction(self.db):
            cursor = self.db.execute("DELETE FROM subscriptions WHERE chat_id = ?", [chat_id])
            if cursor.rowcount:
                log_access(self.db, actor, "unsubscribed", None, chat_id, "", now)
                self.db.execute(
                    "UPDATE deliveries SET status = ?, last_error = 'unsubscribed',"
                    " updated_at = ? WHERE chat_id = ? AND status = ? AND kind = ?",
                    [
                        DeliveryStatus.SKIPPED,
                        iso(now),
                        chat_id,
                        DeliveryStatus.PENDING,
                        DeliveryKind.ALERT,
                    ],
                )
            return bool(cursor.rowcount)

    def owner_ids(self) -> list[int]:
        return [u for u, role in self.users().items() if role is Role.OWNER]

    def subscribed_chats(self) -> list[int]:
        """Chats that receive alerts besides the configured ones (the owner's, after pairing)."""
        return [
            int(r[0]) for r in self.db.execute("SELECT chat_id FROM subscriptions ORDER BY chat_id")
        ]

    def log(self, limit: int = 100) -> list[AccessEntry]:
        """The latest ``limit`` lines of the access log, newest first."""
        return [
            AccessEntry(
                id=int(i),
                at=parse_iso(at),
                actor=actor,
                action=str(action),
                user_id=user_id,
                chat_id=chat_id,
                detail=str(detail or ""),
            )
            for i, at, actor, action, user_id, chat_id, detail in self.db.execute(
                "SELECT id, at, actor, action, user_id, chat_id, detail FROM access_log"
                " ORDER BY id DESC LIMIT ?",
                [limit],
            )
        ]

    def _subscribe(self, chat_id: int, actor: int | None, now: datetime) -> bool:
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO subscriptions (chat_id, added_at, added_by) VALUES (?, ?, ?)",
            [chat_id, iso(now), actor],
        )
        if cursor.rowcount:
            log_access(self.db, actor, "subscribed", None, chat_id, "", now)
        return bool(cursor.rowcount)
