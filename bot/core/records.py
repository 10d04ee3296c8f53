"""The records and states that cross the storage boundary: frozen dataclasses and StrEnums.

``storage/`` maps table rows to these records (and back); the rest of the bot reads their
fields, never a row by column name. The enums are ``StrEnum`` so that the value stored in
SQLite is the member's value and a member compares equal to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any, TypeVar

from bot.core.errors import FeedErrorKind, kind_label
from bot.core.feed_state import FeedStatus
from bot.core.incidents import NO_INCIDENT_FIELDS, EventType, IncidentFields, Severity
from bot.core.matching import Hit
from bot.core.watchlist import Priority as Priority  # defined with the watchlist's `priority`

_E = TypeVar("_E", bound=StrEnum)


class DeliveryKind(StrEnum):
    """What an outbox row sends (``deliveries.kind``)."""

    ALERT = "alert"  # one alert's own message
    DIGEST = "digest"  # a digest message built from folded alerts (its text in ``payload``)


class DeliveryStatus(StrEnum):
    """Where an outbox row is (``deliveries.status``)."""

    PENDING = "pending"  # to send (when ``not_before`` has passed)
    SENT = "sent"  # Telegram accepted it (``message_id`` kept)
    FAILED = "failed"  # for good (the reason in ``last_error``)
    SKIPPED = "skipped"  # never to be sent (muted, unsubscribed, duplicate after migration)
    DIGESTED = "digested"  # folded into the digest row ``digest_id``


class HoldReason(StrEnum):
    """Why a pending outbox row waits (``deliveries.held``)."""

    QUIET = "quiet"  # the chat's quiet hours
    DAILY = "daily"  # the chat's daily digest (or below its minimum severity)
    HOURLY = "hourly"  # the chat's hourly digest


class NoticeStatus(StrEnum):
    """Where an admin notice is (``admin_notices.status``)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class DigestMode(StrEnum):
    """A chat's digest setting (``chat_prefs.digest_mode``)."""

    OFF = "off"  # every alert on its own (low priority silently)
    LOW = "low"  # low-priority alerts wait for the daily digest
    ALL = "all"  # every non-urgent alert waits for the daily digest
    HOURLY = "hourly"  # non-urgent alerts wait for the next full hour


class Role(StrEnum):
    """A bot user's role (``users.role``)."""

    OWNER = "owner"
    ALLOWED = "allowed"
    DENIED = "denied"


class MuteKind(StrEnum):
    """What a mute silences in a chat (``mutes.kind``)."""

    ENTITY = "entity"
    SOURCE = "source"


class SendOutcome(StrEnum):
    """What became of one attempt to send an outbox row (the deliverer's drain)."""

    SENT = "sent"
    FAILED = "failed"  # for good, for this row (the reason stored on it)
    CHAT_DEAD = "chat-dead"  # the chat blocked or removed the bot: its other rows wait
    DEFERRED = "deferred"  # a 429 or the network: the rest of this chat waits for later
    STORAGE = "storage"  # sent, but its mark could not be stored: the pass stops


class EditOutcome(StrEnum):
    """What became of one edit of a sent message ("also reported by")."""

    EDITED = "edited"
    UNCHANGED = "unchanged"  # Telegram says the text is the same
    GONE = "gone"  # the message or the chat cannot be edited any more
    DEFERRED = "deferred"  # a 429 or the network: the story is edited on a later pass


def _enum_or(kind: type[_E], value: object, default: _E) -> _E:
    """``value`` as a member of ``kind``; ``default`` for NULL or a value the code no longer
    knows (a row written by a newer or older version)."""
    try:
        return kind(str(value)) if value is not None else default
    except ValueError:
        return default


def feed_status(value: object) -> FeedStatus:
    return _enum_or(FeedStatus, value, FeedStatus.ACTIVE)


def error_kind(value: object) -> FeedErrorKind | None:
    if value is None:
        return None
    return _enum_or(FeedErrorKind, value, FeedErrorKind.UNKNOWN)


def hold_reason(value: object) -> HoldReason | None:
    return None if value is None else _enum_or(HoldReason, value, HoldReason.DAILY)


def delivery_kind(value: object) -> DeliveryKind:
    return _enum_or(DeliveryKind, value, DeliveryKind.ALERT)


def role(value: object) -> Role:
    return _enum_or(Role, value, Role.DENIED)


def priority(value: object) -> Priority:
    return _enum_or(Priority, value, Priority.NORMAL)


def digest_mode(value: object) -> DigestMode:
    return _enum_or(DigestMode, value, DigestMode.OFF)


@dataclass(frozen=True, slots=True)
class FeedState:
    """One feed's stored state (a ``feeds`` row): identity, HTTP validators, schedule,
    failures. Times are timezone-aware UTC."""

    url: str
    title: str | None = None
    origin: str | None = None
    status: FeedStatus = FeedStatus.ACTIVE
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    created_at: datetime | None = None
    last_fetch_at: datetime | None = None
    last_success_at: datetime | None = None
    first_success_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    last_error_kind: FeedErrorKind | None = None  # the kind of the last failure
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    next_fetch_at: datetime | None = None
    ttl_minutes: int | None = None
    items_total: int = 0
    redirected_to: str | None = None  # a permanent redirect applied: fetched from here
    redirect_candidate: str | None = None  # a permanent redirect seen once, not yet applied
    retry_not_before: datetime | None = None  # Retry-After
    items_seen_at: datetime | None = None
    paused_at: datetime | None = None
    source_state: str | None = None  # a non-feed source's own state, JSON (bot.sources)

    def changes(self, after: FeedState) -> dict[str, Any]:
        """The fields that differ in ``after`` (the same feed): what storing it writes."""
        if after.url != self.url:
            raise ValueError(f"not the same feed: {self.url} and {after.url}")
        changed = {}
        for name in _FEED_STATE_FIELDS:  # a cycle of 304s compares 1,000 of these
            value = getattr(after, name)
            if value != getattr(self, name):
                changed[name] = value
        return changed

    @property
    def fetched_from(self) -> str:
        """Where the feed is fetched: its redirect target, else its URL."""
        return self.redirected_to or self.url


_FEED_STATE_FIELDS = tuple(f.name for f in fields(FeedState) if f.name != "url")


@dataclass(frozen=True, slots=True)
class KnownItem:
    """An item already stored, found by its canonical URL or article key."""

    key: str
    feed_url: str | None
    alert_id: int | None


# The columns of the alerts CSV export (/export, `newswatch export`), in order. Incident fields
# are ACLED-like: places are "; "-separated names, lat/lon the first (most specific) place's.
CSV_COLUMNS = (
    "id", "created_at", "published_at", "source", "sources", "title", "link", "summary",
    "entities", "priority", "story_id",
    "event_type", "sub_event", "fatalities", "places", "lat", "lon", "severity",
)  # fmt: skip


def _csv_time(moment: datetime | None) -> str | None:
    """A time as it is stored and exported: ISO 8601, UTC, seconds."""
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """A stored alert (an ``alerts`` row), its JSON columns decoded."""

    id: int
    item_key: str
    story_id: int | None
    feed_url: str | None
    source: str
    title: str
    link: str | None
    summary: str
    published_at: datetime | None
    created_at: datetime | None
    priority: Priority = Priority.NORMAL
    entities: tuple[str, ...] = ()
    matches: tuple[Hit, ...] = ()  # the watched names found: entity, alias, field
    sources: tuple[str, ...] = ()  # every feed or outlet that carried this very item
    delivered: bool = True  # False: folded into its story's first message
    fingerprint: str | None = None
    lang: str | None = None
    incident: IncidentFields = NO_INCIDENT_FIELDS  # every field empty: no incident

    def as_csv_row(self) -> tuple[str | int | float | None, ...]:
        """The export's cells, in CSV_COLUMNS order; lists become ``a; b`` text. Feed text is
        returned as is: the CSV writer (bot.core.reports.alerts_csv) neutralises formulas."""
        incident = self.incident
        first = incident.places[0] if incident.places else None
        cells: dict[str, str | int | float | None] = {
            "id": self.id,
            "created_at": _csv_time(self.created_at),
            "published_at": _csv_time(self.published_at),
            "source": self.source,
            "sources": "; ".join(self.sources),
            "title": self.title,
            "link": self.link,
            "summary": self.summary,
            "entities": "; ".join(self.entities),
            "priority": self.priority.value,
            "story_id": self.story_id,
            "event_type": incident.event_type_text,
            "sub_event": incident.sub_event,
            "fatalities": incident.fatalities,
            "places": "; ".join(p.name for p in incident.places),
            "lat": first.lat if first else None,
            "lon": first.lon if first else None,
            "severity": incident.severity_text,
        }
        return tuple(cells[column] for column in CSV_COLUMNS)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A pending outbox row due now, with its alert (None for a digest or a notice) and the
    outlets of the alert's story."""

    delivery_id: int
    chat_id: int | str  # a chat id, or a channel's @username
    thread_id: int | None
    kind: DeliveryKind
    attempts: int
    payload: str | None
    held: HoldReason | None
    silent: bool
    alert: AlertRecord | None = None
    story_outlets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StoryEdit:
    """A sent first message of a story that gained outlets since its last edit."""

    story_id: int
    story_outlets: tuple[str, ...]
    delivery_id: int
    chat_id: int | str
    thread_id: int | None
    message_id: int
    alert: AlertRecord


@dataclass(frozen=True, slots=True)
class AdminNotice:
    """An admin notice not yet accepted by Telegram."""

    id: int
    admin_id: int
    text: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Mute:
    """A mute in force in a chat (``until`` None: until removed)."""

    id: int
    chat_id: int
    kind: MuteKind
    value: str
    until: datetime | None
    created_at: datetime | None
    created_by: int | None


@dataclass(frozen=True, slots=True)
class StoredChatPrefs:
    """A chat's stored quiet hours and digest settings, as typed by the user (``HH:MM``);
    bot.core.delivery_policy.ChatPrefs is the parsed form the policy uses."""

    chat_id: int
    quiet_start: str | None = None
    quiet_end: str | None = None
    digest_mode: DigestMode = DigestMode.OFF
    digest_time: str | None = None


@dataclass(frozen=True, slots=True)
class SeverityPrefs:
    """A chat's minimum severity per entity (``severity_prefs`` rows, set by ``/priority``):
    the casefolded entity name, or ``"*"`` for every entity. A stored level this version does
    not know (a newer version's, or typed by hand) is kept apart in ``unknown`` and ignored:
    that entity has no minimum, so its alerts come at once (storage logs it once)."""

    minimums: Mapping[str, Severity] = field(default_factory=dict)
    unknown: Mapping[str, str] = field(default_factory=dict)  # entity -> the stored text


class Keep(Enum):
    """The default of an optional change (``ChatStore.set_prefs``): leave the stored value as
    it is. A sentinel, because None is a value that can be set (it clears quiet hours)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class StoryMember:
    """One alert of a recent story, as a restart re-indexes it."""

    story_id: int
    created_at: datetime | None
    title: str
    summary: str
    entities: tuple[str, ...]
    published_at: datetime | None = None  # the feed's date, when it gave one
    alert_id: int = 0
    # its stored signature (bot.core.story_codec bytes) when one of the asked tag is stored
    signature: bytes | None = None
    # no publication date: its feed's previous poll, which did not hold it (arrival_bound)
    published_after: datetime | None = None
    link: str | None = None  # its link, whose path may state its date (bot.core.link_dates)


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """An alert stored by a cycle but not yet grouped into a story (table ``story_pending``):
    what grouping reads, and the chats it goes to if it starts a story."""

    alert_id: int
    feed_url: str | None
    source: str
    title: str
    summary: str
    entities: tuple[str, ...]
    published_at: datetime | None
    created_at: datetime  # its arrival (the cycle that stored it)
    chats: tuple[tuple[int | str, int | None], ...]
    # no publication date: its feed's previous poll, which did not hold it (arrival_bound)
    published_after: datetime | None = None
    link: str | None = None  # its link, whose path may state its date (bot.core.link_dates)


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One line of the access log (pairing, roles, subscriptions, chat settings)."""

    id: int
    at: datetime | None
    actor: int | None
    action: str
    user_id: int | None
    chat_id: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class CycleRecord:
    """One row of the cycle log (``cycles``): what a poll cycle did. Times are UTC."""

    id: int
    started_at: datetime | None
    finished_at: datetime | None
    feeds_due: int = 0
    fetched: int = 0
    not_modified: int = 0
    unchanged: int = 0
    errors: int = 0
    items_new: int = 0
    alerts: int = 0
    duration: float = 0.0


@dataclass(frozen=True, slots=True)
class FailingFeed:
    """A feed whose latest fetch failed, or that is paused or gone (status and /health)."""

    url: str
    status: FeedStatus
    failures: int
    last_error: str | None
    next_fetch_at: datetime | None
    kind: FeedErrorKind | None = None  # feeds.last_error_kind
    http_status: int | None = None  # feeds.last_status
    last_error_at: datetime | None = None
    redirected_to: str | None = None

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind, self.http_status) or "no failure recorded"


@dataclass(frozen=True, slots=True)
class InactiveChat:
    """A chat deactivated by Telegram (403: blocked, kicked); its alerts wait, pending."""

    chat_id: int
    reason: str | None
    since: datetime | None
    pending: int


@dataclass(frozen=True, slots=True)
class WeakMatchRecord:
    """A weak match (a ``weak_matches`` row): an item whose watched names were only in a list
    or an aside; stored for search, never alerted."""

    id: int
    item_key: str
    feed_url: str | None
    source: str | None
    title: str | None
    link: str | None
    summary: str | None
    published_at: datetime | None
    created_at: datetime | None
    entities: tuple[str, ...] = ()  # the weakly matched entity names
    reasons: tuple[str, ...] = ()  # the matcher's reasons, one string each


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """A story (a ``stories`` row): the reports of one event from several outlets."""

    id: int
    title: str | None
    created_at: datetime | None
    updated_at: datetime | None
    fingerprint: str | None = None
    first_alert_id: int | None = None
    outlets: tuple[str, ...] = ()  # outlet names, first reporter first
    edited_outlets: int = 0  # how many outlets the sent message already names
    last_edit_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """An alert's incident fields, for the map (the ``alerts`` columns of incident tagging)."""

    id: int
    story_id: int | None
    title: str | None
    incident: IncidentFields  # as stored (places: the most specific first)
    at: datetime | None  # the alert's time (publication, else arrival)


@dataclass(frozen=True, slots=True)
class EventTypeCounts:
    """Stories per incident event type over a period (``/stats``, ``main.py stats``):
    ``by_type`` per ``EventType``, ``other`` per stored type this version does not know (by its
    stored text, as ``IncidentFields`` keeps it), ``not_incident`` the stories of other news."""

    by_type: Mapping[EventType, int] = field(default_factory=dict)
    other: Mapping[str, int] = field(default_factory=dict)
    not_incident: int = 0

    def named(self) -> dict[str, int]:
        """The counts by the name the stats show: the type as stored, ``none`` for other news
        (a kind without stories is left out)."""
        out = {kind.value: n for kind, n in self.by_type.items() if n}
        out.update((text, n) for text, n in self.other.items() if n)
        if self.not_incident:
            out["none"] = self.not_incident
        return out
