"""The "also reported by" edit rule (bot/core/story_edits.py), table-driven; and storage
only reads the candidates (stories whose messages lag behind their outlets): the interval
and the window are the rule's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.story_edits import (
    EDIT_WINDOW,
    EditRule,
    StoryEditState,
    candidates_since,
    edit_due,
    with_outlet,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)


def story(
    outlets: int = 2,
    shown: int = 1,
    last_edit: timedelta | None = None,
    updated: timedelta = 10 * MIN,
) -> StoryEditState:
    """A story ``updated`` ago, last edited ``last_edit`` ago (None: never)."""
    return StoryEditState(
        story_id=1,
        outlets=outlets,
        outlets_shown=shown,
        last_edit_at=None if last_edit is None else NOW - last_edit,
        updated_at=NOW - updated,
    )


@pytest.mark.parametrize(
    ("case", "state", "due"),
    [
        ("a second outlet, never edited", story(), True),
        ("one outlet: nothing to add", story(outlets=1), False),
        ("every outlet already shown", story(outlets=3, shown=3), False),
        ("more shown than known (a shrunk list)", story(outlets=2, shown=3), False),
        ("a third outlet after an edit long ago", story(3, 2, last_edit=MIN * 30), True),
        ("edited 4 min ago: within the interval", story(3, 2, last_edit=4 * MIN), False),
        ("edited exactly 5 min ago", story(3, 2, last_edit=5 * MIN), True),
        ("edited 5 min less 1 s ago", story(3, 2, last_edit=5 * MIN - SEC), False),
        ("updated exactly 48 h ago", story(updated=EDIT_WINDOW, last_edit=None), True),
        ("updated 48 h and 1 s ago: too old", story(updated=EDIT_WINDOW + SEC), False),
        ("updated just now", story(updated=timedelta(0)), True),
        ("never shown (0) and one outlet", story(outlets=1, shown=0), True),
    ],
)
def test_edit_due(case: str, state: StoryEditState, due: bool) -> None:
    assert edit_due(state, NOW) is due, case


@pytest.mark.parametrize(
    ("rule", "last_edit", "due"),
    [
        (EditRule(interval=timedelta(0)), timedelta(0), True),
        (EditRule(interval=timedelta(hours=1)), 59 * MIN, False),
        (EditRule(interval=timedelta(hours=1)), 60 * MIN, True),
    ],
)
def test_the_interval_is_a_setting(rule: EditRule, last_edit: timedelta, due: bool) -> None:
    assert edit_due(story(3, 2, last_edit=last_edit), NOW, rule) is due


def test_candidates_cover_every_story_the_rule_may_edit() -> None:
    rule = EditRule(window=timedelta(hours=6))
    since = candidates_since(NOW, rule)
    assert edit_due(story(updated=NOW - since), NOW, rule)
    assert not edit_due(story(updated=NOW - since + SEC), NOW, rule)


@pytest.mark.parametrize(
    ("outlets", "source", "after"),
    [
        ([], "RFI", ["RFI"]),
        (["RFI"], "RFI", ["RFI"]),
        (["RFI"], "Jeune Afrique", ["RFI", "Jeune Afrique"]),
        (["RFI", "AFP"], "", ["RFI", "AFP"]),  # no outlet name: nothing to show
    ],
)
def test_with_outlet(outlets: list[str], source: str, after: list[str]) -> None:
    assert with_outlet(outlets, source) == after
    assert outlets == list(outlets)  # not changed in place


def test_storage_reads_candidates_and_applies_no_rule(tmp_path: Path) -> None:
    from storage.db import open_database
    from storage.repository import Repository
    from tests.test_delivery_telegram import add_alert

    repo = Repository(open_database(tmp_path / "nw.db"))
    first = add_alert(repo, "Attack on the Boulkessi camp", source="Outlet A", now=NOW)
    add_alert(repo, "Boulkessi camp attacked", source="Outlet B", story_id=first.story_id, now=NOW)
    alone = add_alert(repo, "Floods in Mopti", source="Outlet C", now=NOW)
    repo.outbox.mark_story_edited(first.story_id, 1, NOW - MIN)  # edited a minute ago
    states = {s.story_id: s for s in repo.outbox.story_edit_candidates(candidates_since(NOW))}
    # a story whose message shows every outlet is no candidate; the interval is not storage's
    assert set(states) == {first.story_id}
    assert alone.story_id not in states
    assert states[first.story_id] == StoryEditState(first.story_id, 2, 1, NOW - MIN, NOW)
    assert not edit_due(states[first.story_id], NOW)  # within the interval
    assert edit_due(states[first.story_id], NOW + 5 * MIN)
    assert repo.outbox.story_edit_candidates(NOW + SEC) == []
    repo.outbox.mark_story_edited(first.story_id, 2, NOW)
    assert repo.outbox.story_edit_candidates(candidates_since(NOW)) == []
