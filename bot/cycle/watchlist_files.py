"""Read watchlist files from disk and hot-reload them, keeping the last good version in force."""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import stat
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.core.errors import WatchlistError
from bot.core.matching import Matcher
from bot.core.models import Problem
from bot.core.watchlist import (
    Entity,
    Watchlist,
    WatchlistSet,
    merge_watchlists,
    parse_watchlist,
    with_gazetteer_places,
)

log = logging.getLogger("newswatch.watchlists")

_Fingerprint = tuple[tuple[str, int, int], ...]


_WARNED: set[Path] = set()  # non-regular files already reported (once per process)


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:  # a dangling link: reported when read
        return path.is_symlink()


def _read_regular(path: Path) -> bytes:
    """The file's bytes; never blocks on a FIFO swapped in after the listing."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return handle.read()


def watchlist_paths(directory: Path, extra_files: Iterable[Path] = ()) -> list[Path]:
    """Every ``*.toml`` regular file in ``directory`` (sorted by name), then the extra files
    that exist (the bot-managed watchlist appears with the first /watch).

    Anything else named ``*.toml`` (a FIFO, a device, a directory) is skipped: opening a FIFO
    would block the event loop until someone writes to it.
    """
    found = sorted(directory.glob("*.toml")) if directory.is_dir() else []
    paths = [p for p in found if _regular(p)]
    for skipped in sorted(set(found) - set(paths)):
        if skipped not in _WARNED:
            _WARNED.add(skipped)
            log.warning("watchlist folder: %s is not a regular file; skipped", skipped)
    for extra in extra_files:
        if extra not in paths and extra.is_file():
            paths.append(extra)
    return paths


def watchlist_warnings(wset: WatchlistSet) -> list[Problem]:
    """What `check` prints as warnings (short aliases…): the files are valid and in force."""
    return [w for wl in wset.watchlists for w in wl.warnings]


def load_watchlist_dir(
    directory: Path, extra_files: Iterable[Path] = ()
) -> tuple[WatchlistSet | None, list[Problem]]:
    """Read, parse and merge every watchlist file. Returns ``(None, problems)`` on any problem."""
    extra = list(extra_files)
    paths = watchlist_paths(directory, extra)
    problems: list[Problem] = []
    if not paths:
        why = "is not a directory" if not directory.is_dir() else "holds no *.toml file"
        return None, [Problem(str(directory), 0, f"watchlist directory {why}")]
    watchlists: list[Watchlist] = []
    for path in paths:
        try:
            text = _read_regular(path).decode("utf-8")
        except OSError as exc:
            problems.append(Problem(str(path), 0, f"cannot read: {exc.strerror or exc}"))
            continue
        except UnicodeDecodeError as exc:
            line = path.read_bytes()[: exc.start].count(b"\n") + 1
            problems.append(Problem(str(path), line, "not valid UTF-8 text"))
            continue
        wl, found = parse_watchlist(text, str(path))
        problems.extend(found)
        if wl is not None:
            watchlists.append(wl)
    merged, found = merge_watchlists(watchlists)
    problems.extend(found)
    if problems:
        return None, problems
    if any(e.scope is not None and e.scope.gazetteer for e in merged.entities):
        entities = with_gazetteer_places(merged.entities, gazetteer_place_names())
        merged = dataclasses.replace(merged, entities=entities)
    return merged, []


def gazetteer_place_names() -> list[str]:
    """Every unambiguous spelling of every place of the shipped Sahel gazetteer."""
    from bot.data.gazetteer_file import load_default_places

    return [
        name for place in load_default_places() for name in place.names
        if name not in place.ambiguous
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReloadEvent:
    """What a reload did: a new version in force (``ok``) or an edit rejected with problems."""

    ok: bool
    version: str  # the version in force after the event
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    feeds_added: tuple[str, ...] = ()
    feeds_removed: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    message: str = ""


def _comparable(entity: Entity) -> Entity:
    return dataclasses.replace(entity, line=0)


def describe_change(
    old: WatchlistSet, new: WatchlistSet, feeds_from: str | None = None
) -> ReloadEvent:
    """The event for a valid switch from ``old`` to ``new``, with a message for admins.

    ``feeds_from`` names the feed list that replaces the watchlists' feeds (NEWSWATCH_FEEDS):
    then the message does not count feeds the watchlists list but nobody polls.
    """
    before = {e.name: e for e in old.entities}
    after = {e.name: e for e in new.entities}
    added = tuple(n for n in after if n not in before)
    removed = tuple(n for n in before if n not in after)
    changed = tuple(
        n for n in after if n in before and _comparable(after[n]) != _comparable(before[n])
    )
    old_feeds = {f.url for f in old.feeds}
    new_feeds = {f.url for f in new.feeds}
    feeds_added = tuple(f.url for f in new.feeds if f.url not in old_feeds)
    feeds_removed = tuple(f.url for f in old.feeds if f.url not in new_feeds)
    parts = []
    if added:
        parts.append(f"added {len(added)}: {', '.join(added)}")
    if removed:
        parts.append(f"removed {len(removed)}: {', '.join(removed)}")
    if changed:
        parts.append(f"changed {len(changed)}: {', '.join(changed)}")
    if (feeds_added or feeds_removed) and feeds_from is None:
        parts.append(f"feeds +{len(feeds_added)} -{len(feeds_removed)}")
    summary = "; ".join(parts) if parts else "no entity changed"
    if feeds_from is None:
        now = f"Now {len(new.entities)} entities, {len(new.feeds)} feeds."
    else:
        now = f"Now {len(new.entities)} entities; the feeds come from {feeds_from}."
    message = f"Watchlists reloaded (version {new.version}): {summary}. {now}"
    return ReloadEvent(
        ok=True,
        version=new.version,
        added=added,
        removed=removed,
        changed=changed,
        feeds_added=feeds_added,
        feeds_removed=feeds_removed,
        message=message,
    )


class WatchlistReloader:
    """Holds the last good watchlists and their compiled matcher; ``check()`` once per cycle."""

    def __init__(
        self, directory: Path, extra_files: Iterable[Path] = (), feeds_from: str | None = None
    ) -> None:
        self.directory = Path(directory)
        self.extra_files = [Path(p) for p in extra_files]
        self.feeds_from = feeds_from  # see describe_change
        self._current: WatchlistSet | None = None
        self._matcher: Matcher | None = None
        self._fingerprint: _Fingerprint | None = None
        # `run` checks for edits in a worker thread (compiling a large watchlist takes a
        # while) while commands read the matcher on the event loop: one at a time.
        self._lock = threading.RLock()

    @property
    def current(self) -> WatchlistSet:
        if self._current is None:
            raise WatchlistError([Problem(str(self.directory), 0, "watchlists not loaded yet")])
        return self._current

    @property
    def matcher(self) -> Matcher:
        """The compiled watchlists; compiled on first use after the first load, so that a
        cycle that matches nothing (every feed answered 304) never pays for it (15-20 ms)."""
        matcher = self._matcher
        if matcher is not None:
            return matcher
        with self._lock:
            if self._matcher is None:
                if self._current is None:
                    raise WatchlistError(
                        [Problem(str(self.directory), 0, "watchlists not loaded yet")]
                    )
                self._matcher = Matcher.compile(self._current.entities)
            return self._matcher

    def _stat(self) -> _Fingerprint:
        out = []
        for path in watchlist_paths(self.directory, self.extra_files):
            try:
                st = path.stat()
                out.append((str(path), st.st_mtime_ns, st.st_size))
            except OSError:
                out.append((str(path), -1, -1))
        return tuple(out)

    def load(self) -> list[Problem]:
        """First load. Raises ``WatchlistError`` with every problem when the files are invalid."""
        fingerprint = self._stat()
        wset, problems = load_watchlist_dir(self.directory, self.extra_files)
        if wset is None:
            raise WatchlistError(problems)
        self._current, self._matcher = wset, None  # compiled on first use (see matcher)
        self._fingerprint = fingerprint
        for warning in watchlist_warnings(wset):
            log.warning("%s", warning)
        return problems

    def check(self) -> ReloadEvent | None:
        """Reload if a file was added, removed or modified since the last look (one caller
        at a time; ``run`` calls it in a worker thread).

        Returns ``None`` when nothing changed (or the content is identical); an ``ok`` event
        when the new version is now in force; a rejected event (``ok`` false, ``problems``)
        when the edit is invalid, in which case the previous version stays in force. A given
        invalid state is reported once, not on every cycle.
        """
        with self._lock:
            return self._check()

    def _check(self) -> ReloadEvent | None:
        if self._current is None:
            self.load()
            return None
        fingerprint = self._stat()
        if fingerprint == self._fingerprint:
            return None
        self._fingerprint = fingerprint
        wset, problems = load_watchlist_dir(self.directory, self.extra_files)
        if wset is None:
            lines = "\n".join(str(p) for p in problems)
            return ReloadEvent(
                ok=False,
                version=self._current.version,
                problems=tuple(problems),
                message=(
                    f"Watchlist edit rejected, still using version {self._current.version} "
                    f"({len(problems)} problem(s)):\n{lines}"
                ),
            )
        if wset.version == self._current.version:
            return None
        for warning in watchlist_warnings(wset):
            log.warning("%s", warning)
        try:
            matcher = Matcher.compile(wset.entities)
        except (ValueError, KeyError) as exc:  # parse_watchlist validates; belt and braces
            problem = Problem(str(self.directory), 0, f"cannot compile watchlists: {exc}")
            return ReloadEvent(
                ok=False,
                version=self._current.version,
                problems=(problem,),
                message=f"Watchlist edit rejected, still using version "
                f"{self._current.version}:\n{problem}",
            )
        event = describe_change(self._current, wset, self.feeds_from)
        # the matcher first: a reader between the two never gets a matcher older than
        # the watchlists it reads
        self._matcher = matcher
        self._current = wset
        return event
