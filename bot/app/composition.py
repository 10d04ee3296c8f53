"""The composition root: builds the repository, fetcher, watchlists, story grouper, deliverer,
pipeline and service from a Config, and wires them together (used by the CLI and the tests)."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from bot.app.config import Config
from bot.app.service import Service
from bot.core.errors import ConfigError
from bot.core.matching import Matcher
from bot.core.models import FeedSpec
from bot.core.schedule import SchedulePolicy
from bot.cycle.background_delivery import BackgroundDeliverer
from bot.cycle.cycle_log import CycleLog
from bot.cycle.pipeline import CycleSettings, Deliverer, Pipeline
from bot.cycle.story_grouping import StoryGrouper
from bot.feeds.feed_list import load_feed_list
from bot.feeds.fetcher import Fetcher, FetchSettings
from bot.feeds.parse_pool import ParsePool
from storage.checkpoints import WalCheckpointer
from storage.db import open_database
from storage.identity import identity_of, verify
from storage.repository import Repository

log = logging.getLogger("newswatch")


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


def fetch_settings(config: Config) -> FetchSettings:
    """The fetcher's limits from the config."""
    return FetchSettings(
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


def cycle_settings(
    config: Config, repo: Repository, *, background_delivery: bool = False
) -> CycleSettings:
    """A cycle's chats, backfill, schedule bounds and spread from the config."""
    return CycleSettings(
        chat_ids=config.chat_ids,
        extra_chats=repo.access.subscribed_chats,
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
        # `poll --once` (the one caller without background delivery) runs a single cycle
        stop_parse_workers_after_fetches=not background_delivery,
    )


def console_deliverer(config: Config, repo: Repository, out: TextIO | None = None) -> Any:
    """The deliverer without a Telegram token: alerts printed to ``out`` (stdout)."""
    from bot.console.delivery import ConsoleDeliverer

    return ConsoleDeliverer(repo, config.timezone, out, digest_threshold=config.digest_threshold)


def build_pipeline(
    config: Config,
    repo: Repository,
    fetcher: Fetcher,
    *,
    matcher: Callable[[], Matcher],
    feeds: Callable[[], Sequence[FeedSpec]],
    deliverer: Deliverer,
    background_delivery: bool = False,
    stories: bool = True,
    parse_executor: Any = None,
    sources: Any = None,
) -> Pipeline:
    """The cycle's stages wired for ``config``: fetch, parse, match, group, store, deliver."""
    grouper = (
        StoryGrouper(
            repo,
            timedelta(hours=config.story_window_hours),
            store_signatures=True,
            # `poll --once` files its alerts with its second core idle: a helper process
            # computes their signatures meanwhile (bot.cycle.signature_helper)
            parallel_signatures=not background_delivery,
        )
        if stories
        else None
    )
    if grouper is not None and background_delivery:
        grouper.preload()  # `run`: at start; `poll --once`: with its first alert, if any
    return Pipeline(
        repo,
        fetcher,
        matcher=matcher,
        feeds=feeds,
        deliverer=deliverer,
        settings=cycle_settings(config, repo, background_delivery=background_delivery),
        stories=grouper,
        parse_executor=parse_executor,
        sources=sources,
    )


def configured_feeds(config: Config) -> list[FeedSpec]:
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


def build_service(config: Config, *, background_delivery: bool = False) -> tuple[Service, Fetcher]:
    """Wire storage, fetcher, watchlists, pipeline and the deliverer for ``config``.

    ``background_delivery`` (for ``run``): cycles hand their alerts to a background sender
    and go on; ``poll --once`` delivers before it exits.
    """
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
    fetcher = Fetcher(fetch_settings(config))
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
            alert_chats=lambda: (*config.chat_ids, *repo.access.subscribed_chats()),
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
        deliverer = console_deliverer(config, repo)
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
    pipeline = build_pipeline(
        config,
        repo,
        fetcher,
        matcher=lambda: reloader.matcher,
        feeds=feeds,
        deliverer=deliverer,
        background_delivery=background_delivery,
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
        maintenance=lambda: _prune(db, config.retention_days, config.story_window_hours),
        storage_name=f"the database {config.db_path}",
        check_storage=partial(verify, identity_of(config.db_path)),
        defer_updates=lambda payloads: repo.chats.defer_updates(payloads, _utcnow()),
        # Commands kept at the last shutdown; older ones than this are stale, not answered.
        deferred_updates=lambda: repo.chats.take_deferred_updates(
            _utcnow() - timedelta(minutes=15)
        ),
    )
    service.on_start.extend(start_hooks)
    service.wal_checkpoints = WalCheckpointer(db, config.db_path)
    if background_delivery:
        service.cycle_log = CycleLog(every=float(max(60, config.poll_interval_seconds)))
    return service, fetcher


def build_source_reader(config: Config, fetcher: Fetcher) -> Any:
    """Readers of the sources that are not feeds: Telegram channels, pages, GDELT queries.
    Each is made (and its module imported) when a source of its kind is first read."""
    from bot.core.models import SourceKind
    from bot.feeds.sources.base import KindReader, SourceReader

    def telegram() -> KindReader:
        from bot.feeds.sources.telegram_channel import TelegramReader

        return TelegramReader(
            fetcher, config.telegram_preview_url, backfill_hours=config.backfill_hours
        )

    def page() -> KindReader:
        from bot.feeds.sources.page import PageReader

        return PageReader(fetcher)

    def gdelt() -> KindReader:
        from bot.feeds.sources.gdelt import GdeltLimiter, GdeltReader

        return GdeltReader(
            fetcher,
            config.gdelt_api_url,
            limiter=GdeltLimiter(config.gdelt_min_gap_seconds),
            poll_interval=float(config.poll_interval_seconds),
            backfill_hours=config.backfill_hours,
        )

    return SourceReader(
        {SourceKind.TELEGRAM: telegram, SourceKind.PAGE: page, SourceKind.GDELT: gdelt}
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
        if config.chat_ids or routed or repo.access.subscribed_chats():
            return
        log.warning(
            "no alert chat: alerts are stored but sent nowhere. As the owner, send /subscribe"
            " in a chat (or pair first with /start CODE, which subscribes your chat), or set"
            " NEWSWATCH_CHAT_IDS. Alerts found meanwhile are offered as a digest then."
        )

    return hook


def _prune(db: Any, retention_days: int, story_window_hours: int) -> None:
    from datetime import UTC, datetime

    from storage.maintenance import prune

    window = timedelta(hours=story_window_hours)
    log.info("%s", prune(db, datetime.now(UTC), retention_days, window).summary())


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
