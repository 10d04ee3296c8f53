"""Load newswatch's settings from an optional TOML file, overridden by environment variables."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.app.event_loop import EventLoopChoice, uvloop_installed
from bot.core.models import Problem
from bot.core.table_keys import unknown_key

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
DEFAULT_API_URL = "https://api.telegram.org/bot"
DEFAULT_TELEGRAM_PREVIEW_URL = "https://t.me"
DEFAULT_GDELT_API_URL = "https://api.gdeltproject.org/api/v2/doc/doc"


@dataclass(frozen=True)
class Config:
    """Every setting, with its default. Keys of the TOML file are the field names."""

    telegram_token: str | None = None
    telegram_api_url: str = DEFAULT_API_URL
    chat_ids: tuple[int, ...] = ()
    admin_ids: tuple[int, ...] = ()
    db_path: str = ""  # resolved by load_config: see default_db_path()
    feeds_file: str | None = None
    watchlists_dir: str = str(PROJECT_DIR / "watchlists")
    poll_interval_seconds: int = 300
    backfill_hours: int = 24
    timezone: str = "Africa/Bamako"
    link_previews: bool = False
    digest_threshold: int = 10  # more alerts than this for a chat in one cycle: one digest
    story_edit_interval_seconds: int = 300  # min time between "also reported by" edits
    story_window_hours: int = 72
    retention_days: int = 180
    pause_after_failures: int = 10  # consecutive failures before a feed is paused (one notice)
    min_interval_seconds: int = 60  # a feed's <ttl>/max-age/Expires never polls faster…
    max_interval_seconds: int = 6 * 3600  # …nor slower than these bounds
    backoff_cap_seconds: int = 24 * 3600  # failing feeds: exponential backoff up to this
    fetch_spread_seconds: float = 30.0  # fetch starts of a scheduled cycle spread over this
    max_body_bytes: int = 10 * 1024 * 1024
    max_concurrency: int = 20
    max_per_host: int = 4
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    fetch_deadline: float = 60.0
    max_redirects: int = 5
    # False: refuse feeds (and redirect hops) whose host resolves to a loopback, private,
    # link-local or otherwise non-public address. True by default: local feeds are common.
    allow_private_addresses: bool = True
    user_agent: str = "newswatch/0.1 (+self-hosted news alert bot)"
    # Where public channels' previews (``/s/<channel>``) and GDELT's DOC API are read; tests
    # point them at loopback fakes.
    telegram_preview_url: str = DEFAULT_TELEGRAM_PREVIEW_URL
    gdelt_api_url: str = DEFAULT_GDELT_API_URL
    gdelt_min_gap_seconds: float = 5.0  # GDELT asks for at most one request per 5 s
    web_base_url: str | None = None  # where `main.py web` is reached; /story links there
    web_username: str = "newswatch"  # the web view's login when a password hash is set
    web_password_hash: str | None = None  # `main.py web --hash-password`; required off loopback
    # "auto": uvloop when installed (the `fast` extra), else asyncio; "asyncio"; "uvloop".
    event_loop: str = "auto"
    source: str = field(default="defaults", compare=False)
    # Where each setting came from, for messages: "NEWSWATCH_DB (environment)",
    # "newswatch.toml:3", or "default" when absent.
    origins: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def has_telegram(self) -> bool:
        return bool(self.telegram_token)

    def origin(self, name: str) -> str:
        return self.origins.get(name, "default")

    def describe_db(self) -> str:
        """``/path/newswatch.db (from NEWSWATCH_DB (environment))``, for messages."""
        origin = self.origin("db_path")
        if origin == "default":
            origin = "the default per-user location"
        return f"{self.db_path} (from {origin})"


def default_db_path(env: Mapping[str, str]) -> str:
    """``$XDG_DATA_HOME/newswatch/newswatch.db``, else ``~/.local/share/newswatch/newswatch.db``.

    The same file whatever the current directory, as long as NEWSWATCH_DB and the config's
    ``db_path`` are unset.
    """
    base = env.get("XDG_DATA_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return str(root / "newswatch" / "newswatch.db")


ENV_KEYS: dict[str, str] = {
    "TELEGRAM_BOT_TOKEN": "telegram_token",
    "TELEGRAM_API_URL": "telegram_api_url",
    "NEWSWATCH_CHAT_IDS": "chat_ids",
    "NEWSWATCH_ADMIN_IDS": "admin_ids",
    "NEWSWATCH_DB": "db_path",
    "NEWSWATCH_FEEDS": "feeds_file",
    "NEWSWATCH_WATCHLISTS": "watchlists_dir",
    "NEWSWATCH_TELEGRAM_PREVIEW_URL": "telegram_preview_url",
    "NEWSWATCH_GDELT_URL": "gdelt_api_url",
    "NEWSWATCH_EVENT_LOOP": "event_loop",
}

_FIELD_TYPES = {f.name: f.type for f in fields(Config) if f.name not in ("source", "origins")}
_PASSWORD_HASH = re.compile(r"^pbkdf2_sha256\$\d+\$[^$\s]+\$[A-Za-z0-9+/=]+$")
_ID_LIST = re.compile(r"^\s*-?\d+(\s*,\s*-?\d+)*\s*,?\s*$")


def _line_of(text: str, key: str) -> int:
    """The line that sets ``key``: ``key =``, ``"key" =``, ``key.sub =`` or a ``[key]`` table."""
    quoted = rf"(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')"
    patterns = (rf"^[ \t]*{quoted}[ \t]*[=.]", rf"^[ \t]*\[\[?[ \t]*{quoted}[ \t]*[\].]")
    for pattern in patterns:
        match = re.search(pattern, text, re.M)
        if match:
            return text.count("\n", 0, match.start()) + 1
    return 1


def _env_where(env_key: str) -> str:
    return f"{env_key} (environment)"


def _coerce(name: str, value: Any, where: str, line: int) -> tuple[Any, Problem | None]:
    kind = str(_FIELD_TYPES[name])
    if name in ("chat_ids", "admin_ids"):
        if isinstance(value, str):
            if not value.strip():
                return (), None
            if not _ID_LIST.match(value):
                return None, Problem(where, line, f"{name}: expected comma-separated integer ids")
            return tuple(int(v) for v in value.split(",") if v.strip()), None
        if isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            return tuple(value), None
        return None, Problem(where, line, f"{name}: expected a list of integer ids")
    if kind == "bool":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no"):
            return value.lower() in ("1", "true", "yes"), None
        return None, Problem(where, line, f"{name}: expected true or false")
    if kind in ("int", "float"):
        caster = int if kind == "int" else float
        try:
            number = caster(value)
        except (TypeError, ValueError):
            return None, Problem(where, line, f"{name}: expected a number, got {value!r}")
        if isinstance(value, bool) or number < 0:
            return None, Problem(where, line, f"{name}: expected a non-negative number")
        return number, None
    if not isinstance(value, str):
        return None, Problem(where, line, f"{name}: expected a string")
    return (value or None) if "None" in kind else value, None


def load_config(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> tuple[Config, list[Problem]]:
    """Build the Config from ``path`` (or ``NEWSWATCH_CONFIG``) and ``environ``.

    Returns the config and every problem found; with problems, invalid values keep defaults.
    """
    env = os.environ if environ is None else environ
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    config_path = path or env.get("NEWSWATCH_CONFIG") or None
    source = "defaults"
    if config_path:
        where = str(config_path)
        source = where
        try:
            text = Path(config_path).read_text(encoding="utf-8")
        except OSError as exc:
            problems.append(Problem(where, 0, f"cannot read config file: {exc.strerror or exc}"))
            text = ""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            line = getattr(exc, "lineno", None) or _toml_error_line(str(exc))
            problems.append(Problem(where, line, f"TOML syntax error: {exc}"))
            data = {}
        for key, value in data.items():
            line = _line_of(text, key)
            if key not in _FIELD_TYPES:
                problems.append(Problem(where, line, unknown_key(key, _FIELD_TYPES)))
                continue
            coerced, problem = _coerce(key, value, where, line)
            if problem:
                problems.append(problem)
            else:
                values[key] = coerced
                origins[key] = f"{where}:{line}"
        if values.get("db_path"):  # relative to the config file, not to the current directory
            db = Path(values["db_path"]).expanduser()
            values["db_path"] = str(db if db.is_absolute() else Path(where).parent / db)
    for env_key, name in ENV_KEYS.items():
        if env_key in env:
            coerced, problem = _coerce(name, env[env_key], _env_where(env_key), 0)
            if problem:
                problems.append(problem)
            else:
                values[name] = coerced
                origins[name] = _env_where(env_key)
    if values.get("db_path"):
        values["db_path"] = str(Path(values["db_path"]).expanduser())
    else:
        values["db_path"] = default_db_path(env)
        origins.pop("db_path", None)
    config = replace(Config(source=source, origins=origins), **values)
    problems.extend(_validate(config))
    return config, problems


def _toml_error_line(message: str) -> int:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else 1


def _at(config: Config, name: str, message: str) -> Problem:
    """A problem with setting ``name``, placed where that setting was made."""
    origin = config.origin(name)
    if origin == "default":
        return Problem("defaults", 0, f"{name}: {message}")
    where, colon, line = origin.rpartition(":")
    if colon and line.isdecimal():
        return Problem(where, int(line), f"{name}: {message}")
    return Problem(origin, 0, message)


def _validate(config: Config) -> list[Problem]:
    problems = []
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(_at(config, "timezone", f"unknown time zone {config.timezone!r}"))
    if not re.match(r"^https?://", config.telegram_api_url):
        problems.append(_at(config, "telegram_api_url", "must start with http:// or https://"))
    if config.poll_interval_seconds < 10:
        problems.append(_at(config, "poll_interval_seconds", "must be at least 10"))
    if config.pause_after_failures < 1:
        problems.append(_at(config, "pause_after_failures", "must be at least 1"))
    if config.min_interval_seconds > config.max_interval_seconds:
        problems.append(_at(config, "min_interval_seconds", "must not exceed max_interval_seconds"))
    if config.retention_days < 1:
        problems.append(_at(config, "retention_days", "must be at least 1"))
    if config.telegram_token and not re.match(r"^\d+:[A-Za-z0-9_-]{20,}$", config.telegram_token):
        problems.append(
            _at(config, "telegram_token", "does not look like a BotFather token (123:ABC…)")
        )
    if config.web_base_url and not re.match(r"^https?://[^\s/]+", config.web_base_url):
        problems.append(_at(config, "web_base_url", "must be an http:// or https:// address"))
    if config.web_password_hash and not _PASSWORD_HASH.match(config.web_password_hash):
        problems.append(
            _at(
                config,
                "web_password_hash",
                "not a password hash (make one with `main.py web --hash-password`)",
            )
        )
    if config.event_loop not in set(EventLoopChoice):
        choices = ", ".join(f'"{c}"' for c in EventLoopChoice)
        problems.append(_at(config, "event_loop", f"must be one of {choices}"))
    elif config.event_loop == EventLoopChoice.UVLOOP and not uvloop_installed():
        problems.append(
            _at(config, "event_loop", "uvloop is not installed (pip install 'newswatch[fast]')")
        )
    if not re.match(r"^[A-Za-z0-9_.-]+$", config.web_username):
        problems.append(_at(config, "web_username", "letters, digits, _ . - only"))
    if config.feeds_file and not Path(config.feeds_file).is_file():
        problems.append(_at(config, "feeds_file", f"feed list file not found: {config.feeds_file}"))
    if not Path(config.watchlists_dir).is_dir():
        problems.append(
            _at(
                config, "watchlists_dir", f"watchlists directory not found: {config.watchlists_dir}"
            )
        )
    return problems
