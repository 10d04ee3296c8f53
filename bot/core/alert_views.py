"""Build the formatting core's AlertView from a stored alert (a record, or a query's row)."""

from __future__ import annotations

import json
from typing import Any

from bot.core.formatting import AlertView, Report
from bot.core.incidents import incident_line
from bot.core.normalize import normalize
from bot.core.records import AlertRecord
from bot.core.timestamps import parse_iso


def alert_view(alert: AlertRecord, also_reported_by: tuple[Report, ...] = ()) -> AlertView:
    """The formatting core's view of a stored alert (what a message shows)."""
    labels = [str(p.get("label") or p.get("name") or "") for p in alert.places]
    return AlertView(
        title=alert.title,
        link=alert.link,
        source=alert.source,
        published=alert.published_at,
        summary=alert.summary,
        entities=alert.entities,
        aliases=shown_aliases(list(alert.matches)),
        priority=alert.priority.value,
        also_reported_by=also_reported_by,
        story_id=alert.story_id,
        incident=incident_line(
            alert.event_type, alert.sub_event, alert.fatalities, [x for x in labels if x]
        )
        if alert.event_type
        else "",
        arrived=alert.created_at,
    )


def view_from_row(row: dict[str, Any], also_reported_by: tuple[Report, ...] = ()) -> AlertView:
    matches = json.loads(row.get("matches") or "[]")
    aliases = shown_aliases(matches)
    return AlertView(
        title=row.get("title") or "",
        link=row.get("link"),
        source=row.get("source") or "",
        published=parse_iso(row.get("published_at")),
        summary=row.get("summary") or "",
        entities=tuple(json.loads(row.get("entities") or "[]")),
        aliases=aliases,
        priority=row.get("priority") or "normal",
        also_reported_by=also_reported_by,
        story_id=row.get("story_id"),
        incident=incident_line_of(row),
        arrived=parse_iso(row.get("created_at")),
    )


def incident_line_of(row: dict[str, Any]) -> str:
    """The alert's one-line incident summary from its stored incident columns."""
    if not row.get("event_type"):
        return ""
    try:
        places = json.loads(row.get("places") or "[]")
    except ValueError:
        places = []
    labels = [p.get("label") or p.get("name") or "" for p in places if isinstance(p, dict)]
    return incident_line(
        row.get("event_type"), row.get("sub_event"), row.get("fatalities"), [x for x in labels if x]
    )


def shown_aliases(matches: list[dict[str, str]]) -> tuple[str, ...]:
    """The matched aliases worth showing: "Goïta" is dropped when "Assimi Goïta" of the same
    entity matched too (the shorter one is found inside the longer one)."""
    by_entity: dict[str, list[str]] = {}
    for match in matches:
        alias = match.get("alias")
        if alias:
            found = by_entity.setdefault(match.get("entity", ""), [])
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
