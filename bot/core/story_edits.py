"""The "also reported by" edit: when a story's sent first message is edited to name the
outlets that reported the story since. The one home of that rule.

A story's first alert is sent once, naming its outlet. Each later report from another
outlet (a new alert grouped into the story, or the same article reached through another
feed) adds the outlet to the story (``with_outlet``). The sent messages are then edited,
through the normal delivery pass, when ``edit_due`` says so:

- the story names more outlets than its messages show (``outlets > outlets_shown``);
- it was updated within ``window`` (48 h): older messages are left as they are;
- its last edit is at least ``interval`` old (``story_edit_interval_seconds``, 5 min), so a
  story that gains ten outlets in a minute is edited once, not ten times.

Storage only reads the candidates (stories updated since ``candidates_since`` whose
messages name fewer outlets than the story has) and records an edit (``outlets_shown``,
``last_edit_at``); the deliverer asks ``edit_due`` which to edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

EDIT_WINDOW = timedelta(hours=48)
EDIT_INTERVAL = timedelta(minutes=5)
FIRST_MESSAGE_OUTLETS = 1  # a new story's first message names its own outlet


@dataclass(frozen=True, slots=True)
class EditRule:
    """At most one edit per story per ``interval``; none once ``window`` has passed."""

    interval: timedelta = EDIT_INTERVAL
    window: timedelta = EDIT_WINDOW


@dataclass(frozen=True, slots=True)
class StoryEditState:
    """What the rule needs to know about one story."""

    story_id: int
    outlets: int  # outlets the story has now
    outlets_shown: int  # outlets its sent messages name (after the last edit)
    last_edit_at: datetime | None  # None: never edited
    updated_at: datetime  # when the last report joined it


def edit_due(story: StoryEditState, now: datetime, rule: EditRule = EditRule()) -> bool:
    """Whether the story's sent messages are to be edited now."""
    if story.outlets <= story.outlets_shown:
        return False  # nothing new to name
    if now - story.updated_at > rule.window:
        return False  # too old: its messages are left as they are
    return story.last_edit_at is None or now - story.last_edit_at >= rule.interval


def candidates_since(now: datetime, rule: EditRule = EditRule()) -> datetime:
    """Stories updated before this are never due: storage need not read them."""
    return now - rule.window


def with_outlet(outlets: Sequence[str], source: str) -> list[str]:
    """The story's outlets after a report from ``source``: each outlet once, first first."""
    return [*outlets, source] if source and source not in outlets else list(outlets)
