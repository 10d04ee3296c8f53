"""Configuration: TOML file, environment overrides, and file:line problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app.config import DEFAULT_API_URL, load_config

TOKEN = "123456789:AAH-test-token-abcdefghijklmnopqrstuvw"


def test_defaults_without_file_or_env() -> None:
    config, problems = load_config(None, {})
    assert problems == []
    assert config.telegram_token is None
    assert config.telegram_api_url == DEFAULT_API_URL
    assert config.db_path == str(Path.home() / ".local/share/newswatch/newswatch.db")
    assert config.backfill_hours == 24
    assert config.timezone == "Africa/Bamako"
    assert not config.has_telegram


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "nw.toml"
    path.write_text('db_path = "from-file.db"\nchat_ids = [1, 2]\npoll_interval_seconds = 120\n')
    env = {
        "NEWSWATCH_DB": "from-env.db",
        "NEWSWATCH_CHAT_IDS": "-100123, 42",
        "NEWSWATCH_ADMIN_IDS": "7",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": "http://127.0.0.1:9/bot",
    }
    config, problems = load_config(path, env)
    assert problems == []
    assert config.db_path == "from-env.db"
    assert config.chat_ids == (-100123, 42)
    assert config.admin_ids == (7,)
    assert config.poll_interval_seconds == 120
    assert config.telegram_api_url == "http://127.0.0.1:9/bot"
    assert config.has_telegram


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "nw.toml"
    path.write_text("backfill_hours = 6\n")
    config, problems = load_config(None, {"NEWSWATCH_CONFIG": str(path)})
    assert problems == [] and config.backfill_hours == 6


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('db_path = "x.db"\nbogus_key = 1\n', 2, "unknown key 'bogus_key'"),
        ("chat_ids = [1, 2]\n\npoll_interval_seconds = 'soon'\n", 3, "expected a number"),
        ("chat_ids = ['a']\n", 1, "list of integer ids"),
        ('timezone = "Mars/Olympus"\n', 1, "unknown time zone"),
        ("db_path = \n", 1, "TOML syntax error"),
        ("link_previews = 3\n", 1, "expected true or false"),
        # Validation problems point at the line that set the value, not at line 1.
        ('chat_ids = [1]\n\ntimezone = "Mars/Olympus"\n', 3, "unknown time zone"),
        ("# comment\nbackfill_hours = 2\nretention_days = 0\n", 3, "must be at least 1"),
        ('# a\n# b\n"bogus" = 1\n', 3, "unknown key 'bogus'"),
        ("# a\n\n[telegram]\ntoken = 'x'\n", 3, "unknown key 'telegram'"),
    ],
)
def test_problems_have_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    _config, problems = load_config(path, {})
    assert problems, "a bad config must be reported"
    rendered = [str(p) for p in problems]
    assert any(r.startswith(f"{path}:{line}: ") and fragment in r for r in rendered), rendered


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("NEWSWATCH_CHAT_IDS", "12,abc", "comma-separated integer ids"),
        ("TELEGRAM_BOT_TOKEN", "not-a-token", "does not look like a BotFather token"),
        ("TELEGRAM_API_URL", "ftp://x/bot", "must start with http"),
        ("NEWSWATCH_FEEDS", "/nonexistent/feeds.txt", "feed list file not found"),
    ],
)
def test_bad_environment_values_are_reported(key: str, value: str, fragment: str) -> None:
    _config, problems = load_config(None, {key: value})
    assert any(fragment in str(p) for p in problems), problems
    # The problem names the variable it came from, never "defaults:1".
    rendered = [str(p) for p in problems if fragment in str(p)]
    assert all(r.startswith(f"{key} (environment): ") for r in rendered), rendered


def test_database_location_order(tmp_path: Path) -> None:
    """NEWSWATCH_DB, else the config's db_path (relative to the file), else XDG_DATA_HOME."""
    xdg = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    config, _ = load_config(None, xdg)
    assert config.db_path == str(tmp_path / "xdg" / "newswatch" / "newswatch.db")
    assert "default per-user location" in config.describe_db()
    path = tmp_path / "conf" / "nw.toml"
    path.parent.mkdir()
    path.write_text('timezone = "UTC"\ndb_path = "data/nw.db"\n')
    config, problems = load_config(path, xdg)
    assert problems == []
    assert config.db_path == str(tmp_path / "conf" / "data" / "nw.db")
    assert config.describe_db().endswith(f"(from {path}:2)")
    config, _ = load_config(path, {**xdg, "NEWSWATCH_DB": str(tmp_path / "env.db")})
    assert config.db_path == str(tmp_path / "env.db")
    assert "NEWSWATCH_DB (environment)" in config.describe_db()


def test_missing_config_file_is_a_problem(tmp_path: Path) -> None:
    _config, problems = load_config(tmp_path / "absent.toml", {})
    assert any("cannot read config file" in str(p) for p in problems)
