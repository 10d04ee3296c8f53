"""Ports: what the adapters need from storage and from the access policy, as Protocols.

The Telegram and console adapters are given these (by ``bot/app/composition.py``), never the
storage classes themselves, so no adapter imports another: ``storage.repository.Repository``
and ``storage.queries.Queries`` satisfy the store ports and ``bot.app.access.AccessControl``
the access port, which mypy checks where the composition passes them in. Storage is ported by
aggregate (``FeedRows``, ``AlertRows``, ``OutboxRows``, ``ChatRows``, ``AccessRows``: the methods
the adapters call on ``repo.feeds``, ``repo.alerts``, …); each adapter's port names the aggregates
it uses.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Protocol

from bot.core.feed_state import FeedStatus
from bot.core.incidents import Severity
from bot.core.records import (
    KEEP,
    AdminNotice,
    AlertRecord,
    DigestMode,
    EventTypeCounts,
    FeedState,
    HoldReason,
    IncidentRecord,
    Keep,
    Mute,
    MuteKind,
    NoticeStatus,
    OutboxRow,
    Role,
    SeverityPrefs,
    StoredChatPrefs,
    StoryEdit,
    StoryRecord,
    WeakMatchRecord,
)
from bot.core.search_query import IncidentFilter, Page
from bot.core.story_edits import StoryEditState


class AccessPolicy(Protocol):
    """Who may command the bot: the paired owner, admins, allowed users and chats."""

    @property
    def chat_ids(self) -> Collection[str]: ...

    def is_admin(self, user_id: int | None) -> bool: ...

    def admin_user_ids(self) -> frozenset[int]: ...

    def is_allowed(self, user_id: int | None, chat_id: int | None) -> bool: ...

    def claim(self, code: str, user_id: int, chat_id: int) -> bool: ...

    def allow(self, actor: int, user_id: int) -> str: ...

    def deny(self, actor: int, user_id: int) -> str: ...


# ----- the storage aggregates, as the adapters use them (storage/*.py satisfy them) ---------
class FeedRows(Protocol):
    """``repo.feeds``: what /retry changes."""

    def retry(self, target: str, now: datetime) -> tuple[str, FeedStatus]: ...


class AlertRows(Protocol):
    """``repo.alerts``: stored alerts by id, their stories' reports, unrouted alerts."""

    def alerts_by_ids(self, ids: Sequence[int]) -> list[AlertRecord]: ...

    def story_reports(
        self, story_ids: Sequence[int]
    ) -> dict[int, list[tuple[str, str | None]]]: ...

    def unrouted_alert_count(self) -> int: ...

    def unrouted_alerts(self, limit: int) -> list[AlertRecord]: ...


class OutboxRows(Protocol):
    """``repo.outbox``: pending rows and their outcome, digests, story edits, admin notices."""

    def pending(self, now: datetime, limit: int = 1000) -> list[OutboxRow]: ...

    def pending_delivery_count(self) -> int: ...

    def mark_sent(self, delivery_id: int, message_id: int | None, now: datetime) -> None: ...

    def mark_failed(self, delivery_id: int, reason: str, now: datetime) -> None: ...

    def mark_retry(
        self, delivery_id: int, reason: str, not_before: datetime, now: datetime
    ) -> None: ...

    def hold(self, holds: Sequence[tuple[int, datetime, HoldReason]], now: datetime) -> None: ...

    def skip(self, skips: Sequence[tuple[int, str]], now: datetime) -> None: ...

    def bundle_into_digest(
        self,
        ids: Sequence[int],
        chat_id: int | str,
        thread_id: int | None,
        texts: Sequence[str],
        silent: bool,
        now: datetime,
    ) -> list[int]: ...

    def queue_backlog_digest(
        self, chat_id: int, alert_ids: Sequence[int], texts: Sequence[str], now: datetime
    ) -> list[int]: ...

    def release_held(self, chat_id: int, reasons: Sequence[HoldReason], now: datetime) -> int: ...

    def alert_chats(self, alert_id: int) -> set[int]: ...

    def queue_admin_notice(self, admin_ids: Sequence[int], text: str, now: datetime) -> None: ...

    def pending_admin_notices(self) -> list[AdminNotice]: ...

    def mark_notice(
        self, notice_id: int, status: NoticeStatus, error: str | None, now: datetime
    ) -> None: ...

    def story_edit_candidates(self, updated_since: datetime) -> list[StoryEditState]: ...

    def story_edit_messages(self, story_ids: Sequence[int]) -> list[StoryEdit]: ...

    def mark_story_edited(self, story_id: int, outlets_shown: int, now: datetime) -> None: ...


class ChatRows(Protocol):
    """``repo.chats``: a chat's life (deactivated, migrated, revived) and its settings."""

    def deactivate(self, chat_id: int | str, reason: str, now: datetime) -> None: ...

    def migrate(self, old_id: int | str, new_id: int) -> None: ...

    def follow_migrations(self) -> int: ...

    def inactive(self) -> set[int]: ...

    def is_revivable(self, chat_id: int) -> bool: ...

    def reactivate(self, chat_id: int, now: datetime) -> int | None: ...

    def add_mute(
        self,
        chat_id: int,
        kind: MuteKind,
        value: str,
        until: datetime | None,
        created_by: int | None,
        now: datetime,
    ) -> int: ...

    def active_mutes(self, chat_id: int, now: datetime) -> list[Mute]: ...

    def remove_mute(self, chat_id: int, kind: MuteKind, value: str) -> int: ...

    def prefs(self, chat_id: int) -> StoredChatPrefs | None: ...

    def set_prefs(
        self,
        chat_id: int,
        now: datetime,
        *,
        quiet_start: str | Keep | None = KEEP,
        quiet_end: str | Keep | None = KEEP,
        digest_mode: DigestMode | Keep = KEEP,
        digest_time: str | Keep | None = KEEP,
    ) -> None: ...

    def severity_prefs(self, chat_id: int) -> SeverityPrefs: ...

    def set_severity_pref(
        self, chat_id: int, entity: str, min_severity: Severity | None, now: datetime
    ) -> None: ...

    def clear_severity_prefs(self, chat_id: int) -> None: ...

    def log_setting_change(
        self, actor: int | None, chat_id: int, detail: str, now: datetime
    ) -> None: ...


class AccessRows(Protocol):
    """``repo.access``: bot users and subscribed chats."""

    def users(self) -> dict[int, Role]: ...

    def owner_ids(self) -> list[int]: ...

    def subscribe_chat(self, chat_id: int, *, actor: int | None, now: datetime) -> bool: ...

    def unsubscribe_chat(self, chat_id: int, *, actor: int | None, now: datetime) -> bool: ...


# ----- what each adapter is given: the aggregates it uses (storage.repository.Repository) -----
class AlertStore(Protocol):
    """The stored alerts (the console deliverer)."""

    @property
    def alerts(self) -> AlertRows: ...


class ChatLife(Protocol):
    """A chat's active/inactive state: deactivated on 403, revived when it talks again."""

    @property
    def chats(self) -> ChatRows: ...


class DeliveryStore(Protocol):
    """The delivery side of storage: stored alerts, the outbox, chats (settings, mutes, life)
    and users. The Telegram deliverer drains the outbox through it (pending rows, their
    outcome, admin notices, story edits, each chat's preferences and mutes); the mute buttons
    under alerts read an alert, its chats and the user's role, and write the mute."""

    @property
    def alerts(self) -> AlertRows: ...

    @property
    def outbox(self) -> OutboxRows: ...

    @property
    def chats(self) -> ChatRows: ...

    @property
    def access(self) -> AccessRows: ...


class CommandStore(DeliveryStore, Protocol):
    """What the bot commands change: the delivery side (mutes, chat settings, subscriptions,
    backlog) and feed retries."""

    @property
    def feeds(self) -> FeedRows: ...


class AlertQueries(Protocol):
    """The reads behind the bot commands: recent, search, entity, story, stats, charts, feeds."""

    def recent(
        self, *, limit: int | None = None, since: datetime | None = None
    ) -> list[AlertRecord]: ...

    def search(
        self,
        match: str | None,
        *,
        since: datetime | None = None,
        limit: int = 10,
        offset: int = 0,
        incident: IncidentFilter | None = None,
    ) -> Page[AlertRecord]: ...

    def search_weak(
        self, match: str, *, since: datetime | None = None, limit: int = 5
    ) -> Page[WeakMatchRecord]: ...

    def entity(
        self, name: str, *, since: datetime | None = None, limit: int = 50
    ) -> Page[AlertRecord]: ...

    def story(self, story_id: int) -> tuple[StoryRecord | None, list[AlertRecord]]: ...

    def entity_names(self) -> list[str]: ...

    def source_names(self) -> list[str]: ...

    def entity_times(self, entity: str, start: datetime, end: datetime) -> list[datetime]: ...

    def incident_rows(
        self, start: datetime, end: datetime, entity: str | None = None
    ) -> list[IncidentRecord]: ...

    def feeds(self) -> list[FeedState]: ...

    def export_rows(self, since: datetime | None = None) -> Iterator[AlertRecord]: ...

    def count(self, start: datetime, end: datetime) -> int: ...

    def report_count(self, start: datetime, end: datetime) -> int: ...

    def counts_by_entity(self, start: datetime, end: datetime) -> dict[str, int]: ...

    def counts_by_source(self, start: datetime, end: datetime) -> dict[str, int]: ...

    def counts_by_event_type(self, start: datetime, end: datetime) -> EventTypeCounts: ...
