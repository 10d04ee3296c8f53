"""Delivery policy (pure): quiet hours across midnight, daily digests, flood control, mutes."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.delivery_policy import (
    ChatPrefs,
    Pending,
    in_quiet_hours,
    muted_by,
    next_local,
    parse_hhmm,
    plan_chat,
)
from bot.core.records import DeliveryKind, DigestMode, HoldReason, MuteKind, Priority

BAMAKO = ZoneInfo("Africa/Bamako")  # UTC+0 all year
PARIS = ZoneInfo("Europe/Paris")
NIGHT = ChatPrefs(quiet_start=time(22, 0), quiet_end=time(7, 0))


@pytest.mark.parametrize(
    ("local", "start", "end", "quiet"),
    [
        ("23:30", "22:00", "07:00", True),
        ("22:00", "22:00", "07:00", True),
        ("03:00", "22:00", "07:00", True),
        ("06:59", "22:00", "07:00", True),
        ("07:00", "22:00", "07:00", False),
        ("12:00", "22:00", "07:00", False),
        ("21:59", "22:00", "07:00", False),
        ("13:00", "12:00", "14:00", True),
        ("14:00", "12:00", "14:00", False),
        ("11:59", "12:00", "14:00", False),
        ("10:00", "08:00", "08:00", False),  # start == end: no quiet hours
    ],
)
def test_quiet_hours_across_midnight(local: str, start: str, end: str, quiet: bool) -> None:
    times = parse_hhmm(local), parse_hhmm(start), parse_hhmm(end)
    assert None not in times
    assert in_quiet_hours(*times) is quiet  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["25:00", "7", "07:60", "seven", "07:00:00"])
def test_parse_hhmm_rejects_bad_times(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_hhmm(bad)


def test_parse_hhmm_accepts_empty_as_none() -> None:
    assert parse_hhmm(None) is None
    assert parse_hhmm(" ") is None
    assert parse_hhmm("7:05") == time(7, 5)


@pytest.mark.parametrize(
    ("now", "at", "zone", "expected"),
    [
        (datetime(2026, 3, 1, 23, 0, tzinfo=UTC), time(7, 0), BAMAKO, datetime(2026, 3, 2, 7, 0)),
        (datetime(2026, 3, 2, 6, 0, tzinfo=UTC), time(7, 0), BAMAKO, datetime(2026, 3, 2, 7, 0)),
        (datetime(2026, 3, 2, 7, 0, tzinfo=UTC), time(7, 0), BAMAKO, datetime(2026, 3, 3, 7, 0)),
        # Paris in winter is UTC+1: 07:00 local is 06:00 UTC
        (datetime(2026, 1, 10, 22, 0, tzinfo=UTC), time(7, 0), PARIS, datetime(2026, 1, 11, 6, 0)),
    ],
)
def test_next_local(now: datetime, at: time, zone: ZoneInfo, expected: datetime) -> None:
    assert next_local(now, at, zone) == expected.replace(tzinfo=UTC)


def _alerts(
    n: int, priority: str = "normal", held: str | None = None, start: int = 1
) -> list[Pending]:
    held_for = HoldReason(held) if held is not None else None
    return [
        Pending(i, DeliveryKind.ALERT, Priority(priority), held_for)
        for i in range(start, start + n)
    ]


def test_flood_threshold_is_strictly_more_than() -> None:
    noon = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    ten = plan_chat(_alerts(10), ChatPrefs(), noon, BAMAKO, threshold=10)
    assert ten.send == list(range(1, 11)) and not ten.digests
    eleven = plan_chat(_alerts(11), ChatPrefs(), noon, BAMAKO, threshold=10)
    assert eleven.send == [] and eleven.digests == [("flood", list(range(1, 12)))]
    off = plan_chat(_alerts(50), ChatPrefs(), noon, BAMAKO, threshold=0)
    assert len(off.send) == 50 and not off.digests


def test_built_digests_always_go() -> None:
    noon = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # in quiet hours
    rows = [Pending(1, DeliveryKind.DIGEST), Pending(2, DeliveryKind.DIGEST), *_alerts(3, start=3)]
    plan = plan_chat(rows, NIGHT, noon, BAMAKO, threshold=10)
    assert plan.send == [1, 2]
    assert [h[0] for h in plan.hold] == [3, 4, 5]


def test_quiet_hours_hold_non_urgent_until_the_end_then_digest() -> None:
    late = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    rows = [*_alerts(3), Pending(9, DeliveryKind.ALERT, Priority.URGENT)]
    plan = plan_chat(rows, NIGHT, late, BAMAKO, threshold=10)
    assert plan.send == [9], "urgent alerts are never held"
    end = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    assert plan.hold == [(1, end, "quiet"), (2, end, "quiet"), (3, end, "quiet")]
    morning = plan_chat(_alerts(3, held="quiet"), NIGHT, end, BAMAKO, threshold=10)
    assert morning.digests == [("quiet", [1, 2, 3])] and morning.send == []
    single = plan_chat(_alerts(1, held="quiet"), NIGHT, end, BAMAKO, threshold=10)
    assert single.send == [1] and not single.digests, "one held alert goes as itself"


@pytest.mark.parametrize(
    ("mode", "priority", "waits"),
    [
        ("off", "digest", False),
        ("low", "digest", True),
        ("low", "normal", False),
        ("all", "normal", True),
        ("all", "digest", True),
        ("all", "urgent", False),
    ],
)
def test_daily_digest_modes(mode: str, priority: str, waits: bool) -> None:
    noon = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    prefs = ChatPrefs(digest_mode=DigestMode(mode), digest_time=time(18, 30))
    plan = plan_chat(_alerts(1, priority), prefs, noon, BAMAKO, threshold=10)
    if waits:
        assert plan.hold == [(1, datetime(2026, 3, 1, 18, 30, tzinfo=UTC), "daily")]
    else:
        assert plan.send == [1]


def test_daily_held_alerts_are_not_held_again_and_are_bundled() -> None:
    evening = datetime(2026, 3, 1, 18, 30, tzinfo=UTC)
    prefs = ChatPrefs(digest_mode=DigestMode.LOW, digest_time=time(18, 30))
    plan = plan_chat(_alerts(4, "digest", held="daily"), prefs, evening, BAMAKO, threshold=10)
    assert plan.digests == [("daily", [1, 2, 3, 4])] and not plan.hold


@given(
    st.lists(st.sampled_from(["urgent", "normal", "digest"]), max_size=40),
    st.integers(min_value=0, max_value=23),
    st.integers(min_value=0, max_value=15),
)
def test_every_row_gets_exactly_one_decision(
    priorities: list[str], hour: int, threshold: int
) -> None:
    rows = [Pending(i, DeliveryKind.ALERT, Priority(p)) for i, p in enumerate(priorities, start=1)]
    now = datetime(2026, 3, 1, hour, 0, tzinfo=UTC)
    prefs = ChatPrefs(time(22, 0), time(7, 0), DigestMode.LOW, time(8, 0))
    plan = plan_chat(rows, prefs, now, BAMAKO, threshold)
    decided = plan.send + [h[0] for h in plan.hold] + [i for _, ids in plan.digests for i in ids]
    assert sorted(decided) == [r.delivery_id for r in rows]


@pytest.mark.parametrize(
    ("entities", "source", "mutes", "muted"),
    [
        (["JNIM"], "RFI", [("entity", "jnim")], True),
        (["JNIM", "Bamako"], "RFI", [("entity", "JNIM")], False),
        (["JNIM", "Bamako"], "RFI", [("entity", "JNIM"), ("entity", "Bamako")], True),
        (["JNIM"], "RFI", [("source", "rfi")], True),
        (["JNIM"], "RFI", [("source", "BBC")], False),
        (["JNIM"], "RFI", [], False),
    ],
)
def test_muted_by(
    entities: list[str], source: str, mutes: list[tuple[str, str]], muted: bool
) -> None:
    typed = [(MuteKind(kind), value) for kind, value in mutes]
    assert (muted_by(entities, source, typed) is not None) is muted


def test_hourly_mode_holds_non_urgent_until_the_next_full_hour_then_bundles() -> None:
    prefs = ChatPrefs(digest_mode=DigestMode.HOURLY)
    now = datetime(2026, 4, 25, 14, 20, tzinfo=UTC)
    rows = [
        Pending(1, DeliveryKind.ALERT, Priority.NORMAL),
        Pending(2, DeliveryKind.ALERT, Priority.URGENT),
        Pending(3, DeliveryKind.ALERT),
    ]
    plan = plan_chat(rows, prefs, now, PARIS, threshold=10)
    assert plan.send == [2]
    assert [(i, why) for i, _until, why in plan.hold] == [(1, "hourly"), (3, "hourly")]
    # Paris is UTC+2 in April: 16:20 local -> 17:00 local -> 15:00 UTC
    assert {until for _i, until, _why in plan.hold} == {datetime(2026, 4, 25, 15, 0, tzinfo=UTC)}
    later = datetime(2026, 4, 25, 15, 0, tzinfo=UTC)
    held = [
        Pending(1, DeliveryKind.ALERT, Priority.NORMAL, held=HoldReason.HOURLY),
        Pending(3, DeliveryKind.ALERT, held=HoldReason.HOURLY),
    ]
    plan2 = plan_chat(held, prefs, later, PARIS, threshold=10)
    assert plan2.digests == [("hourly", [1, 3])] and plan2.hold == []
