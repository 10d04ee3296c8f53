"""The query commands: search, recent, story, stats, map, export, feeds [export | retry URL],
parsed here and answered by ``bot.cli.cli_queries`` from the stored alerts and feeds."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.app.composition import configured_feeds
from bot.cli.loading import load, no_database
from storage.db import open_database
from storage.repository import Repository


def add_commands(sub: Any) -> None:
    """The query subcommands."""
    search = sub.add_parser("search", help="full-text search over stored alerts")
    search.add_argument("query", nargs="+", help='words, "a phrase", prefix*, since:7d')
    search.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    recent = sub.add_parser("recent", help="the latest alerts, newest first")
    recent.add_argument("span", nargs="?", help="a count (default 10) or a period: 6h, 3d")
    story = sub.add_parser("story", help="every outlet that reported a story (as /story)")
    story.add_argument("story_id", help="the story id, shown as [story N] in lists")
    stats = sub.add_parser("stats", help="stories per entity and source vs the period before")
    stats.add_argument("period", nargs="?", help="the period (default 7d)")
    incident_map = sub.add_parser("map", help="a PNG map of stored incidents (like /map)")
    incident_map.add_argument("args", nargs="*", help="[period, default 30d] [entity]")
    incident_map.add_argument("--out", default="incidents-map.png", help="the PNG file to write")
    incident_map.add_argument("--arabic", action="store_true", help="label places in Arabic")
    export = sub.add_parser("export", help="alerts as CSV on stdout")
    export.add_argument("period", nargs="?", help="only this recent period (default: all)")
    feeds = sub.add_parser(
        "feeds",
        help="every feed with its health; `feeds export`: OPML;"
        " `feeds retry URL`: fetch a paused or 410-disabled feed again",
    )
    feeds.add_argument(
        "action",
        nargs="?",
        choices=["export", "retry"],
        help="export: OPML on stdout; retry: make the feed active and due now",
    )
    feeds.add_argument("target", nargs="?", help="retry: the feed's URL, or a unique part of it")
    for parser in (search, recent, story, stats, export, feeds, incident_map):
        parser.set_defaults(func=cmd_query)


def cmd_query(args: argparse.Namespace) -> int:
    """search | recent | stats | export | feeds [export | retry URL]: the stored alerts and
    feeds, printed to stdout (`feeds retry` is the one that writes: a feed's state)."""
    from datetime import UTC, datetime

    from bot.cli import cli_queries
    from storage.queries import Queries

    config = load(args)
    now = datetime.now(UTC)
    if args.command == "feeds" and args.action == "export":
        return cli_queries.run_feeds_export(configured_feeds(config), sys.stdout)
    if no_database(config):
        return 1
    if args.command == "feeds" and args.action == "retry":
        return cli_queries.run_feed_retry(
            Repository(open_database(config.db_path)),
            args.target or "",
            sys.stdout,
            sys.stderr,
            now,
        )
    queries = Queries(open_database(config.db_path))
    out, err = sys.stdout, sys.stderr
    if args.command == "search":
        return cli_queries.run_search(queries, " ".join(args.query), out, err, now, args.limit)
    if args.command == "recent":
        return cli_queries.run_recent(queries, args.span, out, err, now)
    if args.command == "story":
        return cli_queries.run_story(queries, args.story_id, out, err)
    if args.command == "stats":
        return cli_queries.run_stats(queries, args.period, out, err, now)
    if args.command == "export":
        return cli_queries.run_export(queries, args.period, out, err, now)
    if args.command == "map":
        return cli_queries.run_map(queries, args.args, args.out, out, err, now, arabic=args.arabic)
    return cli_queries.run_feeds(queries, configured_feeds(config), out, now)
