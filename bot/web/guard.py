"""Keep the web view's SQLite connections read-only and away from the internal tables.

Hiding a table in Datasette only takes it off the lists: its URL and any SQL query could still
read it. Every connection of the web view therefore gets ``PRAGMA query_only`` and an SQLite
authorizer that refuses writes, ATTACH, and reading any table that is not described in the
shipped metadata (bot users, the access log, the outbox, and whatever table a later version
adds before it is described).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable

# Statements a read-only query is made of.
_READ_ACTIONS = frozenset(
    {
        sqlite3.SQLITE_SELECT,
        sqlite3.SQLITE_FUNCTION,
        sqlite3.SQLITE_RECURSIVE,
    }
)
# Introspection pragmas Datasette runs (their argument is a table or index name).
_SCHEMA_PRAGMAS = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "database_list",
        "function_list",
        "module_list",
        "pragma_list",
        "collation_list",
        "compile_options",
    }
)
# Pragmas whose argument is a table.
_TABLE_PRAGMAS = frozenset({"table_info", "table_xinfo", "foreign_key_list", "index_list"})
# Table-valued functions, readable whatever the policy: they read no stored row.
_FUNCTION_TABLES = frozenset({"json_each", "json_tree"})

Authorizer = Callable[[int, str | None, str | None, str | None, str | None], int]


def authorizer(readable: Iterable[str]) -> Authorizer:
    """An SQLite authorizer allowing SELECTs that read only ``readable`` tables."""
    allowed = frozenset(readable)

    def authorize(
        action: int, arg1: str | None, arg2: str | None, _db: str | None, _source: str | None
    ) -> int:
        if action == sqlite3.SQLITE_READ:
            table = arg1 or ""
            if (
                table in allowed
                or table in _FUNCTION_TABLES
                or table.startswith(("sqlite_", "pragma_"))
            ):
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY
        if action in _READ_ACTIONS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master":
            # SQLite's own step when a query first uses a table-valued function (json_each,
            # pragma_table_info); user SQL cannot write the schema (query_only, no
            # writable_schema).
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA:
            # Reading a setting (no value) or the schema; never setting one.
            name = (arg1 or "").lower()
            if name in _TABLE_PRAGMAS and arg2 and arg2 not in allowed:
                # An unreadable table has no columns, keys or indexes here: pages of readable
                # tables then never try to count or link rows of it (IGNORE: no rows).
                return sqlite3.SQLITE_IGNORE
            if name in _SCHEMA_PRAGMAS or arg2 is None:
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_DENY

    return authorize


def lock_down(conn: sqlite3.Connection, readable: Iterable[str]) -> None:
    """Make ``conn`` read-only and limited to ``readable`` tables, whatever SQL it is given."""
    conn.set_authorizer(None)
    conn.execute("PRAGMA query_only = 1")
    conn.set_authorizer(authorizer(readable))
