"""What every command does first: read the config (secrets registered, problems refused), and
refuse to create a database for the commands that only read one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.app.config import Config, load_config
from bot.app.logging_setup import register_secret
from bot.core.errors import ConfigError


def load(args: argparse.Namespace) -> Config:
    """The config named by ``--config`` (or the environment); ConfigError on any problem."""
    config, problems = load_config(args.config)
    register_secret(config.telegram_token)  # redacted by its exact value from now on
    if problems:
        raise ConfigError(problems)
    return config


def no_database(config: Config) -> bool:
    """Read-only commands never create a database: say where we looked, and how to change it."""
    if Path(config.db_path).is_file():
        return False
    print(
        f"newswatch: no database at {config.describe_db()}: newswatch has not run yet"
        " with this database. Point to another one with NEWSWATCH_DB=/path/newswatch.db,"
        " or db_path in the config file (--config).",
        file=sys.stderr,
    )
    return True
