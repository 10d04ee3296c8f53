"""StoryGrouper loads its lexicons (gazetteer places, action classes, meanings: about 0.16 s of
CPU) with the first signature, so a `poll --once` that alerts nothing never pays for them;
`run` loads them at start, where a malformed file stops it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import bot.cycle.story_grouping as story_grouping
from bot.app.composition import build_pipeline
from bot.app.config import Config
from bot.cycle.story_grouping import StoryGrouper
from bot.feeds.fetcher import Fetcher, FetchSettings
from storage.db import open_database
from storage.repository import Repository
from tests.harness import default_matcher


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    loaded: list[str] = []
    real = story_grouping.meaning_finder

    def counting() -> object:
        loaded.append("meanings")
        return real()

    monkeypatch.setattr(story_grouping, "meaning_finder", counting)
    return loaded


def test_lexicons_load_with_the_first_signature_and_once(tmp_path: Path, loads: list[str]) -> None:
    grouper = StoryGrouper(Repository(open_database(tmp_path / "nw.db")), timedelta(hours=72))
    assert loads == []
    first = grouper.signature("Attaque à Kidal", "Des hommes armés ont attaqué Kidal.", ["Kidal"])
    again = grouper.signature("Attaque à Kidal", "Des hommes armés ont attaqué Kidal.", ["Kidal"])
    assert loads == ["meanings"]
    assert grouper.meanings is not None and grouper.places is not None
    assert first.places == again.places and first.places  # the gazetteer was used


@pytest.mark.parametrize(("background_delivery", "expected"), [(True, 1), (False, 0)])
def test_run_loads_them_at_start_and_poll_once_when_needed(
    tmp_path: Path, loads: list[str], background_delivery: bool, expected: int
) -> None:
    repo = Repository(open_database(tmp_path / "nw.db"))
    matcher = default_matcher()
    build_pipeline(
        Config(),
        repo,
        Fetcher(FetchSettings()),
        matcher=lambda: matcher,
        feeds=lambda: [],
        deliverer=object(),  # type: ignore[arg-type]
        background_delivery=background_delivery,
    )
    assert len(loads) == expected
