"""Build the formatting core's AlertView from a stored alert (the one mapper to a view)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.formatting import AlertView, Report
from bot.core.matching import Hit
from bot.core.normalize import normalize
from bot.core.records import AlertRecord


def alert_view(alert: AlertRecord, also_reported_by: tuple[Report, ...] = ()) -> AlertView:
    """The formatting core's view of a stored alert (what a message shows)."""
    return AlertView(
        title=alert.title,
        link=alert.link,
        source=alert.source,
        published=alert.published_at,
        summary=alert.summary,
        entities=alert.entities,
        aliases=shown_aliases(alert.matches),
        priority=alert.priority,
        also_reported_by=also_reported_by,
        story_id=alert.story_id,
        incident=alert.incident.line(),
        arrived=alert.created_at,
    )


def shown_aliases(matches: Sequence[Hit]) -> tuple[str, ...]:
    """The matched aliases worth showing: "Goïta" is dropped when "Assimi Goïta" of the same
    entity matched too (the shorter one is found inside the longer one)."""
    by_entity: dict[str, list[str]] = {}
    for match in matches:
        alias = match.alias
        if alias:
            found = by_entity.setdefault(match.entity, [])
            if alias not in found:
                found.append(alias)
    shown: list[str] = []
    for found in by_entity.values():
        keys = {alias: f" {normalize(alias)} " for alias in found}
        shown.extend(
            alias
            for alias in found
            if not any(other != alias and keys[alias] in keys[other] for other in found)
        )
    return tuple(dict.fromkeys(shown))
