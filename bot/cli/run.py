"""`run` (the service: scheduled polling, Telegram commands) and `poll --once` (one cycle), each
holding the instance locks."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Coroutine
from typing import Any

from bot.app import event_loop
from bot.app.composition import build_service
from bot.app.config import Config
from bot.app.event_loop import EventLoopChoice
from bot.app.instance_lock import instance_locks
from bot.app.service import Service
from bot.cli.loading import load
from bot.cycle.cycle_log import CycleLog

log = logging.getLogger("newswatch")


def add_commands(sub: Any) -> None:
    """The `run` and `poll` subcommands."""
    sub.add_parser("run", help="run the bot: scheduled polling and Telegram commands").set_defaults(
        func=cmd_run
    )
    poll = sub.add_parser("poll", help="poll feeds")
    poll.add_argument(
        "--once", action="store_true", help="one full cycle over all feeds, then exit"
    )
    poll.set_defaults(func=cmd_poll)


def _with_instance_lock(config: Config, command: str, body: Any) -> int:
    """Run ``body`` holding the database and bot-token locks; refuse when another holds them."""
    # AlreadyRunning (exit 3) is shown by main(), as every NewswatchError.
    with instance_locks(
        config.db_path, config.telegram_token, command, api_url=config.telegram_api_url
    ):
        return int(body())


async def _poll_once(config: Config) -> int:
    service, fetcher = build_service(config)
    _freeze_startup_objects()
    app = service.application
    _start_checkpoints(service)
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
        _stop_checkpoints(service)
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
    _freeze_startup_objects()
    _start_checkpoints(service)
    try:
        await service.run_forever()
    finally:
        await fetcher.aclose()
        _stop_parse_workers(service)
        _stop_checkpoints(service)
    return service.exit_code


def _freeze_startup_objects() -> None:
    """Move what start-up built (modules, watchlists, feed list, the service) out of the
    cyclic garbage collector's sight: they live as long as the process, and each full
    collection would walk them all again (CPython's advice, ``gc.freeze``). A warm
    1,000-feed `poll --once` spent 30-45 ms in collections before."""
    gc.freeze()


def _start_checkpoints(service: Service) -> None:
    """Checkpoint the database's write-ahead log from a thread of its own: the event loop's
    thread commits without waiting on checkpoints (storage.checkpoints)."""
    if service.wal_checkpoints is not None:
        service.wal_checkpoints.start()


def _stop_checkpoints(service: Service) -> None:
    if service.wal_checkpoints is not None:
        service.wal_checkpoints.stop()


def _stop_parse_workers(service: Service) -> None:
    """Drop queued parses and end the worker processes (a running parse takes milliseconds)."""
    executor = service.pipeline.parse_executor
    if executor is not None:
        executor.shutdown(wait=True, cancel_futures=True)
    heavy_work = sys.modules.get("bot.render.heavy_work")
    if heavy_work is not None:  # charts and exports ran: never imported (15-25 ms) just to stop
        heavy_work.shutdown_heavy_work()


def cmd_run(args: argparse.Namespace) -> int:
    config = load(args)
    return _with_instance_lock(config, "run", lambda: _on_loop(config, _run(config)))


def cmd_poll(args: argparse.Namespace) -> int:
    if not args.once:
        print(
            "poll: only --once is supported (use `run` for the scheduled service)", file=sys.stderr
        )
        return 2
    config = load(args)
    return _with_instance_lock(config, "poll --once", lambda: _on_loop(config, _poll_once(config)))


def _on_loop(config: Config, main: Coroutine[Any, Any, int]) -> int:
    """Run ``main`` on the configured event loop (uvloop when installed, by default)."""
    return event_loop.run(main, EventLoopChoice(config.event_loop))
