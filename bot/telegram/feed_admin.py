"""/watch, /unwatch, /addfeed and /rmfeed: what to watch, changed from Telegram.

The changes go to the bot-managed files (``bot.cycle.managed_files``): a watchlist and a feed list
beside the database, plain files reloaded like the others. A /watch is written, then the
watchlists are reloaded at once; an edit the reload rejects is taken back, and the user gets
the problem. /addfeed fetches and parses the URL once before it adds it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.normalize import normalize
from bot.core.urls import check_feed_url

log = logging.getLogger("newswatch.commands")

MAX_NAME = 100
MAX_ALIASES = 20


@dataclass(frozen=True, slots=True)
class FeedProbe:
    """What one fetch of a URL showed: a feed (title, item count) or why it is none."""

    url: str
    title: str | None = None
    items: int = 0
    error: str | None = None


class FeedAdmin:
    def __init__(
        self,
        *,
        managed: Any,  # bot.cycle.managed_files.ManagedFiles
        reload: Callable[[], Any],  # WatchlistReloader.check -> ReloadEvent | None
        watchlists: Callable[[], Any],  # -> WatchlistSet in force
        feed_urls: Callable[[], Sequence[str]],  # every feed polled now
        probe: Callable[[str], Awaitable[FeedProbe]],
        feeds_file: str | None = None,
    ):
        self.managed = managed
        self.reload = reload
        self.watchlists = watchlists
        self.feed_urls = feed_urls
        self.probe = probe
        self.feeds_file = feeds_file

    # ----- entities ---------------------------------------------------------------------
    def _defined_in(self, name: str) -> tuple[str, str] | None:
        """(entity name, file name) of a watched entity named ``name`` (any case, accents)."""
        wanted = normalize(name)
        for watchlist in self.watchlists().watchlists:
            for entity in watchlist.entities:
                if normalize(entity.name) == wanted:
                    return str(entity.name), Path(watchlist.path).name
        return None

    def watch(self, args: str, actor: int | None) -> str:
        parts = [p.strip() for p in args.replace("\n", ",").split(",")]
        parts = [p for p in parts if p]
        if not parts:
            return (
                "Usage: /watch <name>[, alias, alias…], e.g. /watch Sikasso, Sikaso"
                " (the name is an alias too)."
            )
        name = parts[0]
        if len(name) > MAX_NAME or any(len(p) > MAX_NAME for p in parts):
            return f"Names and aliases are at most {MAX_NAME} characters."
        aliases = list(dict.fromkeys(parts))[:MAX_ALIASES]
        found = self._defined_in(name)
        if found is not None and found[1] != self.managed.watchlist.name:
            return (
                f"{found[0]} is already watched (in {found[1]}): edit that file to change its"
                " aliases, or /mute it."
            )
        previous = self.managed.watchlist_text()
        try:
            self.managed.add_entity(name, aliases, actor)
        except OSError as exc:
            return f"Cannot write {self.managed.watchlist}: {exc.strerror or exc}."
        event = self.reload()
        if event is not None and not event.ok:
            self.managed.restore_watchlist(previous)
            self.reload()
            problems = "\n".join(str(p) for p in event.problems) or event.message
            return f"Not added: the watchlist would be invalid.\n{problems}"
        log.warning("entity %r (aliases %s) added by %s with /watch", name, aliases, actor)
        verb = "Now watching" if found is None else "Updated"
        return (
            f"{verb} {name} (aliases: {', '.join(aliases)}), in {self.managed.watchlist}."
            f" New items that mention it alert from the next cycle on; /unwatch {name} stops."
        )

    def unwatch(self, args: str, actor: int | None) -> str:
        name = args.strip()
        if not name:
            return "Usage: /unwatch <name> (an entity added with /watch)."
        found = self._defined_in(name)
        if found is None:
            return f"{name[:MAX_NAME]} is not watched. /watchlist lists the entities."
        entity, file_name = found
        if file_name != self.managed.watchlist.name:
            return (
                f"{entity} is defined in {file_name}: remove it there (the files are the source"
                " of truth), or /mute it in this chat."
            )
        previous = self.managed.watchlist_text()
        if not self.managed.remove_entity(entity):
            return f"{entity} was not found in {self.managed.watchlist}."
        event = self.reload()
        if event is not None and not event.ok:
            self.managed.restore_watchlist(previous)
            self.reload()
            return "Not removed: the watchlist would be invalid.\n" + "\n".join(
                str(p) for p in event.problems
            )
        log.warning("entity %r removed by %s with /unwatch", entity, actor)
        return f"No longer watching {entity}. Its past alerts stay stored and searchable."

    # ----- feeds ------------------------------------------------------------------------
    async def addfeed(self, args: str, actor: int | None) -> str:
        url = args.strip().split()[0] if args.strip() else ""
        if not url:
            return "Usage: /addfeed <feed URL>, e.g. /addfeed https://www.example.org/rss"
        reason = check_feed_url(url)
        if reason:
            return f"Not added: {reason}."
        if url in self.feed_urls():
            return f"{url} is already polled."
        probe = await self.probe(url)
        if probe.error:
            return f"Not added: {url} is not a feed I can read ({probe.error})."
        try:
            self.managed.add_feed(url, probe.title, actor)
        except OSError as exc:
            return f"Cannot write {self.managed.feeds}: {exc.strerror or exc}."
        log.warning("feed %s added by %s with /addfeed", url, actor)
        title = f"{probe.title} " if probe.title else ""
        return (
            f"Added {title}({url}): {probe.items} item(s) now. It is polled from the next cycle"
            f" on (items of the last day may alert), listed in {self.managed.feeds};"
            f" /rmfeed {url} removes it."
        )

    def rmfeed(self, args: str, actor: int | None) -> str:
        url = args.strip().split()[0] if args.strip() else ""
        if not url:
            return "Usage: /rmfeed <feed URL> (a feed added with /addfeed)."
        if url in self.managed.feed_urls():
            try:
                self.managed.remove_feed(url)
            except OSError as exc:
                return f"Cannot write {self.managed.feeds}: {exc.strerror or exc}."
            log.warning("feed %s removed by %s with /rmfeed", url, actor)
            return f"Removed {url}: it is no longer polled. Its alerts stay stored."
        if url in self.feed_urls():
            where = self.feeds_file or "a watchlist file"
            return (
                f"{url} is listed in {where}: remove it there (the files are the source of truth)."
            )
        return f"{url} is not a feed I poll. /feeds lists them."
