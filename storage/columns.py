"""How values are stored in columns: UTC timestamps as ISO 8601 text, JSON lists, and
``IN (…)`` lists cut into chunks under SQLite's variable limit."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.core.timestamps import parse_iso

__all__ = ["IN_CHUNK", "chunks", "iso", "json_list", "parse_iso"]

IN_CHUNK = 500  # keys per "IN (…)" query, well under SQLite's variable limit


def iso(moment: datetime | None) -> str | None:
    """The one timestamp format stored: ISO 8601 in UTC, seconds precision."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def json_list(value: Any) -> list[Any]:
    """A JSON list column decoded; [] for NULL, empty or unreadable text."""
    if not value:
        return []
    try:
        decoded = json.loads(value)
    except (TypeError, ValueError):
        return []
    return decoded if isinstance(decoded, list) else []


def chunks(values: list[str]) -> Iterable[list[str]]:
    """``values`` in runs of at most IN_CHUNK, one ``IN (…)`` query each."""
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]
