"""One polling cycle: fetch due feeds, parse, match, dedup, store alerts and outbox, deliver."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.core.arrival_bound import arrival_bound, renewed_body
from bot.core.errors import FeedError, FeedErrorKind
from bot.core.feed_state import (
    Failure,
    after_failure,
    after_success,
    overdue,
    should_fetch,
)
from bot.core.incidents import IncidentTagger, priority_for
from bot.core.language import guess_language
from bot.core.link_dates import link_event_time
from bot.core.matching import MatcherLike, MatchResult
from bot.core.models import CycleReport, FeedSpec, Item, SourceKind, StoredAlert
from bot.core.records import FeedState
from bot.core.schedule import (
    SchedulePolicy,
    spread_offsets,
)
from bot.core.sources import article_key
from bot.data.incident_data import load_default_tagger
from bot.feeds.fetcher import Fetcher, FetchResult
from bot.feeds.parse_pool import parse_and_key
from bot.feeds.sources.base import Parsed, SourceResult
from storage.maintenance import record_cycle
from storage.repository import (
    AlertDraft,
    NewItem,
    Repository,
    WeakDraft,
)
from storage.transactions import commit_group

log = logging.getLogger("newswatch.cycle")
# A fetch task's outcome: the feed's state, the fetch, and its parse (or why it failed).
_Fetched = tuple[FeedState, FetchResult, Parsed | BaseException | None]
# Feed-state writes without items are committed together, this many at a time.
_FEED_UPDATE_BATCH = 250
# At most this many fetched feeds stored in one transaction (those that ended together).
_STORE_GROUP = 16
# Bodies in flight (fetched or being fetched, not yet parsed and stored) per parse worker,
# above the fetcher's own concurrency: enough to keep every worker busy while the main
# process stores, few enough that bodies never pile up in memory (see _in_flight_limit).
_IN_FLIGHT_PER_WORKER = 4
# Alerts filed into stories per transaction (about 0.1 s of CPU); the event loop runs
# between two (Telegram commands, delivery), as it does between two store groups.
_FILE_CHUNK = 64


class Deliverer(Protocol):
    """Sends what a cycle stored: the outbox (Telegram) or the new alerts (console)."""

    async def deliver(self, new_alerts: Sequence[StoredAlert]) -> None: ...

    async def notify_admins(self, text: str) -> None: ...


class SourceReaderLike(Protocol):
    """Reads a source that is not an http(s) feed (bot.feeds.sources): fetch and parse in one."""

    async def read(
        self, spec: FeedSpec, state: FeedState, now: datetime
    ) -> tuple[FetchResult, Parsed | None]: ...


class StoryAssigner(Protocol):
    """Groups stored alerts into stories (see bot.cycle.story_grouping): the cycle stores each
    feed's alerts without a story, then ``group_pending`` files every alert still without
    one, in the order of their events, each seeing the open stories and the ones before it."""

    def group_pending(
        self, now: datetime, limit: int | None = None
    ) -> tuple[list[StoredAlert], int]: ...

    def start_loading(self, now: datetime) -> None:
        """Start loading what filing needs (lexicons, the window's index) off the event loop;
        called when a cycle stores its first alert. Starts nothing twice."""

    async def ready(self, now: datetime) -> None:
        """Before ``group_pending``: that loading is in force when anything waits to be filed."""


@dataclass(slots=True)
class CycleSettings:
    chat_ids: tuple[int, ...] = ()
    # Chats subscribed at run time (the owner's chat after pairing), read at each alert.
    extra_chats: Callable[[], Sequence[int]] | None = None
    backfill_hours: int = 24
    policy: SchedulePolicy = field(default_factory=SchedulePolicy)
    # Fetch starts of one cycle are spread over [0, spread) seconds (scheduled cycles), or
    # [0, forced_spread) for `poll --once`, so feeds are not all requested at the same instant.
    spread_seconds: float = 0.0
    forced_spread_seconds: float = 0.0
    # Only a backlog is spread: feeds overdue by more than this (at start-up, after downtime).
    # A feed that just came due is fetched at once, so an item reaches the chat within the
    # poll interval (plus a tick), and per-feed jitter keeps steady-state fetches apart.
    spread_grace_seconds: float = 15.0
    # A backlog of n feeds is spread over min(spread, n x step): two new feeds start within
    # half a second, a thousand over the whole spread.
    spread_step_seconds: float = 0.25
    # `run`: hand each feed's new alerts to the deliverer as soon as they are stored, so one
    # slow feed never delays the alerts of the others. `poll --once` delivers once, at the end.
    deliver_per_feed: bool = False
    # Alerts are grouped into stories once the cycle's fetches have ended, in the order of
    # their events, whichever feed ended first (bot.cycle.story_grouping). With
    # deliver_per_feed, a stored alert waits at most this long for the feeds still running.
    story_hold_seconds: float = 15.0
    # `poll --once` runs one cycle: once its fetches have ended it stops the parse workers
    # (parse_executor.shutdown), so that filing the alerts into stories and delivering them,
    # the cycle's largest memory, do not run beside idle workers (their private pages: about
    # 17 MB of a cold 1,000-feed cycle's peak PSS). `run` keeps them for the next cycle.
    stop_parse_workers_after_fetches: bool = False

    def default_chats(self) -> tuple[int, ...]:
        """Configured chats, then subscribed ones, without repeats."""
        extra = tuple(self.extra_chats()) if self.extra_chats is not None else ()
        return tuple(dict.fromkeys((*self.chat_ids, *extra)))


class Pipeline:
    """Wires the stages of one cycle. Built once by the composition root, run many times."""

    def __init__(
        self,
        repo: Repository,
        fetcher: Fetcher,
        matcher: Callable[[], MatcherLike],
        feeds: Callable[[], Sequence[FeedSpec]],
        deliverer: Deliverer,
        settings: CycleSettings,
        *,
        stories: StoryAssigner | None = None,
        parse_executor: Executor | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sources: SourceReaderLike | None = None,
        incidents: IncidentTagger | None = None,
    ):
        self.repo = repo
        self.fetcher = fetcher
        self.matcher = matcher
        self.feeds = feeds
        self.deliverer = deliverer
        self.settings = settings
        self.stories = stories
        self.parse_executor = parse_executor
        self.sources = sources
        self._incidents = incidents  # built on first use: a cycle with no match never needs it
        self._specs: dict[str, FeedSpec] = {}
        self.clock = clock
        self.rng = random.Random()
        self._notices: list[str] = []
        # Feed-state writes that carry no items (304s, same bodies, failures): batched.
        self._feed_updates: list[tuple[FeedState, FeedState]] = []
        self._synced_specs: list[FeedSpec] | None = None
        self._guid_repeats_logged: set[str] = set()  # feeds already reported (repeated GUIDs)
        # monotonic time the oldest alert not yet grouped into a story was stored
        self._held_since: float | None = None
        self._matching_ready = False  # this cycle's matcher and tagger are built
        # Changed bodies fetched and not yet stored (parsed or not), now and at most in the
        # last cycle: never above _in_flight_limit() (tests/test_fetch_backpressure.py).
        self.bodies_in_flight = 0
        self.peak_bodies_in_flight = 0

    def seconds_until_next_due(self) -> float | None:
        """How long until the next feed is due (0 when one already is); None: no feed."""
        next_at = self.repo.feeds.next_due_at()
        if next_at is None:
            return None
        return max(0.0, (next_at - self.clock()).total_seconds())

    async def run_cycle(self, *, force: bool = False) -> CycleReport:
        """Run one cycle. ``force`` fetches every active feed, not only those due."""
        started = time.monotonic()
        now = self.clock()
        report = CycleReport()
        specs = list(self.feeds())
        if specs != self._synced_specs:  # the feed list changed (or first cycle): store it
            self.repo.feeds.sync(specs, now)
            self._synced_specs = specs
            self._specs = {s.url: s for s in specs}
        states = self.repo.feeds.states([s.url for s in specs])
        due = [state for state in states.values() if should_fetch(state, now, force)]
        report.feeds_due = len(due)
        report.due_urls = [state.url for state in due]
        new_alerts: list[StoredAlert] = []
        self._notices = []
        self._matching_ready = False
        spread = self.settings.forced_spread_seconds if force else self.settings.spread_seconds
        grace = timedelta(seconds=self.settings.spread_grace_seconds)
        backlog = [i for i, state in enumerate(due) if force or overdue(state, now) > grace]
        spread = min(spread, len(backlog) * self.settings.spread_step_seconds)
        offsets = [0.0] * len(due)
        for index, offset in zip(
            backlog, spread_offsets(len(backlog), spread, self.rng), strict=True
        ):
            offsets[index] = offset
        # Each fetch task puts itself in `done` when it ends; the feeds that ended meanwhile
        # are stored together (one transaction, a savepoint each: see _process_group).
        # A task is dropped once processed: its parsed items are freed with it.
        done: asyncio.Queue[asyncio.Task[_Fetched]] = asyncio.Queue()
        # Backpressure: a fetch takes a slot before it starts and keeps it, when it brings a
        # changed body, until that feed is stored (below); so bodies waiting for a parse
        # worker or for storing never pile up in memory, however many feeds are due.
        slots = asyncio.Semaphore(self._in_flight_limit())
        self.bodies_in_flight = self.peak_bodies_in_flight = 0
        tasks = set()
        for state, delay in zip(due, offsets, strict=True):
            task = asyncio.ensure_future(self._fetch(state, delay, slots))
            task.add_done_callback(done.put_nowait)
            tasks.add(task)
        # Alerts a dead process (or a failed grouping) left without their story go first.
        self._held_since = time.monotonic()
        new_alerts.extend(await self._group_stories(report))
        per_feed = self.settings.deliver_per_feed
        try:
            while tasks:
                wait = self._hold_left() if per_feed else None
                try:
                    first = await asyncio.wait_for(done.get(), wait)
                except TimeoutError:  # held long enough: file and send what is stored
                    new_alerts.extend(await self._group_stories(report))
                    continue
                group = [first]
                await asyncio.sleep(0)  # let the feeds that ended meanwhile queue up
                while not done.empty() and len(group) < _STORE_GROUP:
                    group.append(done.get_nowait())
                tasks.difference_update(group)
                fetched = [task.result() for task in group]
                del first, group  # each task holds its parse: dropped once processed
                if not self._matching_ready and any(_holds_slot(f[2]) for f in fetched):
                    await self._prepare_matching()
                stored = self._process_group(fetched, report)
                held = sum(1 for _state, _result, parsed in fetched if _holds_slot(parsed))
                del fetched  # the parsed items are freed here, before their slots are reused
                for _ in range(held):  # stored (or failed): each slot goes to the next fetch
                    self._body_done(slots)
                new_alerts.extend(stored)
                if stored and per_feed:
                    await self._deliver(stored)
                if per_feed and self._hold_left() == 0.0:
                    new_alerts.extend(await self._group_stories(report))
                if len(self._feed_updates) >= _FEED_UPDATE_BATCH:
                    failed = self._flush_feed_updates()
                    report.storage_error = report.storage_error or failed
            executor = self.parse_executor
            if executor is not None and self.settings.stop_parse_workers_after_fetches:
                executor.shutdown(wait=True, cancel_futures=True)
            # every fetch ended: the cycle's alerts are filed together, in event order
            new_alerts.extend(await self._group_stories(report))
        finally:
            for task in tasks:  # only when the cycle itself fails or is cancelled
                task.cancel()
            failed = self._flush_feed_updates()
        report.storage_error = report.storage_error or failed
        report.alerts = len(new_alerts)
        report.duration = time.monotonic() - started
        # The `cycle:` line is written by bot.cycle.cycle_log (one per poll round), not here.
        try:
            record_cycle(self.repo.db, now, self.clock(), report)
        except sqlite3.Error as exc:  # the cycle log is informational
            log.warning("could not record the cycle summary: %s", exc)
        except Exception:  # never lose a cycle over it
            log.exception("could not record the cycle summary")
        for notice in self._notices:
            try:
                await self.deliverer.notify_admins(notice)
            except Exception:  # boundary: one failed notice never loses the others or delivery
                log.exception("admin notice failed")
        if self.settings.deliver_per_feed:
            await self._deliver([])  # retries and story edits that are due
        else:
            await self.deliverer.deliver(new_alerts)
        return report

    async def _prepare_matching(self) -> None:
        """Build the matcher (compiled on first use after a load: 15-20 ms for the shipped
        watchlists, more for large ones) and the incident tagger (its gazetteer and lexicon:
        about 30 ms) in a thread, before the cycle's first body is matched: storing a group
        never awaits, so whatever it built on first use would hold the event loop."""
        self._matching_ready = True
        try:
            self._incidents = await asyncio.to_thread(self._build_matching)
        except Exception as exc:  # boundary: matching builds them on first use, as before
            log.debug("matching not prepared off the event loop: %s", exc)

    def _build_matching(self) -> IncidentTagger | None:
        self.matcher()
        return self._incidents or load_default_tagger()

    def _hold_left(self) -> float | None:
        """Seconds until the stored, ungrouped alerts have waited ``story_hold_seconds``
        (0 when they have); None when none waits."""
        if self._held_since is None:
            return None
        waited = time.monotonic() - self._held_since
        return max(0.0, self.settings.story_hold_seconds - waited)

    async def _group_stories(self, report: CycleReport) -> list[StoredAlert]:
        """File the stored alerts that have no story yet (event order, _FILE_CHUNK a
        transaction) and, with deliver_per_feed, hand the ones that start a story to the
        deliverer. Never raises: on failure the rest stay pending (in SQLite) for the next
        cycle."""
        held, self._held_since = self._held_since, None
        if self.stories is None or held is None:
            return []
        new: list[StoredAlert] = []
        left = 1
        while left:
            try:
                # the lexicons and the window's index, loaded in a thread meanwhile
                await self.stories.ready(self.clock())
                filed, left = self.stories.group_pending(self.clock(), _FILE_CHUNK)
            except sqlite3.Error as exc:
                log.error("cannot group alerts into stories: %s", exc)
                report.storage_error = report.storage_error or f"{exc}"
                return new
            except Exception:  # boundary: a bug never ends the cycle; the alerts stay stored
                log.exception("grouping alerts into stories failed")
                return new
            started = [alert for alert in filed if alert.new_story]
            new.extend(started)
            if started and self.settings.deliver_per_feed:
                await self._deliver(started)
            if left:
                await asyncio.sleep(0)  # commands and delivery run between two transactions
        return new

    def _process_group(self, group: Sequence[_Fetched], report: CycleReport) -> list[StoredAlert]:
        """Process fetched feeds; those with items are stored in one commit group.

        Nothing here awaits, so no other coroutine writes inside the group's transaction.
        A feed whose storing fails is rolled back alone (its savepoint); if the commit of the
        group fails, none of the group's feeds is stored: each is counted as failed and due
        again.
        """
        new_alerts: list[StoredAlert] = []
        stored_feeds: list[str] = []
        try:
            with commit_group(self.repo.db) as commits:
                for state, result, parsed in group:
                    try:
                        if parsed is None or isinstance(parsed, BaseException):
                            stored = self._process(state, result, report, parsed)
                        else:
                            with commits.block():
                                stored = self._process(state, result, report, parsed)
                            stored_feeds.append(state.url)
                        new_alerts.extend(stored)
                    except Exception as exc:  # one feed's trouble never ends the cycle
                        self._processing_failed(state, exc, report)
        except sqlite3.Error as exc:  # the commit failed: nothing of the group is stored
            log.error("could not store %d feeds: %s", len(stored_feeds), exc)
            report.storage_error = report.storage_error or f"{exc}"
            for url in stored_feeds:
                report.errors += 1
                report.feed_errors[url] = _internal(exc)
            return []
        return new_alerts

    def _processing_failed(self, state: FeedState, exc: Exception, report: CycleReport) -> None:
        report.errors += 1
        if isinstance(exc, sqlite3.Error):  # not the feed's fault: one line
            log.error("feed %s: cannot store: %s", state.url, exc)
            report.storage_error = report.storage_error or f"{exc}"
        else:
            log.exception("feed %s: processing failed", state.url)
        report.feed_errors[state.url] = _internal(exc)
        if not isinstance(exc, sqlite3.Error):  # storage: the service backs off
            self._record_failure(state, _internal(exc, detail=False), None)

    async def _deliver(self, alerts: Sequence[StoredAlert]) -> None:
        """Hand stored alerts to the deliverer now; they are in the outbox whatever happens."""
        try:
            await self.deliverer.deliver(alerts)
        except Exception:  # the outbox keeps them: the next pass sends them
            log.exception("delivery failed; the alerts stay in the outbox")

    def _in_flight_limit(self) -> int:
        """How many fetches may run or hold their body (parsed or not) until it is stored:
        the fetcher's concurrency, so that a cycle of 304s fetches as before, plus
        _IN_FLIGHT_PER_WORKER per parse worker, so that each worker has its next body ready
        while the main process stores. Bodies are at most 4 MB (the fetcher's cap)."""
        settings = getattr(self.fetcher, "settings", None)
        fetching = int(getattr(settings, "max_concurrency", 20))
        workers = getattr(self.parse_executor, "workers", None) or os.cpu_count() or 1
        return max(1, fetching + _IN_FLIGHT_PER_WORKER * int(workers))

    def _body_done(self, slots: asyncio.Semaphore) -> None:
        """A body held by a fetch task is stored or dropped: its slot is free again."""
        self.bodies_in_flight -= 1
        slots.release()

    async def _fetch(self, state: FeedState, delay: float, slots: asyncio.Semaphore) -> _Fetched:
        """Fetch one feed with a slot of ``slots`` (run_cycle's backpressure), taken once the
        spread delay has passed and before the fetch starts, so that the fetch deadline never
        counts the wait for it. The slot is given back at once when nothing is to be parsed
        (a 304, a failure); a changed body keeps it until run_cycle has stored its feed."""
        if delay > 0:
            await asyncio.sleep(delay)
        spec = self._specs.get(state.url)
        if spec is not None and spec.kind is not SourceKind.FEED:
            return await self._read_source_slot(spec, state, slots)
        await slots.acquire()
        fetched: _Fetched | None = None
        try:
            fetched = await self._fetch_and_parse(state)
        finally:
            if fetched is None or not _holds_slot(fetched[2]):
                slots.release()
        return fetched

    async def _fetch_and_parse(self, state: FeedState) -> _Fetched:
        """Fetch one feed and, when its body changed, parse it (in the executor, if any).

        Parsing here, in each feed's own task, keeps every worker of a process pool busy
        while the cycle stores the feeds that are done; a body is dropped once parsed.
        """
        # A feed that moved permanently is fetched at its new address; its identity (the URL
        # the feed list names) and all its state stay on the original row.
        target = state.redirected_to or state.url
        try:
            result = await self.fetcher.fetch(target, state.etag, state.last_modified)
        except Exception as exc:  # a bug of the fetch path is this feed's failure, not the cycle's
            log.exception("feed %s: fetching failed", state.url)
            detail = f"internal error while fetching ({type(exc).__name__})"
            result = FetchResult(target, error=FeedError(FeedErrorKind.INTERNAL, detail))
        if _unchanged(state, result) or result.error or result.body is None:
            return state, result, None
        self.bodies_in_flight += 1
        self.peak_bodies_in_flight = max(self.peak_bodies_in_flight, self.bodies_in_flight)
        try:
            parsed = await self._parse(result.body, state.url, result.content_type)
        except Exception as exc:  # e.g. a parse worker died: reported by _process
            self.bodies_in_flight -= 1  # the body is dropped (and its slot freed by _fetch)
            return state, result, exc
        result.body = None
        return state, result, parsed

    async def _read_source_slot(
        self, spec: FeedSpec, state: FeedState, slots: asyncio.Semaphore
    ) -> _Fetched:
        """A source read, then a slot for its parsed items until they are stored, as a feed's
        parse holds one. Not before the read: a reader paces itself (GDELT: one request every
        few seconds for all its queries), and its waits must never hold the feeds' slots."""
        read, parsed = await self._read_source(spec, state)
        if _holds_slot(parsed):
            await slots.acquire()
            self.bodies_in_flight += 1
            self.peak_bodies_in_flight = max(self.peak_bodies_in_flight, self.bodies_in_flight)
        return state, read, parsed

    async def _read_source(
        self, spec: FeedSpec, state: FeedState
    ) -> tuple[FetchResult, Parsed | BaseException | None]:
        """A Telegram channel, a page or a GDELT query: its reader fetches and parses."""
        if self.sources is None:
            error = FeedError(FeedErrorKind.INTERNAL, f"{spec.kind} sources are not set up")
            return SourceResult(url=spec.url, error=error), None
        try:
            return await self.sources.read(spec, state, self.clock())
        except Exception as exc:  # a reader bug is this source's failure, not the cycle's
            log.exception("source %s: reading failed", spec.url)
            return SourceResult(url=spec.url, error=_internal(exc)), None

    async def parse_body(self, body: bytes, url: str, content_type: str | None) -> Parsed:
        """Parse a body as a cycle does (off the event loop, time-limited): for /addfeed."""
        return await self._parse(body, url, content_type)

    async def _parse(self, body: bytes, url: str, content_type: str | None) -> Parsed:
        # Never on the event loop: in the parse pool (with its time limit), or, for a pipeline
        # built without one (tests, tools), in the loop's default thread pool.
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.parse_executor, parse_and_key, body, url, content_type
        )

    def _update_feed_later(self, before: FeedState, after: FeedState) -> None:
        """Queue a feed-state write that stores no items; flushed in batches and at cycle end.

        A crash loses at most one batch of these, and then only their schedule: those feeds
        are due again and answer 304 again. Writes that store items never wait here.
        """
        self._feed_updates.append((before, after))

    def _flush_feed_updates(self) -> str | None:
        """Write the queued feed states; returns the storage error, if any."""
        updates, self._feed_updates = self._feed_updates, []
        if not updates:
            return None
        try:
            self.repo.feeds.save(updates)
        except sqlite3.Error as exc:  # e.g. the database stayed locked: those feeds are due again
            log.error("could not store the state of %d feeds: %s", len(updates), exc)
            return str(exc)
        except Exception:  # boundary: never end a cycle over it; those feeds are due again
            log.exception("could not store the state of %d feeds", len(updates))
        return None

    def _feed_failed(
        self, state: FeedState, error: FeedError, result: FetchResult, report: CycleReport
    ) -> None:
        """Count, log and record one feed's failure (fetch or parse) for this cycle."""
        report.errors += 1
        report.feed_errors[state.url] = error
        # Logged by bot.cycle.cycle_log, grouped by reason ("25 of 25 feeds failed: …").
        log.debug("feed %s: %s", state.url, error)
        self._record_failure(state, error, result)

    def _record_failure(
        self, state: FeedState, error: FeedError, result: FetchResult | None
    ) -> None:
        """Store the feed's state after a failure (bot.core.feed_state decides it)."""
        now = self.clock()
        source = result if isinstance(result, SourceResult) else None
        failure = Failure(
            error=error,
            retry_after=result.retry_after if result is not None else None,
            gone=result.gone if result is not None else False,
            pause_now=source.pause if source is not None else False,
            source_notice=source.notice if source is not None else None,
        )
        before = state
        after = after_failure(before, failure, now, self.settings.policy)
        new = replace(
            state,
            last_fetch_at=now,
            last_error=str(error),
            last_error_kind=error.kind,
            last_error_at=now,
            consecutive_failures=after.consecutive_failures,
            next_fetch_at=after.next_fetch_at,
            status=after.status,
        )
        if result is not None:
            new = replace(new, last_status=result.status)
        if after.retry_not_before is not None:
            new = replace(new, retry_not_before=after.retry_not_before)
        if after.newly_paused:
            new = replace(new, paused_at=now)
        if source is not None and source.source_state is not None:
            new = replace(new, source_state=json.dumps(source.source_state, ensure_ascii=False))
        self._update_feed_later(state, new)
        if after.notice:
            self._notices.append(after.notice)

    def _process(
        self,
        state: FeedState,
        result: FetchResult,
        report: CycleReport,
        parsed_keys: Parsed | BaseException | None = None,
    ) -> list[StoredAlert]:
        """One fetched feed: its state, and its new items matched and stored. Never awaits
        (see _process_group): the body was parsed by _fetch."""
        url = state.url
        now = self.clock()
        if result.error:
            self._feed_failed(state, result.error, result, report)
            return []
        report.fetched += 1
        after = after_success(
            state,
            now,
            self.settings.policy,
            ttl_minutes=state.ttl_minutes,
            max_age=result.max_age,
        )
        # One replace() for the whole change (a FeedState has 25 fields): a cycle of 304s
        # makes one of these per feed.
        changes: dict[str, Any] = {
            "last_fetch_at": now,
            "last_success_at": now,
            "last_status": result.status,
            "consecutive_failures": 0,
            "last_error": None,
            "last_error_kind": None,
            "retry_not_before": None,
            "next_fetch_at": after.next_fetch_at,
        }
        if after.recovered:
            changes.update(status=after.status, paused_at=None)
        if result.etag:
            changes["etag"] = result.etag
        if result.last_modified:
            changes["last_modified"] = result.last_modified
        fetched_from = state.redirected_to or url
        if result.final_url and result.final_url != fetched_from:
            # Applied only when two fetches in a row say so: one bad answer (a captive
            # portal, a hijacked hop) must not move a feed for good.
            # The first sighting is stored (feeds.redirect_candidate), so that two fetches
            # by two `poll --once` runs from cron count as well as two cycles of `run`.
            if state.redirect_candidate == result.final_url:
                changes.update(redirect_candidate=None, redirected_to=result.final_url)
                log.warning("feed %s moved permanently to %s; following it", url, result.final_url)
            else:
                changes["redirect_candidate"] = result.final_url
                log.info(
                    "feed %s redirects permanently to %s; applied if the next fetch agrees",
                    url,
                    result.final_url,
                )
        elif state.redirect_candidate:
            changes["redirect_candidate"] = None
        if isinstance(result, SourceResult):
            if result.source_state is not None:
                changes["source_state"] = json.dumps(result.source_state, ensure_ascii=False)
            if result.notice:
                self._notices.append(result.notice)
        success = replace(state, **changes)
        recovered = after.notice
        if _unchanged(state, result):
            if result.not_modified:
                report.not_modified += 1
            else:
                report.unchanged_body += 1
            self._update_feed_later(state, success)
            self._notices.extend([recovered] if recovered else [])
            return []
        if isinstance(parsed_keys, BaseException):
            raise parsed_keys
        if parsed_keys is None:  # _fetch parses every changed body: a reader's bug
            raise RuntimeError("a changed body came without its parse")
        parsed, keys, canonical = parsed_keys
        if parsed.error:
            self._feed_failed(state, parsed.error, result, report)
            return []
        if parsed.warning:
            log.info("feed %s: %s", url, parsed.warning)
        success = replace(success, body_hash=result.body_hash)
        if parsed.ttl_minutes:
            success = replace(success, ttl_minutes=parsed.ttl_minutes)
            if parsed.ttl_minutes != state.ttl_minutes:  # a new <ttl>: schedule by it now
                next_at = after_success(
                    state,
                    now,
                    self.settings.policy,
                    ttl_minutes=parsed.ttl_minutes,
                    max_age=result.max_age,
                ).next_fetch_at
                success = replace(success, next_fetch_at=next_at)
        if parsed.title and not state.title:
            success = replace(success, title=parsed.title)
        first_fetch = not state.first_success_at
        if first_fetch:
            success = replace(success, first_success_at=now)
        new_items, also_seen = self._select_new(
            parsed.items,
            keys,
            canonical,
            now,
            first_fetch,
            parsed.match_texts,
            previous_success=None if first_fetch else state.last_success_at,
        )
        report.items_new += len(new_items)
        success = replace(success, items_seen_at=now)
        seen_keys = keys
        stored = self.repo.alerts.store_feed_items(
            url, new_items, now, (state, success), also_seen, seen_keys=seen_keys
        )
        self._notices.extend([recovered] if recovered else [])
        if any(i.alert and i.alert.group_later for i in new_items):
            if self._held_since is None:
                self._held_since = time.monotonic()  # (rolled back with its group: none is held)
            # What filing needs, loaded off the event loop from now on. Not by `poll --once`,
            # which files once its parse workers are gone: loaded beside them, the lexicons
            # and the window's index raised the changed cycle's peak PSS 75 -> 100 MB.
            if self.stories is not None and not self.settings.stop_parse_workers_after_fetches:
                self.stories.start_loading(now)
        return [s for s in stored if s.new_story]

    def _select_new(
        self,
        items: Sequence[Item],
        keys: Sequence[str],
        canonical: Sequence[str | None],
        now: datetime,
        first_fetch: bool,
        match_texts: Sequence[tuple[str, str]] = (),
        previous_success: datetime | None = None,
    ) -> tuple[list[NewItem], list[tuple[int, str]]]:
        """Dedup by item key and canonical URL; match the unseen items once each.

        ``match_texts``: each item's title and summary folded for matching by the parse job
        (empty when the body was read otherwise: the matcher folds them itself).
        ``previous_success``: the feed's previous successful poll (None on its first), which
        bounds the date of an undated new item (bot.core.arrival_bound)."""
        keyed: dict[str, tuple[Item, str | None]] = {}
        texts: dict[str, tuple[str, str]] = {}
        folded = match_texts if len(match_texts) == len(items) else [None] * len(items)
        for item, key, url, pair in zip(items, keys, canonical, folded, strict=True):
            first = keyed.setdefault(key, (item, url))[0]
            if first is not item and (first.title, first.summary) != (item.title, item.summary):
                self._repeated_guid(item, first)
            if first is item and pair is not None:
                texts[key] = pair
        unseen = self.repo.alerts.unseen_keys(list(keyed))
        fresh = {k: v[0] for k, v in keyed.items() if k in unseen}
        renewed = renewed_body(
            len(keyed), len(fresh), sum(1 for i in fresh.values() if i.published is None)
        )
        canon = {k: keyed[k][1] for k in fresh}
        known_urls = self.repo.alerts.items_by_canonical_url([c for c in canon.values() if c])
        articles = {k: article_key(item) for k, item in fresh.items()}
        known_articles = self.repo.alerts.items_by_article_key([a for a in articles.values() if a])
        seen_articles: set[str] = set()
        backfill_from = now - timedelta(hours=self.settings.backfill_hours)
        matcher = self.matcher()
        new_items: list[NewItem] = []
        also_seen: list[tuple[int, str]] = []
        seen_urls: set[str] = set()
        for key, item in fresh.items():
            url = canon[key]
            known = known_urls.get(url) if url else None
            duplicate_url = known is not None or (url is not None and url in seen_urls)
            if url:
                seen_urls.add(url)
            # The same article or post through another source (a forward of a Telegram
            # post, a GDELT hit on a Google News headline): one item, "also reported by".
            akey = articles[key]
            known_article = known_articles.get(akey) if akey else None
            if akey:
                duplicate_url = duplicate_url or known_article is not None or akey in seen_articles
                seen_articles.add(akey)
            if known is None or known.alert_id is None:
                known = known_article
            if known is not None and known.alert_id is not None:
                also_seen.append((known.alert_id, item.source))
            draft = None
            weak = None
            if not duplicate_url and _may_alert(item, first_fetch, backfill_from, now):
                result = matcher.match(item.title, item.summary, texts.get(key))
                if result:
                    bound = arrival_bound(
                        previous_success, now, published=item.published, renewed=renewed
                    )
                    draft = self._draft(item, result, now, bound)
                elif getattr(result, "weak", ()):
                    weak = _weak_draft(item, result)
            new_items.append(
                NewItem(
                    key=key,
                    canonical_url=url,
                    feed_url=item.feed_url,
                    title=item.title,
                    link=item.link,
                    published=item.published,
                    alert=draft,
                    weak=weak,
                    article_key=akey,
                )
            )
        return new_items, also_seen

    def _repeated_guid(self, item: Item, first: Item) -> None:
        """An item repeats another's GUID with other content: only the first is kept. Said
        once per feed and process (a feed that does it does it every fetch)."""
        if item.feed_url in self._guid_repeats_logged:
            return
        self._guid_repeats_logged.add(item.feed_url)
        log.warning(
            "feed %s: items repeat a GUID with other content (%r: %r, then %r); only the first"
            " of each is kept (said once per feed)",
            item.feed_url,
            item.guid,
            first.title[:80],
            item.title[:80],
        )

    def _draft(
        self,
        item: Item,
        result: MatchResult,
        now: datetime,
        published_after: datetime | None = None,
    ) -> AlertDraft:
        routed = tuple(_route(c) for c in result.chats)
        defaults: tuple[tuple[int | str, int | None], ...] = ()
        if not routed or getattr(result, "to_default", False):
            # An entity without its own chats goes to the default chats, even when another
            # matched entity is routed elsewhere.
            defaults = tuple((chat, None) for chat in self.settings.default_chats())
        chats = tuple(dict.fromkeys(routed + defaults))
        if self._incidents is None:
            self._incidents = load_default_tagger()
        incident = self._incidents.tag(item.title, item.summary)
        return AlertDraft(
            source=item.source,
            title=item.title,
            link=item.link,
            summary=item.summary,
            published=item.published,
            entities=tuple(result.entities),
            matches=tuple(result.hits),
            priority=priority_for(incident, result.priority),
            chats=chats,
            lang=guess_language(item.title, item.summary),
            incident=incident.fields() if incident.event_type or incident.places else None,
            # Its story is found once the cycle's fetches end (_group_stories); without a
            # grouper every alert starts its own story.
            group_later=self.stories is not None,
            published_after=published_after,
        )


def _internal(exc: BaseException, *, detail: bool = True) -> FeedError:
    """A bug of ours while reading a feed: the feed's failure, of kind ``internal``."""
    text = f"internal error: {type(exc).__name__}"
    return FeedError(FeedErrorKind.INTERNAL, f"{text}: {exc}" if detail else text)


def _weak_draft(item: Item, result: MatchResult) -> WeakDraft:
    """A weak match (names only in a list or an aside): stored for search, never alerted."""
    return WeakDraft(
        source=item.source,
        title=item.title,
        link=item.link,
        summary=item.summary,
        published=item.published,
        entities=result.weak_entities,
        reasons=tuple(f"{r.entity}: [{r.rule}] {r.detail}" for r in result.reasons),
    )


def _route(chat: Any) -> tuple[int | str, int | None]:
    """A routed chat: a ChatRoute (chat id or @channel, optional forum topic) or a bare id."""
    chat_id = getattr(chat, "chat_id", chat)
    return chat_id, getattr(chat, "thread_id", None)


def _holds_slot(parsed: Parsed | BaseException | None) -> bool:
    """A fetch task that parsed a body keeps its slot until its feed is stored."""
    return parsed is not None and not isinstance(parsed, BaseException)


def _unchanged(state: FeedState, result: FetchResult) -> bool:
    """304, or the same body as last time: nothing to parse."""
    if result.error:
        return False
    return result.not_modified or bool(result.body_hash and result.body_hash == state.body_hash)


def _may_alert(item: Item, first_fetch: bool, backfill_from: datetime, now: datetime) -> bool:
    """On a feed's first fetch, only items published in the backfill window may alert: by the
    feed's date, or for an undated item by the day its link states (bot.core.link_dates,
    noon UTC of that day: a report of last year is history, not news). An undated item whose
    link states no day is a backlog of unknown age: recorded, never alerted."""
    if not first_fetch:
        return True
    published = item.published
    if published is None and item.link:
        published = link_event_time(item.link, now)
    return published is not None and published >= backfill_from
