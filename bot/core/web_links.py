"""Addresses of pages in the web archive (`main.py web`), shared by the bot and the web view."""

from __future__ import annotations

from urllib.parse import quote

# The database's name in the web view's URLs, whatever the SQLite file is called, so that
# links stay valid when `db_path` changes.
DATABASE_NAME = "newswatch"
STORY_QUERY = "story"


def story_path(story_id: int) -> str:
    """The path of a story's page: every report of it, with its outlet, time and link."""
    return f"/{DATABASE_NAME}/{STORY_QUERY}?id={int(story_id)}"


def story_url(base_url: str | None, story_id: int) -> str | None:
    """The absolute address of a story's page under ``base_url``; None without a base URL."""
    if not base_url:
        return None
    return base_url.rstrip("/") + story_path(story_id)


def table_path(table: str) -> str:
    return f"/{DATABASE_NAME}/{quote(table, safe='')}"
