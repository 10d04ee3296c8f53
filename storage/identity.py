"""Notice when the database file is deleted or replaced under a running bot (device + inode)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bot.core.errors import DatabaseGone

EXIT_DATABASE_GONE = 4  # `run` exits with this; the systemd unit does not restart on it


@dataclass(frozen=True, slots=True)
class FileIdentity:
    path: str
    device: int
    inode: int


def identity_of(path: str | Path) -> FileIdentity | None:
    """The identity of the database file now (None for ``:memory:``)."""
    if str(path) == ":memory:":
        return None
    info = os.stat(path)
    return FileIdentity(str(Path(path).resolve()), info.st_dev, info.st_ino)


def verify(identity: FileIdentity | None) -> None:
    """Raise DatabaseGone when the path no longer names the file that was opened.

    Otherwise every write would go to an unlinked file, lost at exit, and a restart would
    start from an empty database and send the last day of alerts again.
    """
    if identity is None:
        return
    try:
        info = os.stat(identity.path)
    except FileNotFoundError:
        now = "nothing is there any more"
    else:
        if (info.st_dev, info.st_ino) == (identity.device, identity.inode):
            return
        now = f"another file is there (device {info.st_dev}, inode {info.st_ino})"
    raise DatabaseGone(
        f"the database file {identity.path} was deleted or replaced while newswatch was"
        f" running (it was device {identity.device}, inode {identity.inode}; {now})."
        " Stopping, so that nothing more is written into a file no one can read. Restore"
        " the database (see docs/operations.md, Backups), then start newswatch again."
    )
