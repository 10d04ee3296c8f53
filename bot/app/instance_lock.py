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

from bot.core.errors import AlreadyRunning

log = logging.getLogger("newswatch.lock")


# Descriptors of the locks this process holds. A forked child (a parse worker) gets copies,
# and an flock lives as long as any copy: a worker orphaned by a `kill -9` of its parent
# would keep the instance lock. So every child drops them at once (see _drop_in_child).
_HELD_FDS: set[int] = set()
_fork_hook_installed = False


def _drop_in_child() -> None:
    """After a fork, in the child: point the inherited lock descriptors at /dev/null.

    dup2 over them rather than close: the child's file objects still name those numbers,
    and a number closed here could be reused and then closed by their finalisers.
    """
    if not _HELD_FDS:
        return
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in _HELD_FDS:
            with contextlib.suppress(OSError):
                os.dup2(null, fd)
    finally:
        os.close(null)
    _HELD_FDS.clear()


def _install_fork_hook() -> None:
    global _fork_hook_installed
    if not _fork_hook_installed:
        os.register_at_fork(after_in_child=_drop_in_child)
        _fork_hook_installed = True


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
            holder = read_holder(self.path)
            if not _recover_from_dead_holder(self.path, holder, handle):
                handle.close()
                raise AlreadyRunning(_refusal(self.what, self.path, holder)) from None
        _install_fork_hook()
        _HELD_FDS.add(handle.fileno())
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
            _HELD_FDS.discard(self._handle.fileno())
            with contextlib.suppress(OSError):
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _lock_holders(path: Path) -> list[int]:
    """Pids of the processes that have ``path`` open (Linux /proc), this one excluded."""
    target = str(path.resolve())
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        if pid == os.getpid():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == target:
                    found.append(pid)
                    break
            except OSError:
                continue
    return found


def _argv(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def _recover_from_dead_holder(path: Path, holder: dict[str, Any] | None, handle: IO[str]) -> bool:
    """The lock is held but its recorded holder is dead: end its orphans and take the lock.

    Only processes that have this very lock file open *and* were started as the holder's
    command (forked workers carry the parent's argv) are ended: SIGTERM, then SIGKILL. Built
    for orphaned parse workers of a killed `run` or `poll --once` (older versions left them).
    True when the lock is ours afterwards.
    """
    import signal
    import time

    if not holder or not isinstance(holder.get("pid"), int) or _alive(holder["pid"]):
        return False
    words = str(holder.get("command") or "").split()
    orphans = [
        pid for pid in _lock_holders(path) if words and all(word in _argv(pid) for word in words)
    ]
    if not orphans:
        return False
    log.warning(
        "lock %s: holder pid %s is dead but its orphaned worker(s) %s keep the lock; ending them",
        path,
        holder["pid"],
        ", ".join(map(str, orphans)),
    )
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in orphans:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                time.sleep(0.05)
    return False


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
