"""The long-running service: scheduled cycles, watchlist hot reload, Telegram polling, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.core.errors import DatabaseGone, NewswatchError
from bot.core.models import CycleReport
from bot.cycle.cycle_log import CycleLog
from bot.cycle.pipeline import Deliverer, Pipeline
from storage.identity import EXIT_DATABASE_GONE

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from storage.checkpoints import WalCheckpointer

log = logging.getLogger("newswatch.service")

SHUTDOWN_GRACE_SECONDS = 7.0
SHUTDOWN_DEADLINE_SECONDS = 9.0  # everything, whatever is queued (docs: within 10 s)
STORAGE_BACKOFF_FIRST = 5.0  # seconds before the first retry after a storage failure
STORAGE_BACKOFF_MAX = 300.0


@dataclass
class Service:
    """Holds the built components; ``main.py`` constructs it."""

    pipeline: Pipeline
    deliverer: Deliverer
    reload_watchlists: Callable[[], str | None]  # returns a message when something changed
    tick_seconds: float = 60.0
    application: Any = None  # telegram.ext.Application when a token is configured
    on_start: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    maintenance: Callable[[], Any] | None = None  # retention pruning; run daily by run_forever
    maintenance_every_hours: float = 24.0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_report: CycleReport | None = None
    cycle_log: CycleLog | None = None  # one `cycle:` line per poll round, failures grouped
    # Checkpoints the database's write-ahead log off the event loop's thread; started and
    # stopped by the command that runs the service (bot.cli.run), not by building it.
    wal_checkpoints: WalCheckpointer | None = None
    last_cycle_at: datetime | None = None
    _cycle_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _current_tick: asyncio.Task[Any] | None = None
    _scheduler: AsyncIOScheduler | None = None
    _conflict_logged_at: datetime | None = None
    storage_name: str = "the database"  # named in the storage-failure notice
    # Raises when the database file is gone or replaced (storage.identity.verify): checked
    # before each cycle; then the service stops with ``exit_code`` = EXIT_DATABASE_GONE.
    check_storage: Callable[[], None] | None = None
    # Commands fetched but not answered at shutdown: kept (update id, JSON) and answered by
    # the next start (Telegram does not send confirmed updates again).
    defer_updates: Callable[[list[tuple[int, str]]], None] | None = None
    deferred_updates: Callable[[], list[str]] | None = None
    exit_code: int = 0
    _stop: asyncio.Event | None = None
    _storage_failures: int = 0  # consecutive cycles that could not write

    async def cycle(self, *, force: bool = False) -> CycleReport | None:
        """Reload watchlists if edited, then run one cycle (never two at once)."""
        if self._cycle_lock.locked():
            log.debug("previous cycle still running; skipping this tick")
            return None
        async with self._cycle_lock:
            if self.check_storage is not None:
                self.check_storage()  # DatabaseGone: handled by _tick, which stops the service
            message = None
            try:
                # In a thread: an edited watchlist is parsed and compiled (a large one takes
                # a while); commands are answered meanwhile.
                message = await asyncio.to_thread(self.reload_watchlists)
            except Exception:  # boundary: polling goes on with the watchlists in force
                log.exception("watchlist reload failed; keeping the version in force")
            if message:
                log.warning("%s", message)
                await self.deliverer.notify_admins(message)
            report = await self.pipeline.run_cycle(force=force)
            self.last_report = report
            self.last_cycle_at = datetime.now(UTC)
            if self.cycle_log is not None:
                try:
                    self.cycle_log.add(report)
                except Exception:  # the log line is informational
                    log.exception("could not write the cycle line")
            return report

    async def _tick(self) -> None:
        self._current_tick = asyncio.current_task()
        failure: str | None = None
        try:
            report = await self.cycle()
            failure = report.storage_error if report is not None else None
        except asyncio.CancelledError:
            log.warning("cycle cancelled")
        except NewswatchError as exc:  # the service's one place for our own errors
            if isinstance(exc, DatabaseGone):  # writing on would write to a file nobody reads
                log.critical("%s", exc)
                await self._notify(f"newswatch stopped: {exc}")
                self.exit_code = EXIT_DATABASE_GONE
                if self._stop is not None:
                    self._stop.set()
                return
            log.error("cycle failed: %s", exc)  # said as it is: no traceback for our errors
        except sqlite3.Error as exc:  # storage: one line, the backoff below and one notice
            failure = f"{exc}"
            log.error("cycle failed: cannot use %s: %s", self.storage_name, exc)
        except Exception:  # boundary: the scheduler must keep running whatever one cycle did
            log.exception("cycle failed")
        failure = failure or getattr(self.deliverer, "storage_error", None)
        await self._storage_health(failure)
        self._schedule_next_tick()

    def storage_backoff(self) -> float:
        """Seconds to wait before the next cycle because storage fails (0 when healthy)."""
        if not self._storage_failures:
            return 0.0
        return float(
            min(STORAGE_BACKOFF_FIRST * 2 ** (self._storage_failures - 1), STORAGE_BACKOFF_MAX)
        )

    async def _storage_health(self, failure: str | None) -> None:
        """Count storage failures; one notice when they start and one when they end."""
        if failure:
            self._storage_failures += 1
            if self._storage_failures == 1:
                text = (
                    f"Storage failure: {failure}. newswatch cannot write to {self.storage_name}:"
                    " new alerts and feed states are not recorded, and nothing is sent that"
                    " cannot be recorded. It retries with backoff (up to every"
                    f" {STORAGE_BACKOFF_MAX:.0f} s). Check free disk space, file permissions"
                    " and any process holding a write lock."
                )
                log.error("%s", text)
                await self._notify(text)
            else:
                log.warning(
                    "storage still failing (%d cycles): %s; next try in %.0fs",
                    self._storage_failures,
                    failure,
                    self.storage_backoff(),
                )
            return
        if self._storage_failures:
            text = (
                f"Storage works again after {self._storage_failures} failed cycle(s);"
                " delivery resumed."
            )
            self._storage_failures = 0
            log.warning("%s", text)
            await self._notify(text)

    async def _notify(self, text: str) -> None:
        try:
            await self.deliverer.notify_admins(text)
        except Exception as exc:  # boundary: a notice that fails never stops the service
            log.warning("could not notify the admins: %s", exc)

    def _schedule_next_tick(self) -> None:
        """Wake up when the next feed is due (at least 1 s, at most ``tick_seconds`` away).

        A feed is fetched as soon as it is due rather than at the next fixed tick, so an item
        reaches the chat within the poll interval plus about a second.
        """
        if self._scheduler is None or not self._scheduler.running:
            return
        try:
            wait = self.pipeline.seconds_until_next_due()
        except Exception:  # boundary: the scheduler keeps ticking (every tick_seconds)
            log.exception("could not compute the next due feed")
            wait = None
        delay = self.tick_seconds if wait is None else min(max(wait, 1.0), self.tick_seconds)
        delay = max(delay, self.storage_backoff())  # a failing database: no 1 s loop
        with contextlib.suppress(Exception):  # the job is gone once shutdown has begun
            self._scheduler.modify_job(
                "poll-feeds", next_run_time=datetime.now(UTC) + timedelta(seconds=delay)
            )

    def _polling_error(self, exc: Exception) -> None:
        """getUpdates failed. A 409 Conflict means another process polls with this token
        (the instance lock covers only this machine): say so clearly, once a minute at most."""
        from telegram.error import Conflict

        now = datetime.now(UTC)
        if isinstance(exc, Conflict):
            if self._conflict_logged_at is None or now - self._conflict_logged_at > timedelta(
                minutes=1
            ):
                self._conflict_logged_at = now
                log.error(
                    "another bot instance is polling Telegram with this token (409 Conflict):"
                    " commands may go to it instead of this one; stop the other instance."
                    " Alerts are still sent."
                )
            return
        log.warning("getUpdates failed (%s); python-telegram-bot retries", type(exc).__name__)

    async def _maintain(self) -> None:
        if self.maintenance is None:
            return
        try:
            async with self._cycle_lock:  # never prune while a cycle is writing
                self.maintenance()
        except Exception:  # a failed pruning pass is retried tomorrow
            log.exception("retention pruning failed")

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        """Run until SIGINT/SIGTERM (or ``stop``): cycles on schedule, commands by polling."""
        stop = stop or asyncio.Event()
        self._stop = stop
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        # Imported here: `poll --once` never schedules, and start-up time is part of its cycle.
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler = scheduler
        scheduler.add_job(
            self._tick,
            "interval",
            seconds=self.tick_seconds,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            id="poll-feeds",
        )
        if self.maintenance is not None:
            scheduler.add_job(
                self._maintain,
                "interval",
                hours=self.maintenance_every_hours,
                next_run_time=datetime.now(UTC) + timedelta(minutes=10),
                max_instances=1,
                coalesce=True,
                id="retention",
            )
        app = self.application
        if app is not None:
            await app.initialize()
            await app.start()
            if self.deferred_updates is not None:
                try:
                    await replay_deferred(app, self.deferred_updates())
                except Exception as exc:  # boundary: start-up goes on without them
                    log.warning("could not replay the kept commands: %s", exc)
            await app.updater.start_polling(
                drop_pending_updates=False, error_callback=self._polling_error
            )
        for hook in self.on_start:
            await hook()
        scheduler.start()
        log.info("newswatch running; Ctrl-C or SIGTERM stops it")
        try:
            await stop.wait()
        finally:
            log.info(
                "stopping: letting the current cycle finish (up to %ss)", SHUTDOWN_GRACE_SECONDS
            )
            scheduler.pause()  # no new ticks; shutdown() would cancel the running one at once
            started = loop.time()
            if app is not None:  # first stop taking updates: queued commands wait for a restart
                await _stop_polling(app, self.defer_updates)
            await self._finish_cycle()
            finish = getattr(self.deliverer, "finish", None)
            if finish is not None:  # background delivery: the outbox keeps what is unsent
                await finish(max(0.5, SHUTDOWN_GRACE_SECONDS - (loop.time() - started)))
            scheduler.shutdown(wait=False)
            if app is not None:
                # The command being answered gets what is left of the 10 s, at least 1 s.
                left = max(1.0, SHUTDOWN_DEADLINE_SECONDS - (loop.time() - started))
                try:
                    await asyncio.wait_for(app.stop(), left)
                except TimeoutError:
                    log.warning("a command was still being answered at shutdown; abandoned")
                except Exception:  # boundary: shutdown goes on whatever PTB's stop raised
                    log.debug("application stop failed", exc_info=True)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(app.shutdown(), 1.0)
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
            log.info("stopped cleanly")

    async def _finish_cycle(self) -> None:
        """Wait for the running cycle; past the grace period cancel it (it rolls back)."""
        if not self._cycle_lock.locked():
            return
        try:
            async with asyncio.timeout(SHUTDOWN_GRACE_SECONDS):
                async with self._cycle_lock:
                    return
        except TimeoutError:
            log.warning("cycle abandoned at shutdown; unsent alerts stay pending in the outbox")
            if self._current_tick is not None and not self._current_tick.done():
                self._current_tick.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._current_tick


async def _stop_polling(app: Any, defer: Callable[[list[tuple[int, str]]], None] | None) -> None:
    """Stop getUpdates and set the queued, unanswered updates aside for the next start.

    python-telegram-bot would answer every queued command before stopping (60 group
    commands paced at 20 a minute took 147 s). Telegram will not send them again: PTB's next
    getUpdates confirmed them as soon as they were fetched. So they are stored (``defer``)
    and the next start answers them (``replay_deferred``).
    """
    try:
        await asyncio.wait_for(app.updater.stop(), 3.0)
    except Exception as exc:  # boundary at shutdown: TimeoutError, or not running
        log.debug("updater stop: %s", exc)
    queued = _drain(app.update_queue)
    if not queued:
        return
    kept = "dropped"
    if defer is not None:
        try:
            defer([(int(u.update_id), u.to_json()) for u in queued])
            kept = "kept for the next start"
        except Exception as exc:  # boundary: shutdown goes on; the loss is logged
            log.warning("could not keep the queued updates: %s", exc)
    log.warning("shutdown: %d queued command(s) not answered: %s", len(queued), kept)


async def replay_deferred(app: Any, payloads: list[str]) -> int:
    """Queue the updates kept at the last shutdown, before polling starts."""
    from telegram import Update

    count = 0
    for payload in payloads:
        try:
            update = Update.de_json(json.loads(payload), app.bot)
        except Exception as exc:  # a payload this version cannot read: skip it
            log.warning("skipping a kept update: %s", exc)
            continue
        await app.update_queue.put(update)
        count += 1
    if count:
        log.info("answering %d command(s) kept at the last shutdown", count)
    return count


def _drain(queue: asyncio.Queue[Any]) -> list[Any]:
    items: list[Any] = []
    while True:
        try:
            item = queue.get_nowait()
        except asyncio.QueueEmpty:
            return items
        queue.task_done()
        if hasattr(item, "update_id"):
            items.append(item)
