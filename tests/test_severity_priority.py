"""Priority from severity, and a chat's minimum severity (/priority) in the delivery policy."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.delivery_policy import ChatPrefs, Pending, plan_chat
from bot.core.incidents import (
    EventType,
    IncidentFields,
    PlaceRecord,
    Severity,
    below_minimum,
    priority_for,
)
from bot.core.records import DeliveryKind, HoldReason, Priority
from bot.data.incident_data import load_default_tagger

TAGGER = load_default_tagger()
ZONE = ZoneInfo("Africa/Bamako")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("title", "entity_priority", "expected"),
    [
        ("Jihadists kill 12 soldiers in attack on Boulkessi camp, Mali", "normal", "urgent"),
        ("Jihadists kill 12 soldiers in attack on Boulkessi camp, Mali", "digest", "urgent"),
        ("Mali: MINUSMA hands over its Ansongo camp to the army", "urgent", "normal"),
        ("Jihadists kill 3 civilians in central Mali", "digest", "normal"),
        ("Mali's football team wins the cup", "digest", "digest"),  # no incident: as watched
        ("Mali's football team wins the cup", "urgent", "urgent"),
    ],
)
def test_priority_from_severity(title: str, entity_priority: str, expected: str) -> None:
    assert priority_for(TAGGER.tag(title), Priority(entity_priority)) is Priority(expected)


@pytest.mark.parametrize(
    ("severity", "entities", "minimums", "below"),
    [
        ("high", ["JNIM"], {"*": "high"}, False),
        ("medium", ["JNIM"], {"*": "high"}, True),
        (None, ["JNIM"], {"*": "high"}, True),  # no incident: waits too
        ("medium", ["JNIM"], {"jnim": "medium"}, False),
        ("low", ["JNIM"], {"jnim": "medium"}, True),
        ("low", ["Wagner"], {"jnim": "medium"}, False),  # no rule for Wagner
        ("low", ["JNIM", "Wagner"], {"jnim": "medium"}, False),  # Wagner lets it through
        ("low", ["JNIM"], {"*": "high", "jnim": "low"}, False),  # the entity rule wins
        ("low", ["JNIM"], {}, False),
    ],
)
def test_below_minimum(
    severity: str | None, entities: list[str], minimums: dict[str, str], below: bool
) -> None:
    level = Severity(severity) if severity else None
    floors = {name: Severity(floor) for name, floor in minimums.items()}
    assert (below_minimum(level, entities, floors) is not None) is below


def test_an_alert_below_the_minimum_waits_for_the_digest_even_when_urgent() -> None:
    rows = [
        Pending(1, DeliveryKind.ALERT, Priority.URGENT, below_minimum=True),
        Pending(2, DeliveryKind.ALERT, Priority.URGENT),
        Pending(3, DeliveryKind.ALERT, Priority.NORMAL, below_minimum=True),
    ]
    plan = plan_chat(rows, ChatPrefs(), NOW, ZONE, threshold=0)
    assert plan.send == [2]
    assert [(i, why) for i, _until, why in plan.hold] == [(1, "daily"), (3, "daily")]
    # once released by the digest time it is bundled with the others, not held again
    released = [
        Pending(1, DeliveryKind.ALERT, Priority.URGENT, held=HoldReason.DAILY, below_minimum=True),
        Pending(3, DeliveryKind.ALERT, Priority.NORMAL, held=HoldReason.DAILY, below_minimum=True),
    ]
    plan = plan_chat(released, ChatPrefs(), NOW, ZONE, threshold=0)
    assert plan.digests == [("daily", [1, 3])]


def test_merge_story_incident() -> None:
    from bot.core.incidents import merge_story_incident

    a, b = PlaceRecord("a", "A"), PlaceRecord("b", "B")
    first = IncidentFields(EventType.BATTLES, "armed clash", 10, (a,), Severity.HIGH)
    later = IncidentFields(
        EventType.VIOLENCE_AGAINST_CIVILIANS, "attack", 4, (a, b), Severity.MEDIUM
    )
    merged = merge_story_incident(first, later)
    assert merged is not None
    assert merged.event_type is EventType.BATTLES and merged.fatalities == 10
    assert [p.id for p in merged.places] == ["a", "b"] and merged.severity is Severity.HIGH
    assert merge_story_incident(first, IncidentFields(EventType.BATTLES, fatalities=3)) is None
    assert merge_story_incident(first, None) is None
    merged = merge_story_incident(IncidentFields(), later)
    assert merged is not None and merged.event_type is EventType.VIOLENCE_AGAINST_CIVILIANS
    assert merged.fatalities == 4
    # a type or severity stored by another version is kept: the story is still an incident
    other = IncidentFields.stored("looting", None, 2, (a,), "extreme")
    assert other.event_type is None and other.event_type_text == "looting"
    merged = merge_story_incident(other, later)
    assert merged is not None and merged.event_type_text == "looting"
    assert merged.fatalities == 4 and merged.severity is Severity.MEDIUM
