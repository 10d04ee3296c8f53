"""Group alerts into stories across feeds: the core StoryIndex, rebuilt from SQLite at start."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.core.models import Item
from bot.core.stories import Fingerprint, StoryIndex, fingerprint
from storage.repository import Repository, parse_iso

log = logging.getLogger("newswatch.stories")


class StoryGrouper:
    """Implements the pipeline's StoryGrouper: ``assign`` an item, ``remember`` a stored one."""

    def __init__(self, repo: Repository, window: timedelta, index: StoryIndex | None = None):
        self.repo = repo
        self.window = window
        self.index = index or StoryIndex(window=window)
        self._fresh: dict[str, Fingerprint] = {}
        self._loaded = False

    def load(self, now: datetime) -> int:
        """Index every member of the stories started within the window."""
        rows = []
        for story_id, created_at, text in self.repo.recent_story_fingerprints(now - self.window):
            at = parse_iso(created_at)
            try:
                rows.append((story_id, Fingerprint.from_json(text), at or now))
            except (ValueError, KeyError):
                continue  # a fingerprint of an older format: that story just won't grow
        self.index.rebuild(rows)
        self._loaded = True
        return len(rows)

    def assign(self, item: Item, now: datetime) -> tuple[int | None, str | None]:
        if not self._loaded:
            self.load(now)
        self.index.prune(now)
        fp = fingerprint(item.title, item.summary)
        text = fp.to_json()
        self._fresh[text] = fp
        return self.index.find(fp, now), text

    def remember(self, story_id: int, fingerprint_json: str | None, now: datetime) -> None:
        if not fingerprint_json:
            return
        fp = self._fresh.pop(fingerprint_json, None) or Fingerprint.from_json(fingerprint_json)
        self.index.add(story_id, fp, now)
