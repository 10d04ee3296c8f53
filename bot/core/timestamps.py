"""Stored timestamps (ISO 8601 text in SQLite) read back as datetimes."""

from __future__ import annotations

from datetime import datetime


def parse_iso(value: str | None) -> datetime | None:
    """The datetime of a stored ISO 8601 value; None for a missing one."""
    if not value:
        return None
    return datetime.fromisoformat(value)
