"""One poller per database and per bot token: advisory file locks (flock) with holder details."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("newswatch.lock")


class AlreadyRunning(Exception):
    """Another newswatch process holds the lock; the message says which and how to proceed."""


@dataclass
class InstanceLock:
    """An exclusive, non-blocking ``flock`` on ``path``, released when the process exits.

    The kernel drops the lock when the holder dies (even by SIGKILL), so a stale lock file
    never blocks a restart. The file holds the holder's pid, command and start time.
    """

    path: Path
    what: str  # "database /x/newswatch.db" or "bot token …"
    _handle: IO[str] | None = None

    def acquire(self, command: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the lifetime)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            holder = read_holder(self.path)
            raise AlreadyRunning(_refusal(self.what, self.path, holder)) from None
        handle.seek(0)
        handle.truncate()
        json.dump(
            {
                "pid": os.getpid(),
                "command": command,
                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            handle,
        )
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def _refusal(what: str, path: Path, holder: dict[str, Any] | None) -> str:
    who = "another newswatch process"
    if holder:
        who = (
            f"newswatch pid {holder.get('pid', '?')} (`{holder.get('command', '?')}`,"
            f" started {holder.get('started_at', '?')})"
        )
    return (
        f"refusing to start: {who} is already polling with this {what}.\n"
        "Two pollers would send every alert twice. Stop the other one first"
        f" (lock file: {path})."
    )


def is_held(path: Path) -> bool:
    """True when some process (this one included) holds the lock on ``path``."""
    if not path.is_file():
        return False
    with open(path, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False


def read_holder(path: Path) -> dict[str, Any] | None:
    """The pid/command/started_at written by the current holder, if readable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def database_lock_path(db_path: str | Path) -> Path:
    return Path(f"{Path(db_path).resolve()}.lock")


def token_lock_path(token: str, api_url: str = "", directory: str | Path | None = None) -> Path:
    """A per-bot lock in the temp directory, named by a hash (never by the token itself).

    The Bot API server is part of the bot's identity: the same token against two different
    servers (e.g. two local test fakes) cannot collide, the same one against Telegram does.
    """
    seed = f"{api_url.rstrip('/')}\n{token}"
    digest = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:16]
    return Path(directory or tempfile.gettempdir()) / f"newswatch-bot-{digest}.lock"


@contextlib.contextmanager
def instance_locks(
    db_path: str | Path,
    token: str | None,
    command: str,
    *,
    api_url: str = "",
    lock_dir: str | Path | None = None,
) -> Iterator[list[InstanceLock]]:
    """Hold the database lock (and the token lock when a token is set) for the block.

    Raises AlreadyRunning, naming the holder, when either is taken.
    """
    locks: list[InstanceLock] = []
    if str(db_path) != ":memory:":
        locks.append(InstanceLock(database_lock_path(db_path), f"database {db_path}"))
    if token:
        locks.append(InstanceLock(token_lock_path(token, api_url, lock_dir), "bot token"))
    acquired: list[InstanceLock] = []
    try:
        for lock in locks:
            try:
                lock.acquire(command)
            except AlreadyRunning:
                raise
            except OSError as exc:
                if lock.what != "bot token":
                    raise
                # e.g. a read-only /tmp: the database lock still guards against duplicates
                log.warning("cannot create the bot-token lock %s: %s", lock.path, exc)
                continue
            acquired.append(lock)
        yield acquired
    finally:
        for lock in reversed(acquired):
            lock.release()
