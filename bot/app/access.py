"""Who may command the bot: configured admins and chats, the paired owner, /allow and /deny."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bot.core.records import Role
from storage.repository import Repository

log = logging.getLogger("newswatch.access")

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 8
MAX_WRONG_CODES = 20  # then the code is burnt; restart `run` for a new one


class AccessControl:
    """Decides who may use the commands, and runs pairing and /allow, /deny.

    Allowed: users in ``admin_ids``, the owner, users allowed by the owner, and anyone in a
    configured or subscribed chat, except users the owner denied. Every change is stored in
    SQLite (``users``, ``access_log``) and logged.
    """

    def __init__(
        self,
        repo: Repository,
        *,
        admin_ids: Sequence[int] = (),
        chat_ids: Sequence[int | str] = (),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.repo = repo
        self.admin_ids = {int(a) for a in admin_ids}
        self.chat_ids = {str(c) for c in chat_ids}
        self.clock = clock
        self._code: str | None = None
        self._wrong = 0

    # ----- pairing -----------------------------------------------------------------------
    def has_admin(self) -> bool:
        return bool(self.admin_ids) or Role.OWNER in self.repo.access.users().values()

    def new_pairing_code(self) -> str | None:
        """A fresh one-time code when no admin or owner exists yet; None otherwise."""
        if self.has_admin():
            self._code = None
            return None
        self._code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        self._wrong = 0
        return self._code

    def claim(self, code: str, user_id: int, chat_id: int) -> bool:
        """``/start CODE``: the right code makes the user the owner, once. Wrong codes fail."""
        expected = self._code
        given = (code or "").strip().upper().replace("-", "").replace(" ", "")
        if expected is None:
            log.warning("pairing attempt by user %s but pairing is closed", user_id)
            return False
        if not hmac.compare_digest(given.encode(), expected.encode()):
            self._wrong += 1
            log.warning("wrong pairing code from user %s (%d so far)", user_id, self._wrong)
            if self._wrong >= MAX_WRONG_CODES:
                self._code = None
                log.warning(
                    "pairing closed after %d wrong codes; restart for a new one", self._wrong
                )
            return False
        self._code = None  # one use only, whatever happens next
        if not self.repo.access.claim_owner(user_id, chat_id, self.clock()):
            log.warning("pairing code used by user %s but an owner already exists", user_id)
            return False
        log.warning("user %s paired as owner; chat %s now receives alerts", user_id, chat_id)
        return True

    # ----- decisions ---------------------------------------------------------------------
    def is_admin(self, user_id: int | None) -> bool:
        """May run /allow and /deny: a configured admin or the owner."""
        return user_id is not None and user_id in self.admin_user_ids()

    def admin_user_ids(self) -> frozenset[int]:
        """Every user who may run /allow and /deny: the configured admins and the owner."""
        owners = {u for u, role in self.repo.access.users().items() if role is Role.OWNER}
        return frozenset(self.admin_ids | owners)

    def is_allowed(self, user_id: int | None, chat_id: int | None) -> bool:
        if user_id is not None and user_id in self.admin_ids:
            return True
        roles = self.repo.access.users()
        role = roles.get(user_id) if user_id is not None else None
        if role in (Role.OWNER, Role.ALLOWED):
            return True
        if role is Role.DENIED or chat_id is None:
            return False
        if str(chat_id) in self.chat_ids:
            return True
        return chat_id in set(self.repo.access.subscribed_chats())

    # ----- changes -----------------------------------------------------------------------
    def allow(self, actor: int, user_id: int) -> str:
        if user_id in self.admin_ids or self.repo.access.users().get(user_id) is Role.OWNER:
            return f"User {user_id} is already an admin."
        self.repo.access.set_user_role(user_id, Role.ALLOWED, actor=actor, now=self.clock())
        log.warning("user %s allowed by %s", user_id, actor)
        return f"User {user_id} may now use the bot."

    def deny(self, actor: int, user_id: int) -> str:
        if user_id in self.admin_ids:
            return f"User {user_id} is a configured admin (NEWSWATCH_ADMIN_IDS); edit the config."
        if user_id == actor or self.repo.access.users().get(user_id) is Role.OWNER:
            return "The owner cannot be denied."
        self.repo.access.set_user_role(user_id, Role.DENIED, actor=actor, now=self.clock())
        log.warning("user %s denied by %s", user_id, actor)
        return f"User {user_id} may no longer use the bot."
