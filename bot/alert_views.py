"""Build the formatting core's AlertView from a stored alert row."""

from __future__ import annotations

import json
from typing import Any

from bot.core.formatting import AlertView
from storage.repository import parse_iso


def view_from_row(row: dict[str, Any], also_reported_by: tuple[str, ...] = ()) -> AlertView:
    matches = json.loads(row.get("matches") or "[]")
    aliases = tuple(dict.fromkeys(m.get("alias", "") for m in matches if m.get("alias")))
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
    )
