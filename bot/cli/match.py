"""`match`: which items of feeds (files, URLs, stdin) or of a source (Telegram channel, page,
GDELT query) would alert, and why."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.app.composition import build_source_reader, configured_feeds
from bot.app.config import Config
from bot.cli.loading import load
from bot.core.models import FeedSpec
from bot.feeds.fetcher import Fetcher, FetchSettings


def add_commands(sub: Any) -> None:
    """The `match` subcommand."""
    match = sub.add_parser("match", help="show which feed items would alert, and why")
    match.add_argument(
        "sources",
        nargs="+",
        help="feed file, feed URL, - for stdin, or a source: telegram:NAME, page:URL,"
        " gdelt:QUERY, or a configured source's URL or title",
    )
    match.add_argument("--json", action="store_true", help="one JSON object per line")
    match.add_argument("--all", action="store_true", help="include items that do not alert")
    match.set_defaults(func=cmd_match)


def cmd_match(args: argparse.Namespace) -> int:
    from bot.cli.match_report import run_match
    from bot.cli.source_match import SourceError, resolve_source
    from bot.cycle.watchlist_files import WatchlistReloader

    config = load(args)
    reloader = WatchlistReloader(Path(config.watchlists_dir))
    reloader.load()
    configured = configured_feeds(config)
    status = 0
    for source in args.sources:
        try:
            spec = resolve_source(source, configured)
        except SourceError as exc:
            print(f"{source}: {exc}", file=sys.stderr)
            status = max(status, 1)
            continue
        if spec is not None:
            code = asyncio.run(_match_source(config, spec, reloader.matcher, args))
        else:
            code = run_match(
                [source],
                reloader.matcher,
                as_json=args.json,
                include_all=args.all,
                out=sys.stdout,
                stdin=sys.stdin.buffer,
            )
        status = max(status, code)
    return status


async def _match_source(config: Config, spec: FeedSpec, matcher: Any, args: Any) -> int:
    """`match` on a Telegram channel, a page or a GDELT query: one read, as `run` would."""
    from bot.cli.source_match import run_source_match

    fetcher = Fetcher(FetchSettings(user_agent=config.user_agent))
    try:
        return await run_source_match(
            spec,
            build_source_reader(config, fetcher),
            fetcher,
            matcher,
            as_json=args.json,
            include_all=args.all,
            out=sys.stdout,
            err=sys.stderr,
        )
    finally:
        await fetcher.aclose()
