"""`check` (validate the config, watchlists, feed list and page selectors) and `status` (the
running bot's health, read from the database and the lock file)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.app.config import load_config
from bot.app.logging_setup import register_secret
from bot.cli.loading import load, no_database
from bot.core.models import FeedSpec, Problem
from bot.feeds.feed_list import load_feed_list
from storage.db import open_database


def add_commands(sub: Any) -> None:
    """The `check` and `status` subcommands."""
    sub.add_parser("check", help="validate configuration and watchlists").set_defaults(
        func=cmd_check
    )
    sub.add_parser(
        "status", help="uptime, last cycle, pending deliveries, failing feeds, database size"
    ).set_defaults(func=cmd_status)


def cmd_status(args: argparse.Namespace) -> int:
    from bot.app.status import collect_status
    from bot.core.status_report import render_text

    config = load(args)
    if no_database(config):
        return 1
    report = collect_status(open_database(config.db_path), config.db_path)
    print(render_text(report))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from bot.cycle.watchlist_files import load_watchlist_dir, watchlist_warnings

    config, problems = load_config(args.config)
    register_secret(config.telegram_token)
    problems = list(problems)
    wl_dir = Path(config.watchlists_dir)
    watchlists = None
    if wl_dir.is_dir():
        watchlists, wl_problems = load_watchlist_dir(wl_dir)
        problems.extend(wl_problems)
    feeds: Sequence[FeedSpec] = ()
    if config.feeds_file and Path(config.feeds_file).is_file():
        feeds, feed_problems = load_feed_list(config.feeds_file)
        problems.extend(feed_problems)
    elif watchlists is not None:
        feeds = watchlists.feeds
    problems.extend(_selector_problems(feeds))
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    for warning in watchlist_warnings(watchlists) if watchlists else []:
        print(warning)  # "file:line: warning: …": not a problem, the exit code stays 0
    entities = len(watchlists.entities) if watchlists else 0
    mode = "Telegram" if config.telegram_token else "console (no TELEGRAM_BOT_TOKEN)"
    print(
        f"ok: {entities} entities, {len(feeds)} feeds, alerts to {mode},"
        f" database {config.describe_db()}"
    )
    return 0


def _selector_problems(specs: Sequence[FeedSpec]) -> list[Problem]:
    """Page sources whose CSS selectors do not compile, at the line that declares them."""
    from bot.core.models import SourceKind
    from bot.feeds.sources.page import check_selectors

    problems = []
    for spec in specs:
        if spec.kind is not SourceKind.PAGE or spec.selectors is None:
            continue
        reason = check_selectors(spec.selectors)
        if reason:
            problems.append(Problem(spec.origin, _line_naming(spec), f"{spec.url}: {reason}"))
    return problems


def _line_naming(spec: FeedSpec) -> int:
    try:
        lines = Path(spec.origin).read_text(encoding="utf-8").splitlines()
    except OSError:
        return 1
    for number, line in enumerate(lines, start=1):
        if spec.target in line:
            return number
    return 1
