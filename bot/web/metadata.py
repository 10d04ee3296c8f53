"""Build the web view's Datasette metadata from the shipped file and the live database schema.

The shipped ``metadata.toml`` describes every table, column, facet and canned query newswatch
may have; the live schema decides which of them exist now. Something missing (a column added
by a later migration, a table another version dropped) is left out instead of breaking
start-up, and each omission is reported as a note for the log.
"""

from __future__ import annotations

import copy
import sqlite3
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from bot.core.web_links import DATABASE_NAME

Schema = Mapping[str, tuple[str, ...]]  # table name -> column names


@dataclass(frozen=True)
class WebMetadata:
    """Datasette metadata for the database, the tables it may read, and what was left out."""

    metadata: dict[str, Any]
    visible_tables: frozenset[str]  # described tables present in the database
    readable_tables: frozenset[str]  # visible ones plus their full-text index tables
    notes: tuple[str, ...]


def load_shipped() -> dict[str, Any]:
    """The metadata file shipped in this package."""
    text = resources.files("bot.web").joinpath("metadata.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def read_schema(conn: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    """Every table of the main schema with its columns (virtual tables included)."""
    names = [
        str(row[0])
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {
        name: tuple(
            str(col[1]) for col in conn.execute("SELECT * FROM pragma_table_info(?)", [name])
        )
        for name in names
    }


def _facet_column(facet: Any) -> str | None:
    if isinstance(facet, str):
        return facet
    if isinstance(facet, Mapping) and len(facet) == 1:
        (column,) = facet.values()
        return str(column)
    return None


def _table_metadata(
    name: str, shipped: Mapping[str, Any], columns: tuple[str, ...], notes: list[str]
) -> dict[str, Any]:
    """One described table's metadata, keeping only what refers to existing columns."""
    table = copy.deepcopy(dict(shipped))
    present = set(columns)
    described = table.get("columns") or {}
    table["columns"] = {c: d for c, d in described.items() if c in present}
    undocumented = sorted(present - set(described))
    if undocumented:
        notes.append(f"table {name}: columns without a description: {', '.join(undocumented)}")
    table["facets"] = [f for f in table.get("facets", []) if _facet_column(f) in present]
    for key in ("sort", "sort_desc", "label_column"):
        if key in table and table[key] not in present:
            notes.append(f"table {name}: {key} column {table[key]!r} is missing")
            del table[key]
    return table


def build_metadata(
    shipped: Mapping[str, Any],
    schema: Schema,
    check_query: Callable[[str, frozenset[str]], str | None],
    *,
    database: str = DATABASE_NAME,
) -> WebMetadata:
    """Datasette metadata for ``schema``.

    ``check_query(sql, readable_tables)`` returns why a canned query cannot run on this
    database reading only those tables (None: it can). Tables not described in ``shipped``
    are hidden; described but absent ones omitted.
    """
    notes: list[str] = []
    db_shipped = shipped.get("databases", {}).get(DATABASE_NAME, {})
    described = db_shipped.get("tables", {})
    tables: dict[str, Any] = {}
    visible: set[str] = set()
    readable: set[str] = set()
    for name, columns in schema.items():
        if name in described:
            table = _table_metadata(name, described[name], columns, notes)
            fts = table.get("fts_table")
            if fts and fts not in schema:
                notes.append(f"table {name}: full-text index {fts!r} is missing")
                table.pop("fts_table", None)
                table.pop("fts_pk", None)
            elif fts:
                readable.update(t for t in schema if t == fts or t.startswith(f"{fts}_"))
            tables[name] = table
            visible.add(name)
            readable.add(name)
    for name in schema:
        if name in readable:
            continue
        tables[name] = {"hidden": True}
        known = set(shipped.get("internal", {}).get("tables", ()))
        if name not in known and not any(name.startswith(f"{t}_") for t in readable):
            notes.append(f"table {name} is not described in the web metadata: hidden")
    absent = sorted(set(described) - set(schema))
    if absent:
        notes.append(f"tables described but not in this database: {', '.join(absent)}")
    queries: dict[str, Any] = {}
    for name, query in db_shipped.get("queries", {}).items():
        problem = check_query(str(query.get("sql", "")), frozenset(readable))
        if problem:
            notes.append(f"query {name} left out: {problem}")
            continue
        queries[name] = copy.deepcopy(dict(query))
    database_meta = {k: v for k, v in db_shipped.items() if k not in ("tables", "queries")}
    database_meta["tables"] = tables
    database_meta["queries"] = queries
    metadata = {
        k: copy.deepcopy(v) for k, v in shipped.items() if k not in ("databases", "internal")
    }
    metadata["databases"] = {database: database_meta}
    return WebMetadata(
        metadata=metadata,
        visible_tables=frozenset(visible),
        readable_tables=frozenset(readable),
        notes=tuple(notes),
    )
