"""Drain the outbox to Telegram: pace, send, record message ids, handle errors, edit stories."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from telegram import LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.core.alert_views import alert_view
from bot.core.delivery_policy import (
    ChatPrefs,
    DigestWhy,
    Pending,
    digest_header,
    muted_by,
    parse_hhmm,
    plan_chat,
    unmuted_entities,
)
from bot.core.formatting import Report, render_alert, render_digest, render_plain
from bot.core.incidents import Severity, below_minimum
from bot.core.models import StoredAlert
from bot.core.notice_pages import notice_pages
from bot.core.ports import DeliveryStore
from bot.core.records import (
    AlertRecord,
    DeliveryKind,
    EditOutcome,
    MuteKind,
    NoticeStatus,
    OutboxRow,
    Priority,
    SendOutcome,
    StoryEdit,
)
from bot.core.story_edits import EditRule, candidates_since, edit_due
from bot.telegram.buttons import alert_keyboard
from bot.telegram.retries import (
    RetryPolicy,
    TelegramDeferred,
    with_telegram_retries,
)

log = logging.getLogger("newswatch.delivery")

NETWORK_RETRIES = 3
BACKOFF_BASE = 1.0
NETWORK_RETRY_LATER = timedelta(seconds=30)
PER_CHAT_INTERVAL = 1.0  # Telegram: about one message per second in one chat
GROUP_MAX_PER_MINUTE = 20  # Telegram: 20 messages per minute in one group
REPLY_RESERVE = 5  # command replies never take the last 5 of a group's 20 messages a minute
MAX_INLINE_WAIT = 60.0
# rate_limit_args of the deliverer's own requests: it paces them and handles 429 itself
# (bot.telegram.application.PacedRateLimiter paces and retries everything else).
ALERT_REQUEST = 1_000_001  # longer 429 waits are not slept through inside a cycle
# Admin notices: no 429 waited out and no network retry inside a drain; they stay pending.
NOTICE_POLICY = RetryPolicy(network_retries=0, retry_after_waits=0)


def _is_group(chat_id: int | str) -> bool:
    """Groups, supergroups and channels: negative ids or @usernames."""
    return isinstance(chat_id, str) or chat_id < 0


def without_muted(row: OutboxRow, mutes: Sequence[tuple[MuteKind, str]]) -> OutboxRow:
    """The alert row as this chat sees it: a muted entity is removed from the alert (its
    header, "matched:" line and buttons); rows it does not change are returned as they are."""
    if row.alert is None:
        return row
    entities = list(row.alert.entities)
    kept = unmuted_entities(entities, mutes)
    if len(kept) == len(entities):
        return row
    matches = tuple(m for m in row.alert.matches if m.entity in kept)
    return replace(row, alert=replace(row.alert, entities=tuple(kept), matches=matches))


@dataclass(slots=True)
class _Target:
    """Where one request goes, changed between attempts (migrated group, gone topic,
    plain text after Telegram refused the HTML)."""

    chat_id: int | str
    thread_id: int | None = None
    plain: bool = False


class ChatPacer:
    """Our own per-chat limits, which AIORateLimiter does not give.

    AIORateLimiter (in bot.telegram.application) limits 30 requests/s overall and groups
    (negative chat ids) with a leaky bucket that lets 20 through at once and then more
    within the same minute. It does nothing per private chat. This pacer adds: at least
    ``interval`` seconds between two messages to one chat, at most ``group_per_minute``
    messages to one group in any sliding 60 s, and a global gate after a 429.
    """

    def __init__(
        self,
        *,
        interval: float = PER_CHAT_INTERVAL,
        group_per_minute: int = GROUP_MAX_PER_MINUTE,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.interval = interval
        self.group_per_minute = group_per_minute
        self.monotonic = monotonic
        self.gate_until = 0.0  # no request at all before this (Telegram said 429)
        self._next: dict[int | str, float] = {}
        self._recent: defaultdict[int | str, deque[float]] = defaultdict(deque)
        self._alerts_waiting: Counter[int | str] = Counter()

    def block(self, seconds: float) -> None:
        self.gate_until = max(self.gate_until, self.monotonic() + seconds)

    def gate_remaining(self) -> float:
        return max(0.0, self.gate_until - self.monotonic())

    def alert_waiting(self, chat_id: int | str, delta: int) -> None:
        """The deliverer waits for this chat's turn (+1) or got it (-1): replies yield."""
        self._alerts_waiting[chat_id] += delta
        if self._alerts_waiting[chat_id] <= 0:
            del self._alerts_waiting[chat_id]

    def reply_wait(self, chat_id: int | str) -> float:
        """How long a command reply waits: like an alert, and also while an alert waits for
        this chat, and it never takes the last REPLY_RESERVE of a group's minute."""
        if chat_id in self._alerts_waiting:
            return max(self.interval, self.wait_needed(chat_id))
        return self.wait_needed(chat_id, reserve=REPLY_RESERVE)

    def wait_needed(self, chat_id: int | str, reserve: int = 0) -> float:
        now = self.monotonic()
        wait = max(self.gate_until - now, self._next.get(chat_id, 0.0) - now, 0.0)
        if _is_group(chat_id) and self.group_per_minute > reserve:
            recent = self._recent[chat_id]
            while recent and recent[0] <= now - 60.0:
                recent.popleft()
            if len(recent) >= self.group_per_minute - reserve:
                wait = max(wait, recent[0] + 60.0 - now)
        return wait

    def taken(self, chat_id: int | str) -> None:
        now = self.monotonic()
        self._next[chat_id] = now + self.interval
        if _is_group(chat_id):
            self._recent[chat_id].append(now)


class TelegramDeliverer:
    """Sends every pending delivery. One task per chat, so chats do not wait on each other."""

    def __init__(
        self,
        bot: Any,  # an ExtBot: requests carry rate_limit_args
        repo: DeliveryStore,
        *,
        timezone: str,
        admin_ids: Sequence[int] = (),
        link_previews: bool = False,
        digest_threshold: int = 10,
        story_edit_interval: float = 300.0,
        buttons: bool = True,
        pacer: ChatPacer | None = None,
        max_inline_wait: float = MAX_INLINE_WAIT,
        network_retries: int = NETWORK_RETRIES,
        backoff_base: float = BACKOFF_BASE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Any] = asyncio.sleep,
        alert_chats: Callable[[], Sequence[int | str]] = tuple,
    ):
        self.bot = bot
        self.repo = repo
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self.admin_ids = tuple(admin_ids)
        self.link_previews = link_previews
        self.digest_threshold = digest_threshold
        self.edit_rule = EditRule(interval=timedelta(seconds=story_edit_interval))
        self.buttons = buttons
        self.pacer = pacer or ChatPacer()
        self.max_inline_wait = max_inline_wait
        self.network_retries = network_retries
        self.backoff_base = backoff_base
        self.clock = clock
        self.sleep = sleep
        self.alert_chats = alert_chats  # where to tell an admin whose own chat blocked us
        self._lock = asyncio.Lock()
        self._unknown_minimums: set[tuple[int, str, str]] = set()  # logged once each
        self._notice_lock = asyncio.Lock()  # one pass over the stored notices at a time
        self._told: set[str] = set()  # admin notices already sent by this process
        self._redrain: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        # Storage failures (disk full, read-only, locked past the busy timeout): a message
        # Telegram accepted but whose `sent` mark could not be committed is remembered here
        # (delivery id -> message id) and recorded before anything else is sent.
        self._unrecorded: dict[int, int | None] = {}
        self._sent_here: set[int] = set()  # delivery ids Telegram accepted in this process
        self._notices_sent: set[int] = set()  # admin notice ids sent but not yet recorded
        self.storage_error: str | None = None  # the last storage failure, None when healthy
        self._outage_since: float | None = None  # Telegram unreachable since (monotonic)

    # ----- entry points ------------------------------------------------------------------
    async def deliver(self, new_alerts: Sequence[StoredAlert]) -> None:
        await self.drain()

    async def drain(self) -> int:
        """Send everything due now, then the story edits due. Returns messages sent.

        Safe to call at any time and from a background task: one drain runs at a time, and
        every state change is committed to the outbox as it happens.
        """
        async with self._lock:
            if not self.record_unrecorded():
                return 0  # storage still failing: send nothing more until it is recorded
            now = self.clock()
            self.repo.chats.follow_migrations()
            rows = [
                r for r in self.repo.outbox.pending(now) if r.delivery_id not in self._sent_here
            ]
            by_chat = self._prepare(rows, now)
            results = await asyncio.gather(
                *(self._drain_chat(chat_rows) for chat_rows in by_chat.values())
            )
            await self._edit_stories()
        await self._send_notices()
        return sum(results)

    def record_unrecorded(self) -> bool:
        """Commit the `sent` marks that failed earlier. True when none is left unrecorded."""
        for delivery_id, message_id in list(self._unrecorded.items()):
            try:
                self.repo.outbox.mark_sent(delivery_id, message_id, self.clock())
            except sqlite3.Error as exc:
                self.storage_error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "still cannot record %d sent message(s) (%s); nothing more is sent until"
                    " they are recorded",
                    len(self._unrecorded),
                    exc,
                )
                return False
            del self._unrecorded[delivery_id]
            log.warning("delivery %s: sent mark recorded after a storage failure", delivery_id)
        self.storage_error = None
        return True

    @property
    def unrecorded(self) -> dict[int, int | None]:
        """Deliveries Telegram accepted whose `sent` mark is not committed (id -> message)."""
        return dict(self._unrecorded)

    # ----- planning: mutes, quiet hours, digests -----------------------------------------
    def _prepare(self, rows: list[OutboxRow], now: datetime) -> dict[int | str, list[OutboxRow]]:
        """Apply mutes and the delivery policy; returns, per chat, the rows to send in order."""
        grouped: defaultdict[tuple[int | str, int | None], list[OutboxRow]] = defaultdict(list)
        for row in rows:
            grouped[(row.chat_id, row.thread_id)].append(row)
        mutes: dict[int | str, list[tuple[MuteKind, str]]] = {}
        prefs: dict[int | str, ChatPrefs] = {}
        minimums: dict[int | str, Mapping[str, Severity]] = {}
        out: defaultdict[int | str, list[OutboxRow]] = defaultdict(list)
        for (chat_id, thread_id), chat_rows in grouped.items():
            if chat_id not in mutes:
                found = (
                    self.repo.chats.active_mutes(chat_id, now) if isinstance(chat_id, int) else []
                )
                mutes[chat_id] = [(m.kind, m.value) for m in found]
                prefs[chat_id] = self._prefs(chat_id)
                minimums[chat_id] = self._minimums(chat_id)
            live: list[OutboxRow] = []
            skips: list[tuple[int, str]] = []
            for row in chat_rows:
                reason = None
                if row.alert is not None and mutes[chat_id]:
                    reason = muted_by(list(row.alert.entities), row.alert.source, mutes[chat_id])
                if reason:
                    skips.append((row.delivery_id, reason))
                elif row.alert is not None and mutes[chat_id]:
                    live.append(without_muted(row, mutes[chat_id]))
                else:
                    live.append(row)
            if skips:
                self.repo.outbox.skip(skips, now)
            by_id = {r.delivery_id: r for r in live}
            plan = plan_chat(
                [
                    Pending(
                        delivery_id=r.delivery_id,
                        kind=r.kind,
                        priority=r.alert.priority if r.alert else Priority.NORMAL,
                        held=r.held,
                        below_minimum=r.kind is DeliveryKind.ALERT
                        and r.alert is not None
                        and below_minimum(
                            r.alert.incident.severity, list(r.alert.entities), minimums[chat_id]
                        )
                        is not None,
                    )
                    for r in live
                ],
                prefs[chat_id],
                now,
                self.zone,
                self.digest_threshold,
            )
            if plan.hold:
                self.repo.outbox.hold(plan.hold, now)
            out[chat_id].extend(by_id[i] for i in plan.send)
            for why, ids in plan.digests:
                out[chat_id].extend(self._bundle(why, [by_id[i] for i in ids], chat_id, thread_id))
        return out

    def _minimums(self, chat_id: int | str) -> Mapping[str, Severity]:
        """A chat's minimum severities (/priority). A stored level this version does not
        know is ignored (that entity has no minimum: its alerts come at once), logged once."""
        if not isinstance(chat_id, int):
            return {}
        found = self.repo.chats.severity_prefs(chat_id)
        for entity, text in found.unknown.items():
            if (chat_id, entity, text) not in self._unknown_minimums:
                self._unknown_minimums.add((chat_id, entity, text))
                log.warning(
                    "chat %s: ignoring unknown minimum severity %r for %s (not one of %s)",
                    chat_id,
                    text,
                    "every entity" if entity == "*" else entity,
                    ", ".join(Severity),
                )
        return found.minimums

    def _prefs(self, chat_id: int | str) -> ChatPrefs:
        row = self.repo.chats.prefs(chat_id) if isinstance(chat_id, int) else None
        if not row:
            return ChatPrefs()
        try:
            return ChatPrefs(
                quiet_start=parse_hhmm(row.quiet_start),
                quiet_end=parse_hhmm(row.quiet_end),
                digest_mode=row.digest_mode,
                digest_time=parse_hhmm(row.digest_time) or ChatPrefs().digest_time,
            )
        except ValueError as exc:
            log.warning("chat %s: ignoring bad preferences: %s", chat_id, exc)
            return ChatPrefs()

    def _bundle(
        self, why: DigestWhy, rows: list[OutboxRow], chat_id: int | str, thread_id: int | None
    ) -> list[OutboxRow]:
        """Replace alert rows by digest rows in the outbox (atomically) and return those."""
        alerts = [(r.alert, r.story_outlets) for r in rows if r.alert is not None]
        views = [
            alert_view(alert, also)
            for (alert, _), also in zip(alerts, self._also_reported(alerts), strict=True)
        ]
        texts = render_digest(views, digest_header(why, len(views)))
        silent = all(v.priority is Priority.DIGEST for v in views)
        ids = self.repo.outbox.bundle_into_digest(
            [r.delivery_id for r in rows], chat_id, thread_id, texts, silent, self.clock()
        )
        log.info(
            "chat %s: %d alerts bundled into %d digest message(s) (%s)",
            chat_id,
            len(rows),
            len(ids),
            why,
        )
        return [
            OutboxRow(
                delivery_id=new_id,
                chat_id=chat_id,
                thread_id=thread_id,
                kind=DeliveryKind.DIGEST,
                attempts=0,
                payload=text,
                held=None,
                silent=silent,
            )
            for new_id, text in zip(ids, texts, strict=True)
        ]

    # ----- sending -----------------------------------------------------------------------
    async def _drain_chat(self, rows: list[OutboxRow]) -> int:
        sent = 0
        for row in rows:
            if self._unrecorded:  # a storage failure in any chat stops the whole pass
                break
            outcome = await self._send_one(row)
            if outcome is SendOutcome.SENT:
                sent += 1
            elif outcome in (SendOutcome.CHAT_DEAD, SendOutcome.DEFERRED, SendOutcome.STORAGE):
                break
        return sent

    async def _turn(self, chat_id: int | str) -> bool:
        """Wait for this chat's turn. False when a 429 wait is too long to sit through now.

        While waiting, command replies to this chat (same pacer) let the alert go first."""
        self.pacer.alert_waiting(chat_id, +1)
        try:
            while True:
                gate = self.pacer.gate_remaining()
                if gate > self.max_inline_wait:
                    self._schedule_redrain(gate)
                    return False
                wait = self.pacer.wait_needed(chat_id)
                if wait <= 0:
                    self.pacer.taken(chat_id)
                    return True
                await self.sleep(wait)
        finally:
            self.pacer.alert_waiting(chat_id, -1)

    def _schedule_redrain(self, delay: float) -> None:
        """After a long 429, drain again once it has passed (when the loop still runs)."""
        if self._redrain is not None and not self._redrain.cancelled():
            return
        loop = asyncio.get_running_loop()

        def start() -> None:
            self._redrain = None
            task = loop.create_task(self.drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._redrain = loop.call_later(delay + 0.05, start)

    def _also_reported(
        self, alerts: Sequence[tuple[AlertRecord, tuple[str, ...]]]
    ) -> list[tuple[Report, ...]]:
        """For each alert (with its story's outlets), the story's other outlets with a link to
        their report (each outlet once, first report first)."""
        ids = [a.story_id for a, _ in alerts if a.story_id is not None]
        reports = self.repo.alerts.story_reports(ids) if ids else {}
        out = []
        for alert, outlets in alerts:
            story = reports.get(alert.story_id) if alert.story_id is not None else None
            if story is None:  # no story rows (e.g. an older database): the outlet names
                story = [(name, None) for name in outlets]
            seen = {alert.source}
            also = []
            for outlet, link in story:
                if outlet and outlet not in seen:
                    seen.add(outlet)
                    also.append(Report(outlet, link))
            out.append(tuple(also))
        return out

    def _render(
        self, payload: str | None, alert: AlertRecord | None, outlets: tuple[str, ...]
    ) -> str:
        if payload or alert is None:
            return payload or ""
        [also] = self._also_reported([(alert, outlets)])
        return render_alert(alert_view(alert, also), self.timezone)

    def _keyboard(self, alert: AlertRecord | None) -> Any:
        if not self.buttons or alert is None:
            return None
        return alert_keyboard(alert.id, list(alert.entities), alert.source)

    @property
    def _policy(self) -> RetryPolicy:
        """Alerts and edits: any number of short 429s (``_turn`` defers long ones), network
        errors retried with backoff."""
        return RetryPolicy(network_retries=self.network_retries, backoff_base=self.backoff_base)

    async def _send_one(self, row: OutboxRow) -> SendOutcome:
        """Send one outbox row. Returns sent | failed | chat-dead | deferred | storage."""
        delivery_id = row.delivery_id
        to = _Target(chat_id=row.chat_id, thread_id=row.thread_id)
        alert = row.alert if row.kind is DeliveryKind.ALERT else None
        text = self._render(row.payload, alert, row.story_outlets)
        markup = self._keyboard(alert)
        silent = row.silent or (alert is not None and alert.priority is Priority.DIGEST)

        async def send() -> Message:
            message: Message = await self.bot.send_message(
                rate_limit_args=ALERT_REQUEST,
                chat_id=to.chat_id,
                text=render_plain(text) if to.plain else text,
                parse_mode=None if to.plain else ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=not self.link_previews),
                message_thread_id=to.thread_id,
                disable_notification=silent,
                reply_markup=markup,
            )
            return message

        async def adjust(exc: TelegramError) -> bool:
            """What can be fixed by sending differently: True to send again at once."""
            if isinstance(exc, ChatMigrated):
                new_id = int(exc.new_chat_id)
                log.warning("chat %s became supergroup %s; following it", to.chat_id, new_id)
                self.repo.chats.migrate(to.chat_id, new_id)
                await self._tell_once(
                    f"migrated:{to.chat_id}",
                    f"Chat {to.chat_id} was upgraded to a supergroup: alerts now go to"
                    f" {new_id}. Update NEWSWATCH_CHAT_IDS / watchlist routes to the new id.",
                )
                to.chat_id = new_id
                return True
            if not isinstance(exc, BadRequest):
                return False
            lowered = exc.message.lower()
            if "chat not found" in lowered:
                return False
            if "thread not found" in lowered and to.thread_id is not None:
                log.warning(
                    "topic %s of chat %s is gone; sending to the chat", to.thread_id, to.chat_id
                )
                to.thread_id = None
                return True
            if not to.plain:  # can't parse entities, message is too long, …: never drop it
                log.warning("delivery %s rejected (%s); resending as plain text", delivery_id, exc)
                to.plain = True
                return True
            return False

        try:
            message = await with_telegram_retries(
                send,
                self._policy,
                turn=lambda: self._turn(to.chat_id),
                adjust=adjust,
                on_retry_after=self.pacer.block,
                on_network_error=self._outage_started,
                sleep=self.sleep,
                label=f"sending to chat {to.chat_id}",
            )
        except TelegramDeferred as exc:
            if exc.cause is None:
                return SendOutcome.DEFERRED  # a long 429: the redrain comes back for it
            later = self.clock() + NETWORK_RETRY_LATER
            self.repo.outbox.mark_retry(delivery_id, exc.reason, later, self.clock())
            self._schedule_redrain(NETWORK_RETRY_LATER.total_seconds())
            return SendOutcome.DEFERRED
        except Forbidden as exc:
            # Blocked or kicked: the chat waits, its alerts stay pending (up to the
            # retention limit) and go out when it comes back (bot.telegram.chat_revival).
            reason = f"forbidden: {exc.message}"
            now = self.clock()
            self.repo.chats.deactivate(to.chat_id, reason, now)
            self.repo.outbox.mark_retry(delivery_id, reason, now, now)
            await self.notify_elsewhere(
                to.chat_id,
                f"Chat {to.chat_id} deactivated: {exc.message}. Its alerts are kept (pending)"
                " and sent when it comes back: when its user sends /start or any command,"
                f" when the bot is added to the group again, or with /retry chat {to.chat_id}.",
            )
            return SendOutcome.CHAT_DEAD
        except BadRequest as exc:
            self.repo.outbox.mark_failed(delivery_id, f"bad request: {exc.message}", self.clock())
            if "chat not found" in exc.message.lower():
                await self._tell_once(
                    f"notfound:{to.chat_id}",
                    f"Chat {to.chat_id} not found: alerts cannot reach it. Check the chat id"
                    " and that the bot was added to the chat.",
                )
                return SendOutcome.CHAT_DEAD
            return SendOutcome.FAILED
        except TelegramError as exc:  # e.g. InvalidToken: keep it pending, try later
            log.error("telegram error sending delivery %s: %s", delivery_id, exc)
            later = self.clock() + NETWORK_RETRY_LATER
            self.repo.outbox.mark_retry(
                delivery_id, f"telegram: {exc.message}", later, self.clock()
            )
            return SendOutcome.DEFERRED
        # The duplicate window: Telegram has the message, our commit is not yet done.
        # Nothing is awaited between the response and this commit.
        self._sent_here.add(delivery_id)
        if self._outage_since is not None:
            self._outage_ended()
        try:
            self.repo.outbox.mark_sent(delivery_id, message.message_id, self.clock())
        except sqlite3.Error as exc:  # disk full, read-only, locked past the busy timeout
            self._unrecorded[delivery_id] = message.message_id
            self.storage_error = f"{type(exc).__name__}: {exc}"
            log.error(
                "delivery %s was sent (message %s) but cannot be recorded: %s; delivery"
                " stops until it is recorded",
                delivery_id,
                message.message_id,
                exc,
            )
            return SendOutcome.STORAGE
        return SendOutcome.SENT

    def _outage_started(self, exc: Exception) -> None:
        """One WARNING when Telegram becomes unreachable, with what waits (not one per try)."""
        if self._outage_since is not None:
            return
        self._outage_since = time.monotonic()
        try:
            pending = self.repo.outbox.pending_delivery_count()
        except sqlite3.Error:  # only for the log line
            pending = -1
        log.warning(
            "Telegram unreachable (%s: %s); %s alert(s) pending, retried with backoff",
            type(exc).__name__,
            exc,
            pending if pending >= 0 else "?",
        )

    def _outage_ended(self) -> None:
        assert self._outage_since is not None
        log.warning(
            "Telegram reachable again after %.0fs; sending what is pending",
            time.monotonic() - self._outage_since,
        )
        self._outage_since = None

    # ----- story edits -------------------------------------------------------------------
    async def _edit_stories(self) -> int:
        """Edit the sent first messages of the stories ``edit_due`` names (other outlets
        reported them since)."""
        now = self.clock()
        due = {
            story.story_id: story
            for story in self.repo.outbox.story_edit_candidates(
                candidates_since(now, self.edit_rule)
            )
            if edit_due(story, now, self.edit_rule)
        }
        if not due:
            return 0
        by_story: defaultdict[int, list[StoryEdit]] = defaultdict(list)
        for row in self.repo.outbox.story_edit_messages(list(due)):
            by_story[row.story_id].append(row)
        edited = 0
        for story_id, story_rows in by_story.items():
            done = True
            for row in story_rows:
                outcome = await self._edit_one(row)
                done = done and outcome is not EditOutcome.DEFERRED
                edited += outcome is EditOutcome.EDITED
            if done:
                self.repo.outbox.mark_story_edited(story_id, due[story_id].outlets, self.clock())
        return edited

    async def _edit_one(self, row: StoryEdit) -> EditOutcome:
        """Edit one sent message. Returns edited | unchanged | gone | deferred."""
        to = _Target(chat_id=row.chat_id)
        text = self._render(None, row.alert, row.story_outlets)

        async def edit() -> None:
            await self.bot.edit_message_text(
                rate_limit_args=ALERT_REQUEST,
                text=render_plain(text) if to.plain else text,
                chat_id=to.chat_id,
                message_id=row.message_id,
                parse_mode=None if to.plain else ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=not self.link_previews),
                reply_markup=self._keyboard(row.alert),
            )

        async def adjust(exc: TelegramError) -> bool:
            if isinstance(exc, BadRequest) and "parse entities" in exc.message.lower():
                done, to.plain = to.plain, True
                return not done
            return False

        try:
            await with_telegram_retries(
                edit,
                self._policy,
                turn=lambda: self._turn(to.chat_id),
                adjust=adjust,
                on_retry_after=self.pacer.block,
                sleep=self.sleep,
                label=f"editing in chat {to.chat_id}",
            )
        except TelegramDeferred as exc:
            log.info("story %s: edit deferred: %s", row.story_id, exc.reason)
            return EditOutcome.DEFERRED
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return EditOutcome.UNCHANGED
            log.info("story %s: cannot edit message in %s: %s", row.story_id, to.chat_id, exc)
            return EditOutcome.GONE
        except TelegramError as exc:  # Forbidden, ChatMigrated…: the next send handles it
            log.info("story %s: edit in %s failed: %s", row.story_id, to.chat_id, exc)
            return EditOutcome.GONE
        return EditOutcome.EDITED

    # ----- admin notices -----------------------------------------------------------------
    async def _tell_once(self, key: str, text: str) -> None:
        if key in self._told:
            log.warning("%s", text)
            return
        self._told.add(key)
        await self.notify_admins(text)

    def notice_recipients(self) -> tuple[int, ...]:
        """The configured admins and the paired owner (read now: pairing happens at run time)."""
        return tuple(dict.fromkeys((*self.admin_ids, *self.repo.access.owner_ids())))

    async def notify_elsewhere(self, dead_chat: int | str, text: str) -> None:
        """Tell the admins about ``dead_chat`` through any chat but that one: the other
        admins, or when the only admin is that chat (the usual private setup), the other
        alert chats."""
        others = [a for a in self.notice_recipients() if str(a) != str(dead_chat)]
        if not others:
            inactive = self.repo.chats.inactive()
            others = [
                c
                for c in self.alert_chats()
                if str(c) != str(dead_chat) and c not in inactive and isinstance(c, int)
            ]
        log.warning("admin notice: %s", text)
        if not others:
            log.warning("no other chat to tell that chat %s is deactivated", dead_chat)
            return
        try:
            for page in notice_pages(text):
                self.repo.outbox.queue_admin_notice(others, page, self.clock())
        except sqlite3.Error as exc:
            log.warning("could not store an admin notice (%s)", exc)
            return
        await self._send_notices()

    async def notify_admins(self, text: str) -> None:
        """Store the notice for every admin and the owner, then try to send what is pending.

        A notice Telegram does not take now (network down, 5xx, a long 429) stays pending in
        ``admin_notices`` and goes out with a later drain, so a "feed paused" notice is not
        lost to an outage. A notice never breaks delivery: failures are logged.
        """
        log.warning("admin notice: %s", text)
        try:
            for page in notice_pages(text):  # over 4096 units Telegram refuses it
                self.repo.outbox.queue_admin_notice(self.notice_recipients(), page, self.clock())
        except Exception as exc:  # the database is failing: say so without storing it
            log.warning("could not store an admin notice (%s); sending it unstored", exc)
            for page in notice_pages(text):
                await self._send_unstored(page)
            return
        await self._send_notices()

    async def _send_unstored(self, text: str) -> None:
        """Best effort, once: for notices about the storage itself, which cannot be queued."""
        try:
            recipients = self.notice_recipients()
        except Exception:  # the owner is stored in the database that is failing
            recipients = self.admin_ids
        for admin in recipients:
            try:
                await self._send_notice(admin, text)
            except Exception as exc:  # boundary: the database is failing; each admin on their own
                log.warning("could not notify admin %s: %s", admin, type(exc).__name__)

    async def _send_notice(self, admin: int, text: str) -> None:
        """One admin notice. A 429 or a network error is not retried here: the notice stays
        pending (TelegramDeferred) and a later drain sends it, in order."""
        await with_telegram_retries(
            partial(self.bot.send_message, chat_id=admin, text=text, rate_limit_args=ALERT_REQUEST),
            NOTICE_POLICY,
            turn=lambda: self._turn(admin),
            on_retry_after=self.pacer.block,
            sleep=self.sleep,
            label=f"sending a notice to {admin}",
        )

    async def _send_notices(self) -> int:
        """Send the pending admin notices, oldest first; stop at the first transient failure."""
        sent = 0
        async with self._notice_lock:
            try:
                rows = self.repo.outbox.pending_admin_notices()
            except sqlite3.Error:
                log.exception("could not read the pending admin notices")
                return 0
            for row in rows:
                admin = row.admin_id
                if row.id in self._notices_sent:  # sent, but its mark was not committed
                    if not self._mark_notice(row.id, NoticeStatus.SENT, None):
                        break
                    continue
                try:
                    await self._send_notice(admin, row.text)
                except TelegramDeferred as exc:  # a 429 or the network: the next drain
                    if exc.cause is not None and not isinstance(exc.cause, RetryAfter):
                        log.warning(
                            "could not notify admin %s: %s", admin, type(exc.cause).__name__
                        )
                        self._mark_notice(row.id, NoticeStatus.PENDING, type(exc.cause).__name__)
                    break
                except (Forbidden, BadRequest) as exc:  # blocked by the admin, or no such chat
                    log.warning("admin %s cannot receive notices: %s", admin, exc.message)
                    self._mark_notice(row.id, NoticeStatus.FAILED, exc.message)
                    if isinstance(exc, Forbidden):  # pending again when the chat comes back
                        reason = f"forbidden: {exc.message}"
                        with contextlib.suppress(Exception):
                            self.repo.chats.deactivate(admin, reason, self.clock())
                    continue
                except Exception as exc:  # any other failure: the next drain tries again
                    log.warning("could not notify admin %s: %s", admin, type(exc).__name__)
                    self._mark_notice(row.id, NoticeStatus.PENDING, type(exc).__name__)
                    break
                sent += 1
                if self._mark_notice(row.id, NoticeStatus.SENT, None):
                    continue
                self._notices_sent.add(row.id)  # never sent twice by this process
                break
        return sent

    def _mark_notice(self, notice_id: int, status: NoticeStatus, error: str | None) -> bool:
        try:
            self.repo.outbox.mark_notice(notice_id, status, error, self.clock())
        except sqlite3.Error as exc:
            log.warning("could not record admin notice %s as %s: %s", notice_id, status, exc)
            return False
        self._notices_sent.discard(notice_id)
        return True
