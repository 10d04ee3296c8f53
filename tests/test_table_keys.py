"""Unknown keys are named the same way by every loader (bot.core.table_keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app.config import load_config
from bot.core.table_keys import unknown_key, unknown_keys


def test_unknown_keys_keep_the_table_order() -> None:
    assert unknown_keys({"b": 1, "name": 2, "a": 3}, {"name"}) == ["b", "a"]


@pytest.mark.parametrize(
    ("key", "known", "where", "message"),
    [
        ("colour", {"name", "aliases"}, "entity",
         "unknown key 'colour' in entity (expected one of: aliases, name)"),
        ("colour", {"name"}, "", "unknown key 'colour' (expected one of: name)"),
        ("pol_interval", {f"k{i}" for i in range(30)} | {"poll_interval"}, "",
         "unknown key 'pol_interval' (did you mean 'poll_interval'?)"),
        ("zzz", {f"key_{i}" for i in range(30)}, "", "unknown key 'zzz'"),
    ],
)  # fmt: skip
def test_the_message_names_the_key_where_and_what_was_expected(
    key: str, known: set[str], where: str, message: str
) -> None:
    assert unknown_key(key, known, where) == message


def test_a_config_typo_names_the_closest_setting(tmp_path: Path) -> None:
    path = tmp_path / "newswatch.toml"
    path.write_text("pol_interval_seconds = 60\n", encoding="utf-8")
    _, problems = load_config(path, {})
    assert [str(p) for p in problems] == [
        f"{path}:1: unknown key 'pol_interval_seconds' (did you mean 'poll_interval_seconds'?)"
    ]
