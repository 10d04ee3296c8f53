"""Composition root and command line of newswatch: builds the components and runs a command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bot.app.config import Config, load_config
from bot.app.instance_lock import instance_locks
from bot.app.logging_setup import configure_logging, register_secret
from bot.app.service import Service
from bot.core.errors import ConfigError, NewswatchError
from bot.core.models import FeedSpec, Problem
from bot.core.schedule import SchedulePolicy
from bot.cycle.background_delivery import BackgroundDeliverer
from bot.cycle.cycle_log import CycleLog
from bot.cycle.pipeline import CycleSettings, Pipeline
from bot.cycle.story_grouping import StoryGrouper
from bot.feeds.feed_list import load_feed_list
from bot.feeds.fetcher import Fetcher, FetchSettings
from bot.feeds.parse_pool import ParsePool
from storage.db import open_database
from storage.identity import identity_of, verify
from storage.repository import Repository

log = logging.getLogger("newswatch")


def _load(args: argparse.Namespace) -> Config:
    config, problems = load_config(args.config)
    register_secret(config.telegram_token)  # redacted by its exact value from now on
    if problems:
        raise ConfigError(problems)
    return config


def _managed_files(config: Config) -> Any:
    """The bot-managed watchlist and feed list (/watch, /addfeed), beside the database."""
    from bot.cycle.managed_files import ManagedFiles

    return ManagedFiles(Path(config.db_path).expanduser().resolve().parent)


def _feeds_provider(config: Config, reloader: Any, managed: Any) -> Any:
    """NEWSWATCH_FEEDS replaces every watchlist-listed feed; otherwise the watchlists' feeds.
    The bot-managed feed list (/addfeed) adds to either. Both files are read again when they
    change (a bad edit keeps the last good list)."""
    from bot.cycle.managed_files import FeedListFile

    base = None
    if config.feeds_file:
        base = FeedListFile(Path(config.feeds_file))
        problems = base.load()
        if problems:
            raise ConfigError(problems)
    added = FeedListFile(managed.feeds, required=False)
    added.load()

    def feeds() -> list[FeedSpec]:
        specs = base.current() if base is not None else list(reloader.current.feeds)
        seen = {s.url for s in specs}
        return specs + [s for s in added.current() if s.url not in seen]

    return feeds


def build_service(config: Config, *, background_delivery: bool = False) -> tuple[Service, Fetcher]:
    """Wire storage, fetcher, watchlists, pipeline and the deliverer for ``config``.

    ``background_delivery`` (for ``run``): cycles hand their alerts to a background sender
    and go on; ``poll --once`` delivers before it exits.
    """
    from bot.console.delivery import ConsoleDeliverer
    from bot.cycle.watchlist_files import WatchlistReloader

    db = open_database(config.db_path)
    repo = Repository(db)
    managed = _managed_files(config)
    reloader = WatchlistReloader(
        Path(config.watchlists_dir),
        extra_files=[managed.watchlist],
        feeds_from=f"{config.feeds_file} (NEWSWATCH_FEEDS)" if config.feeds_file else None,
    )
    reloader.load()
    feeds = _feeds_provider(config, reloader, managed)
    fetcher = Fetcher(
        FetchSettings(
            max_concurrency=config.max_concurrency,
            max_per_host=config.max_per_host,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            deadline=config.fetch_deadline,
            max_body_bytes=config.max_body_bytes,
            max_redirects=config.max_redirects,
            allow_private_addresses=config.allow_private_addresses,
            user_agent=config.user_agent,
        )
    )
    application = None
    deliverer: Any
    commands: Any = None
    start_hooks: list[Callable[[], Awaitable[None]]] = []
    if config.telegram_token:
        from bot.app.access import AccessControl
        from bot.telegram.application import build_application
        from bot.telegram.buttons import MuteButtons
        from bot.telegram.commands.dispatch import Commands
        from bot.telegram.delivery import ChatPacer, TelegramDeliverer
        from bot.telegram.error_handler import ErrorReporter
        from bot.telegram.flood import FloodGuard
        from storage.queries import Queries

        pacer = ChatPacer()  # one per-chat pacer for alerts and command replies
        application = build_application(config.telegram_token, config.telegram_api_url, pacer)
        flood_guard = FloodGuard()
        flood_guard.register(application)
        deliverer = TelegramDeliverer(
            application.bot,
            repo,
            timezone=config.timezone,
            admin_ids=config.admin_ids,
            link_previews=config.link_previews,
            digest_threshold=config.digest_threshold,
            story_edit_interval=float(config.story_edit_interval_seconds),
            alert_chats=lambda: (*config.chat_ids, *repo.subscribed_chats()),
            pacer=pacer,
        )
        ErrorReporter(deliverer.notify_admins).register(application)
        MuteButtons(repo, admin_ids=config.admin_ids, timezone=config.timezone).register(
            application
        )
        access = AccessControl(repo, admin_ids=config.admin_ids, chat_ids=config.chat_ids)
        flood_guard.exempt = access.is_admin
        commands = Commands(
            access=access,
            repo=repo,
            queries=Queries(db),
            watchlists=lambda: reloader.current,
            matcher=lambda: reloader.matcher,
            timezone=config.timezone,
            web_base_url=config.web_base_url,
        )
        commands.register(application)
        commands.status = _health_status(config, db)
        start_hooks.append(_command_start_hook(application, commands, access))
        start_hooks.append(_alert_chat_check(config, repo, reloader))
    else:
        deliverer = ConsoleDeliverer(
            repo, config.timezone, digest_threshold=config.digest_threshold
        )
        start_hooks.append(deliverer.hint)
    if background_delivery:
        deliverer = BackgroundDeliverer(deliverer)
    if commands is not None:
        sender = deliverer

        async def deliver_now() -> None:
            await sender.deliver([])

        commands.deliver_now = deliver_now

    if application is not None:
        from bot.telegram.chat_revival import ChatRevival, revival_for

        ChatRevival(
            repo,
            notify_admins=deliverer.notify_admins,
            kick=revival_for(deliverer),
            is_admin=access.is_admin,
        ).register(application)
    pipeline = Pipeline(
        repo,
        fetcher,
        matcher=lambda: reloader.matcher,
        feeds=feeds,
        deliverer=deliverer,
        settings=CycleSettings(
            chat_ids=config.chat_ids,
            extra_chats=repo.subscribed_chats,
            backfill_hours=config.backfill_hours,
            policy=SchedulePolicy(
                interval=float(config.poll_interval_seconds),
                min_interval=float(min(config.min_interval_seconds, config.poll_interval_seconds)),
                max_interval=float(config.max_interval_seconds),
                backoff_cap=float(config.backoff_cap_seconds),
                pause_after_failures=config.pause_after_failures,
            ),
            spread_seconds=config.fetch_spread_seconds,
            # `poll --once` fetches every feed at once, bounded by the concurrency limits.
            forced_spread_seconds=0.0,
            deliver_per_feed=background_delivery,
        ),
        stories=StoryGrouper(repo, timedelta(hours=config.story_window_hours)),
        # Worker processes (one per core) start only once there are bodies enough to parse.
        parse_executor=ParsePool(),
        sources=build_source_reader(config, fetcher),
    )

    if commands is not None:
        commands.feed_admin = _feed_admin(config, managed, reloader, feeds, fetcher, pipeline)

    def reload_watchlists() -> str | None:
        event = reloader.check()
        return event.message if event is not None else None

    service = Service(
        pipeline=pipeline,
        deliverer=deliverer,
        reload_watchlists=reload_watchlists,
        tick_seconds=float(max(10, min(60, config.poll_interval_seconds))),
        application=application,
        maintenance=lambda: _prune(db, config.retention_days),
        storage_name=f"the database {config.db_path}",
        check_storage=partial(verify, identity_of(config.db_path)),
        defer_updates=lambda payloads: repo.defer_updates(payloads, _utcnow()),
        # Commands kept at the last shutdown; older ones than this are stale, not answered.
        deferred_updates=lambda: repo.take_deferred_updates(_utcnow() - timedelta(minutes=15)),
    )
    service.on_start.extend(start_hooks)
    if background_delivery:
        service.cycle_log = CycleLog(every=float(max(60, config.poll_interval_seconds)))
    return service, fetcher


def build_source_reader(config: Config, fetcher: Fetcher) -> Any:
    """Readers of the sources that are not feeds: Telegram channels, pages, GDELT queries."""
    from bot.core.models import SourceKind
    from bot.feeds.sources.base import SourceReader
    from bot.feeds.sources.gdelt import GdeltLimiter, GdeltReader
    from bot.feeds.sources.page import PageReader
    from bot.feeds.sources.telegram_channel import TelegramReader

    return SourceReader(
        {
            SourceKind.TELEGRAM: TelegramReader(
                fetcher, config.telegram_preview_url, backfill_hours=config.backfill_hours
            ),
            SourceKind.PAGE: PageReader(fetcher),
            SourceKind.GDELT: GdeltReader(
                fetcher,
                config.gdelt_api_url,
                limiter=GdeltLimiter(config.gdelt_min_gap_seconds),
                poll_interval=float(config.poll_interval_seconds),
                backfill_hours=config.backfill_hours,
            ),
        }
    )


def _utcnow() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _command_start_hook(application: Any, commands: Any, access: Any) -> Any:
    """At `run` start: publish the command list, and print a pairing code when no admin exists."""

    async def hook() -> None:
        try:
            await commands.publish(application)
        except Exception as exc:  # the commands still work without the published list
            log.warning("setMyCommands failed: %s", type(exc).__name__)
        code = access.new_pairing_code()
        if code:
            print(
                f"PAIRING: no admin is configured. In Telegram, send /start {code} to"
                f" @{application.bot.username} to become the owner (the code works once).",
                flush=True,
            )

    return hook


def _feed_admin(
    config: Config, managed: Any, reloader: Any, feeds: Any, fetcher: Fetcher, pipeline: Pipeline
) -> Any:
    """What /watch, /unwatch, /addfeed and /rmfeed need: the files, a reload, a feed probe."""
    from bot.telegram.feed_admin import FeedAdmin, FeedProbe

    async def probe(url: str) -> FeedProbe:
        result = await fetcher.fetch(url, None, None)
        if result.error or result.body is None:
            return FeedProbe(url, error=str(result.error or "the server sent no content"))
        parsed, _keys, _links = await pipeline.parse_body(result.body, url, result.content_type)
        if parsed.error:
            return FeedProbe(url, error=str(parsed.error))
        return FeedProbe(url, title=parsed.title, items=len(parsed.items))

    return FeedAdmin(
        managed=managed,
        reload=reloader.check,
        watchlists=lambda: reloader.current,
        feed_urls=lambda: [s.url for s in feeds()],
        probe=probe,
        feeds_file=config.feeds_file,
    )


def _alert_chat_check(config: Config, repo: Repository, reloader: Any) -> Any:
    """At `run` start: warn once when no chat at all would receive alerts."""

    async def hook() -> None:
        routed = any(entity.chats for entity in reloader.current.entities)
        if config.chat_ids or routed or repo.subscribed_chats():
            return
        log.warning(
            "no alert chat: alerts are stored but sent nowhere. As the owner, send /subscribe"
            " in a chat (or pair first with /start CODE, which subscribes your chat), or set"
            " NEWSWATCH_CHAT_IDS. Alerts found meanwhile are offered as a digest then."
        )

    return hook


def _prune(db: Any, retention_days: int) -> None:
    from datetime import UTC, datetime

    from storage.maintenance import prune

    log.info("%s", prune(db, datetime.now(UTC), retention_days).summary())


def _health_status(config: Config, db: Any) -> Any:
    """What /health shows: a fresh status report of this process on every call."""
    from datetime import UTC, datetime

    from bot.app.status import collect_status

    started_at = datetime.now(UTC)

    def status() -> Any:
        return collect_status(
            db, config.db_path, started_at=started_at, pid=os.getpid(), command="run"
        )

    return status


def _with_instance_lock(config: Config, command: str, body: Any) -> int:
    """Run ``body`` holding the database and bot-token locks; refuse when another holds them."""
    # AlreadyRunning (exit 3) is shown by main(), as every NewswatchError.
    with instance_locks(
        config.db_path, config.telegram_token, command, api_url=config.telegram_api_url
    ):
        return int(body())


async def _poll_once(config: Config) -> int:
    service, fetcher = build_service(config)
    app = service.application
    try:
        if app is not None:
            await app.bot.initialize()
        report = await service.cycle(force=True)
        unrecorded = _unrecorded_sends(service.deliverer)
    finally:
        if app is not None:
            await app.bot.shutdown()
        await fetcher.aclose()
        _stop_parse_workers(service)
    if report is not None:  # the failures grouped by reason, then the one `cycle:` line
        cycle_log = CycleLog(every=0.0)
        cycle_log.add(report)
    if unrecorded:
        log.error(
            "%d message(s) were sent but could not be recorded (delivery:message %s): the next"
            " run sends them again",
            len(unrecorded),
            ", ".join(f"{d}:{m}" for d, m in unrecorded.items()),
        )
    storage_error = (report.storage_error if report else None) or unrecorded
    return 1 if storage_error else 0


def _unrecorded_sends(deliverer: Any) -> dict[int, int | None]:
    """Sends whose `sent` mark could not be committed, after one last try to record them."""
    record = getattr(deliverer, "record_unrecorded", None)
    if record is None or record():
        return {}
    return dict(deliverer.unrecorded)


async def _run(config: Config) -> int:
    log.info("database: %s", config.describe_db())
    service, fetcher = build_service(config, background_delivery=True)
    try:
        await service.run_forever()
    finally:
        await fetcher.aclose()
        _stop_parse_workers(service)
    return service.exit_code


def _stop_parse_workers(service: Service) -> None:
    """Drop queued parses and end the worker processes (a running parse takes milliseconds)."""
    from bot.render.heavy_work import shutdown_heavy_work

    executor = service.pipeline.parse_executor
    if executor is not None:
        executor.shutdown(wait=True, cancel_futures=True)
    shutdown_heavy_work()  # charts and exports


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args)
    return _with_instance_lock(config, "run", lambda: asyncio.run(_run(config)))


def cmd_poll(args: argparse.Namespace) -> int:
    if not args.once:
        print(
            "poll: only --once is supported (use `run` for the scheduled service)", file=sys.stderr
        )
        return 2
    config = _load(args)
    return _with_instance_lock(config, "poll --once", lambda: asyncio.run(_poll_once(config)))


def _no_database(config: Config) -> bool:
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


def cmd_status(args: argparse.Namespace) -> int:
    from bot.app.status import collect_status
    from bot.core.status_report import render_text

    config = _load(args)
    if _no_database(config):
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


def cmd_match(args: argparse.Namespace) -> int:
    from bot.cli.match_report import run_match
    from bot.cli.source_match import SourceError, resolve_source
    from bot.cycle.watchlist_files import WatchlistReloader

    config = _load(args)
    reloader = WatchlistReloader(Path(config.watchlists_dir))
    reloader.load()
    configured = _feed_specs(config)
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


def cmd_query(args: argparse.Namespace) -> int:
    """search | recent | stats | export | feeds [export | retry URL]: the stored alerts and
    feeds, printed to stdout (`feeds retry` is the one that writes: a feed's state)."""
    from datetime import UTC, datetime

    from bot.cli import cli_queries
    from storage.queries import Queries

    config = _load(args)
    now = datetime.now(UTC)
    if args.command == "feeds" and args.action == "export":
        return cli_queries.run_feeds_export(_feed_specs(config), sys.stdout)
    if _no_database(config):
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
    return cli_queries.run_feeds(queries, _feed_specs(config), out, now)


def _feed_specs(config: Config) -> list[FeedSpec]:
    """The feeds `run` would poll: NEWSWATCH_FEEDS, or every watchlist's feeds."""
    from bot.cycle.watchlist_files import WatchlistReloader

    if config.feeds_file:
        specs, problems = load_feed_list(config.feeds_file)
        if problems:
            raise ConfigError(problems)
        return specs
    reloader = WatchlistReloader(Path(config.watchlists_dir))
    reloader.load()
    return list(reloader.current.feeds)


def cmd_web(args: argparse.Namespace) -> int:
    """The browsable archive: the database read-only in Datasette (bot/web/)."""
    from bot.web.server import hash_password, serve

    if args.hash_password:
        return hash_password(sys.stdin, sys.stdout, sys.stderr)
    config = _load(args)
    return serve(config, args.host, args.port)  # a WebError is shown by main()


def _add_query_commands(sub: Any) -> None:
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


def _common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--config and -v, accepted before or after the subcommand.

    Below the subcommand their default is SUPPRESS, so an option given before the
    subcommand is not overwritten by the subparser's default.
    """
    default: Any = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--config", default=default, help="TOML config file (default: $NEWSWATCH_CONFIG)"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="debug logging",
    )


class _SubcommandParser(argparse.ArgumentParser):
    """Every subcommand also takes --config and -v (after the subcommand's name)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _common_options(self, top=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newswatch",
        description="News-monitoring alerts: watched entities in news feeds, sent to Telegram.",
    )
    _common_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_SubcommandParser)
    sub.add_parser("run", help="run the bot: scheduled polling and Telegram commands").set_defaults(
        func=cmd_run
    )
    poll = sub.add_parser("poll", help="poll feeds")
    poll.add_argument(
        "--once", action="store_true", help="one full cycle over all feeds, then exit"
    )
    poll.set_defaults(func=cmd_poll)
    sub.add_parser("check", help="validate configuration and watchlists").set_defaults(
        func=cmd_check
    )
    sub.add_parser(
        "status", help="uptime, last cycle, pending deliveries, failing feeds, database size"
    ).set_defaults(func=cmd_status)
    _add_query_commands(sub)
    web = sub.add_parser(
        "web", help="browse and search the stored alerts in a web browser (Datasette, read-only)"
    )
    web.add_argument("--port", type=int, default=8001, help="TCP port (default 8001)")
    web.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other needs web_password_hash)",
    )
    web.add_argument(
        "--hash-password",
        action="store_true",
        help="print a web_password_hash for a password (prompted, or one line on stdin)",
    )
    web.set_defaults(func=cmd_web)
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(verbose=args.verbose)
    register_secret(os.environ.get("TELEGRAM_BOT_TOKEN"))  # even one the config refuses
    try:
        return int(args.func(args) or 0)
    except NewswatchError as exc:  # the one place the command line shows our errors
        for line in exc.lines():
            print(line, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `main.py match … | head`: the reader is gone, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 141
    except Exception:  # boundary: anything else is a bug, logged with its traceback
        # Through the redacting log formatter: a raw traceback could print the bot token.
        log.critical("newswatch stopped by an unexpected error", exc_info=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
