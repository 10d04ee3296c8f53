"""The bot-managed watchlist and feed list that /watch, /unwatch, /addfeed and /rmfeed write.

Both are plain files beside the database (``telegram-watchlist.toml``, a watchlist like the
others, and ``telegram-feeds.txt``, a feed list with one URL per line) that the user may edit
by hand; they are reloaded like the other files, and stay the source of truth. Every write
replaces the file atomically (write a temporary file, then rename).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.core.models import FeedSpec, Problem
from bot.feeds.feed_list import load_feed_list

WATCHLIST_NAME = "telegram-watchlist.toml"
FEEDS_NAME = "telegram-feeds.txt"
WATCHLIST_HEADER = (
    "# Entities added from Telegram with /watch (removed with /unwatch). A watchlist like the\n"
    "# others (format: watchlists/README.md): you may edit it by hand; it is reloaded.\n"
    'title = "Added from Telegram"\n'
)
FEEDS_HEADER = (
    "# Feeds added from Telegram with /addfeed (removed with /rmfeed), one URL per line.\n"
    "# You may edit it by hand; it is reloaded, and adds to the other feeds.\n"
)
_ENTITY_HEADER = re.compile(r"^\s*\[\[\s*entities\s*\]\]\s*(#.*)?$")
_TABLE_HEADER = re.compile(r"^\s*\[")


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:  # whatever stopped the write (even Ctrl-C): no stray file; re-raised
        Path(tmp).unlink(missing_ok=True)
        raise


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML ones)."""
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class ManagedFiles:
    """The two files in ``directory`` (the database's folder)."""

    directory: Path

    @property
    def watchlist(self) -> Path:
        return self.directory / WATCHLIST_NAME

    @property
    def feeds(self) -> Path:
        return self.directory / FEEDS_NAME

    # ----- watchlist --------------------------------------------------------------------
    def watchlist_text(self) -> str | None:
        try:
            return self.watchlist.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def restore_watchlist(self, text: str | None) -> None:
        """Put back what :meth:`watchlist_text` returned (after a rejected change)."""
        if text is None:
            self.watchlist.unlink(missing_ok=True)
        else:
            _atomic_write(self.watchlist, text)

    def entity_names(self) -> list[str]:
        text = self.watchlist_text()
        if not text:
            return []
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return []
        return [str(e.get("name")) for e in data.get("entities", []) if isinstance(e, dict)]

    def add_entity(self, name: str, aliases: list[str], actor: int | None) -> None:
        """Append an ``[[entities]]`` table (replacing one of the same name in this file)."""
        self.remove_entity(name)
        text = self.watchlist_text() or WATCHLIST_HEADER
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        block = (
            f"\n[[entities]]\n# added with /watch by {actor} on {when}\n"
            f"name = {_toml_string(name)}\n"
            f"aliases = [{', '.join(_toml_string(a) for a in aliases)}]\n"
        )
        _atomic_write(self.watchlist, text.rstrip("\n") + "\n" + block)

    def remove_entity(self, name: str) -> bool:
        """Remove the ``[[entities]]`` table named ``name``; False when there is none."""
        text = self.watchlist_text()
        if not text or name not in self.entity_names():
            return False
        lines = text.splitlines(keepends=True)
        starts = [i for i, line in enumerate(lines) if _ENTITY_HEADER.match(line)]
        for start in starts:
            end = next(
                (j for j in range(start + 1, len(lines)) if _TABLE_HEADER.match(lines[j])),
                len(lines),
            )
            try:
                block = tomllib.loads("".join(lines[start + 1 : end]))
            except tomllib.TOMLDecodeError:
                continue
            if block.get("name") == name:
                _atomic_write(self.watchlist, "".join(lines[:start] + lines[end:]))
                return True
        return False

    # ----- feed list --------------------------------------------------------------------
    def feed_urls(self) -> list[str]:
        specs, _ = self.load_feeds()
        return [s.url for s in specs]

    def load_feeds(self) -> tuple[list[FeedSpec], list[Problem]]:
        if not self.feeds.is_file():
            return [], []
        return load_feed_list(self.feeds)

    def add_feed(self, url: str, title: str | None, actor: int | None) -> None:
        try:
            text = self.feeds.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = FEEDS_HEADER
        when = datetime.now(UTC).strftime("%Y-%m-%d")
        # A comment after a URL starts with " #" (a bare "#" would be the URL's fragment).
        label = " ".join((title or "").split())[:80]
        line = f"{url}  # {label} (added with /addfeed by {actor}, {when})\n"
        _atomic_write(self.feeds, text.rstrip("\n") + "\n" + line)

    def remove_feed(self, url: str) -> bool:
        try:
            text = self.feeds.read_text(encoding="utf-8")
        except FileNotFoundError:
            return False
        kept: list[str] = []
        removed = False
        for line in text.splitlines(keepends=True):
            entry = re.sub(r"(^|\s)#.*$", "", line).strip()
            if entry == url:
                removed = True
                continue
            kept.append(line)
        if removed:
            _atomic_write(self.feeds, "".join(kept))
        return removed


class FeedListFile:
    """A feed list file read again whenever it changes; a bad edit keeps the last good list."""

    def __init__(self, path: Path, *, required: bool = True):
        self.path = Path(path)
        self.required = required
        self._stamp: tuple[int, int] | None = None
        self._specs: list[FeedSpec] = []
        self.problems: list[Problem] = []

    def load(self) -> list[Problem]:
        """Read it now; returns the problems (the list keeps the good entries)."""
        self._stamp = self._stat()
        if self._stamp is None and not self.required:
            self._specs, self.problems = [], []
            return []
        specs, problems = load_feed_list(self.path)
        self._specs, self.problems = specs, problems
        return problems

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def current(self) -> list[FeedSpec]:
        if self._stat() != self._stamp:
            previous = self._specs
            problems = self.load()
            if problems and self._stamp is not None and not self._specs:
                self._specs = previous  # an unreadable edit: keep the last good list
        return list(self._specs)
