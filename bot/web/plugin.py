"""newswatch's Datasette plugin: locked-down connections, alert/story links, hidden tables.

Registered in-process by ``bot.web.server``; it is not an entry-point plugin, so a Datasette
started any other way does not get it (and must not be pointed at the bot's database).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import markupsafe
from datasette import hookimpl as _hookimpl
from datasette.utils.asgi import Response

from bot.core.errors import kind_label
from bot.core.web_links import DATABASE_NAME, story_path, table_path
from bot.web.guard import lock_down

_Hook = TypeVar("_Hook", bound=Callable[..., Any])


def hookimpl(function: _Hook) -> _Hook:
    """Datasette's ``hookimpl`` marker (an untyped pluggy marker), keeping the hook's type."""
    return cast(_Hook, _hookimpl(function))


# Columns that name a story, per table (None: canned-query results).
_STORY_COLUMNS = {("alerts", "story_id"), (None, "story")}
# Columns shown as a link to the row's article (its `link` column).
_TITLE_COLUMNS = {
    ("alerts", "title"),
    ("items", "title"),
    ("weak_matches", "title"),
    (None, "title"),
}


# Datasette lists every column description above the table; fold the list so the rows come
# first (the descriptions also show as each column header's tooltip).
_FOLD_COLUMN_DESCRIPTIONS = """
document.querySelectorAll("dl.column-descriptions").forEach(function (list) {
  var box = document.createElement("details");
  var label = document.createElement("summary");
  label.textContent = "What each column means";
  box.appendChild(label);
  list.parentNode.insertBefore(box, list);
  box.appendChild(list);
});
document.querySelectorAll("th[data-column-description]").forEach(function (th) {
  th.title = th.getAttribute("data-column-description");
});
"""


def sql_failure_kind(kind: Any, status: Any) -> str | None:
    """``failure_kind(last_error_kind, last_status)`` in SQL: a stored kind in words."""
    return kind_label(
        str(kind) if kind is not None else None, status if isinstance(status, int) else None
    )


def _row_value(row: Any, column: str) -> Any:
    try:
        return row[column]
    except (IndexError, KeyError, TypeError):
        return None


def _is_web_link(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(("http://", "https://"))


class NewswatchPlugin:
    """Datasette hooks, bound to the tables this database may show."""

    __name__ = "newswatch_web"  # Datasette lists plugins by name (/-/plugins)

    def __init__(
        self, visible_tables: frozenset[str], readable_tables: frozenset[str], require_actor: bool
    ) -> None:
        self.visible_tables = visible_tables
        self.readable_tables = readable_tables
        self.require_actor = require_actor

    @hookimpl
    def prepare_connection(self, conn: sqlite3.Connection, database: str) -> None:
        if database != DATABASE_NAME:
            return
        conn.create_function("failure_kind", 2, sql_failure_kind, deterministic=True)
        lock_down(conn, self.readable_tables)

    @hookimpl
    def permission_allowed(self, actor: Any, action: str, resource: Any) -> bool | None:
        if self.require_actor and not actor:
            return False
        if action == "view-table" and isinstance(resource, tuple) and len(resource) == 2:
            database, table = resource
            if database == DATABASE_NAME and table not in self.readable_tables:
                return False
        return None

    @hookimpl
    def forbidden(self, datasette: Any, request: Any) -> Any:
        if not self.require_actor or request.actor is not None:
            return None
        accept = request.headers.get("accept", "")
        path = request.path
        if "text/html" in accept and not path.endswith((".json", ".csv")):
            return Response.redirect(datasette.urls.path("/-/login"))
        # Scripts (CSV, JSON): ask for HTTP Basic credentials instead of a login page.
        return Response.text(
            "401 Authorization Required: log in at /-/login, or send HTTP Basic credentials\n",
            status=401,
            headers={"www-authenticate": 'Basic realm="newswatch", charset="UTF-8"'},
        )

    @hookimpl
    def extra_body_script(self, database: str | None) -> str | None:
        return _FOLD_COLUMN_DESCRIPTIONS if database == DATABASE_NAME else None

    @hookimpl
    def render_cell(
        self, row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any
    ) -> Any:
        if database != DATABASE_NAME:
            return None
        if (table, column) in _STORY_COLUMNS:
            story, label = value, value
            if isinstance(value, Mapping):  # an expanded foreign key: {"value", "label"}
                story, label = value.get("value"), value.get("label") or value.get("value")
            if not isinstance(story, int):
                return None
            return markupsafe.Markup('<a href="{}" title="every report of story {}">{}</a>').format(
                datasette.urls.path(story_path(story)), story, label
            )
        if table is None and column == "alert" and isinstance(value, int):
            return markupsafe.Markup('<a href="{}">{}</a>').format(
                datasette.urls.path(f"{table_path('alerts')}/{value}"), value
            )
        if (table, column) in _TITLE_COLUMNS and isinstance(value, str):
            link = _row_value(row, "link")
            if _is_web_link(link):
                return markupsafe.Markup('<a href="{}" rel="noopener noreferrer">{}</a>').format(
                    link.strip(), value
                )
        if table == "stories" and column == "title" and isinstance(value, str):
            story = _row_value(row, "id")
            if isinstance(story, int):
                return markupsafe.Markup('<a href="{}">{}</a>').format(
                    datasette.urls.path(story_path(story)), value
                )
        return None
