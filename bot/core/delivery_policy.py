"""Pure delivery policy: mutes, quiet hours, daily digests and flood control per chat."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.core.records import DeliveryKind, DigestMode, HoldReason, MuteKind, Priority

# Why alerts are bundled into one digest message: the reason they were held, or a flood.
DigestWhy = HoldReason | Literal["flood"]
_HHMM = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


def parse_hhmm(text: str | None) -> time | None:
    """``"22:00"`` -> time(22, 0); None or empty -> None; anything else raises ValueError."""
    if text is None or not str(text).strip():
        return None
    match = _HHMM.match(str(text))
    if not match:
        raise ValueError(f"expected a time as HH:MM, got {text!r}")
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True, slots=True)
class ChatPrefs:
    """A chat's delivery preferences (times are local, in the configured time zone)."""

    quiet_start: time | None = None
    quiet_end: time | None = None
    digest_mode: DigestMode = DigestMode.OFF
    digest_time: time = time(8, 0)


@dataclass(frozen=True, slots=True)
class Pending:
    """What the policy needs to know about one pending delivery."""

    delivery_id: int
    kind: DeliveryKind
    priority: Priority = Priority.NORMAL
    held: HoldReason | None = None  # why it waited (None: it has not waited)
    below_minimum: bool = False  # under the chat's minimum severity: waits for the digest


@dataclass(slots=True)
class ChatPlan:
    """The decision for one chat (and forum topic) at one moment."""

    send: list[int] = field(default_factory=list)  # send one by one, in this order
    hold: list[tuple[int, datetime, HoldReason]] = field(
        default_factory=list
    )  # (id, until UTC, why)
    digests: list[tuple[DigestWhy, list[int]]] = field(default_factory=list)  # (why, ids) to bundle


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """True when ``local`` falls in [start, end), which may span midnight (22:00-07:00)."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_local(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first moment (UTC) after ``now`` when the local clock in ``zone`` shows ``at``."""
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), at, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return candidate.astimezone(UTC)


def next_full_hour(now: datetime, zone: ZoneInfo) -> datetime:
    """The next moment (UTC) when the local clock in ``zone`` shows a full hour."""
    local = now.astimezone(zone).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return local.astimezone(UTC)


def waits_for_daily(prefs: ChatPrefs, priority: Priority) -> bool:
    if prefs.digest_mode is DigestMode.ALL:
        return priority is not Priority.URGENT
    return prefs.digest_mode is DigestMode.LOW and priority is Priority.DIGEST


def plan_chat(
    rows: Sequence[Pending],
    prefs: ChatPrefs,
    now: datetime,
    zone: ZoneInfo,
    threshold: int,
) -> ChatPlan:
    """Decide which pending deliveries of one chat go out now, wait, or are bundled into a digest.

    - Already-built digests (anything but an alert) always go now.
    - Urgent alerts always go now (they still count towards flood control).
    - In quiet hours, other alerts wait until the quiet hours end; then they go as one digest.
    - With a daily digest mode, low-priority (or all non-urgent) alerts wait for digest_time.
    - With the hourly mode, non-urgent alerts wait for the next full hour.
    - When more than ``threshold`` alerts are ready at once (0 disables), they go as a digest;
      urgent alerts are never bundled into it.
    """
    plan = ChatPlan()
    start, end = prefs.quiet_start, prefs.quiet_end
    quiet_until: datetime | None = None
    if start is not None and end is not None:
        local = now.astimezone(zone).time().replace(tzinfo=None)
        if in_quiet_hours(local, start, end):
            quiet_until = next_local(now, end, zone)
    held_ready: dict[HoldReason, list[int]] = {}
    fresh: list[int] = []
    for row in rows:
        if row.kind is not DeliveryKind.ALERT:
            plan.send.append(row.delivery_id)
            continue
        urgent = row.priority is Priority.URGENT and not row.below_minimum
        if row.held is None and row.below_minimum:
            plan.hold.append(
                (row.delivery_id, next_local(now, prefs.digest_time, zone), HoldReason.DAILY)
            )
            continue
        if quiet_until is not None and not urgent:
            plan.hold.append((row.delivery_id, quiet_until, HoldReason.QUIET))
            continue
        if row.held is None and prefs.digest_mode is DigestMode.HOURLY and not urgent:
            plan.hold.append((row.delivery_id, next_full_hour(now, zone), HoldReason.HOURLY))
            continue
        if row.held is None and waits_for_daily(prefs, row.priority):
            until = next_local(now, prefs.digest_time, zone)
            plan.hold.append((row.delivery_id, until, HoldReason.DAILY))
            continue
        if row.held is not None and not urgent:
            held_ready.setdefault(row.held, []).append(row.delivery_id)
        else:
            fresh.append(row.delivery_id)
    for why, ids in held_ready.items():
        if len(ids) >= 2:
            plan.digests.append((why, ids))
        else:
            fresh.extend(ids)
    if threshold > 0 and len(fresh) > threshold:
        # A flood goes out as a digest, but an urgent alert keeps its own message, first.
        urgent_ids = {row.delivery_id for row in rows if row.priority is Priority.URGENT}
        plan.send.extend(sorted(i for i in fresh if i in urgent_ids))
        bundled = sorted(i for i in fresh if i not in urgent_ids)
        if len(bundled) >= 2:
            plan.digests.append(("flood", bundled))
        else:
            plan.send.extend(bundled)
    else:
        plan.send.extend(sorted(fresh))
    return plan


def unmuted_entities(entities: Iterable[str], mutes: Iterable[tuple[MuteKind, str]]) -> list[str]:
    """The rule for entity mutes: a mute removes the entity from the alert in that chat."""
    muted = {value.casefold() for kind, value in mutes if kind is MuteKind.ENTITY}
    return [e for e in entities if e and e.casefold() not in muted]


def muted_by(
    entities: Iterable[str], source: str, mutes: Iterable[tuple[MuteKind, str]]
) -> str | None:
    """Why an alert is muted in a chat, or None.

    ``mutes`` are (kind, value). An alert is muted when its
    source is muted, or when every entity it matched is muted. An alert that also matched an
    entity the chat still follows goes out, without the muted ones (``unmuted_entities``):
    with JNIM muted, "JNIM, Bamako" arrives as a "Bamako" alert.
    """
    muted_entities: set[str] = set()
    muted_sources: set[str] = set()
    for kind, value in mutes:
        (muted_entities if kind is MuteKind.ENTITY else muted_sources).add(value.casefold())
    if source and source.casefold() in muted_sources:
        return f"muted source {source}"
    names = [e for e in entities if e]
    if names and all(e.casefold() in muted_entities for e in names):
        return f"muted entity {', '.join(names)}"
    return None


DIGEST_HEADERS: dict[DigestWhy, str] = {
    "flood": "🗞 {n} new alerts",
    HoldReason.QUIET: "🌙 {n} alerts during quiet hours",
    HoldReason.DAILY: "🗞 Daily digest: {n} alerts",
    HoldReason.HOURLY: "🗞 Hourly digest: {n} alerts",
}


def digest_header(why: DigestWhy, count: int) -> str:
    return DIGEST_HEADERS.get(why, DIGEST_HEADERS["flood"]).format(n=count)
