"""The web view's metadata follows the live schema; failure kinds; the SQL guard."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.core.web_links import story_url
from bot.web.guard import lock_down
from bot.web.metadata import build_metadata, load_shipped, read_schema
from storage.db import open_database, open_reader

pytest.importorskip("datasette", reason="needs the `web` extra")


def _inspect(db_path: Path) -> Any:
    from bot.web.server import inspect_database

    return inspect_database(db_path, open_reader)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "newswatch.db"
    open_database(path).conn.close()
    return path


KNOWN_COLUMNS = {
    "alerts": ("id", "item_key", "story_id", "feed_url", "source", "sources", "title", "link",
               "summary", "published_at", "created_at", "entities", "matches", "priority",
               "delivered", "fingerprint", "lang"),
    "stories": ("id", "title", "created_at", "updated_at", "fingerprint", "first_alert_id",
                "outlets", "edited_outlets", "last_edit_at"),
    "feeds": ("url", "title", "status", "last_success_at", "last_error", "last_error_at",
              "consecutive_failures", "next_fetch_at", "redirected_to", "paused_at",
              "source_state"),
    "items": ("key", "canonical_url", "feed_url", "title", "link", "first_seen_at",
              "last_seen_at", "alert_id", "article_key"),
    "cycles": ("id", "started_at", "finished_at", "alerts", "errors"),
    "mutes": ("id", "chat_id", "kind", "value", "until"),
    "subscriptions": ("chat_id", "added_at", "added_by"),
    "weak_matches": ("id", "item_key", "source", "title", "link", "entities", "reasons"),
    "chats": ("chat_id", "active", "title", "migrated_to"),
    "chat_prefs": ("chat_id", "quiet_start", "quiet_end", "digest_mode", "digest_time"),
}  # fmt: skip


def _alerts_facets(web: Any) -> Any:
    return web.metadata["databases"]["newswatch"]["tables"]["alerts"]["facets"]


def test_current_schema_every_visible_column_is_described_and_internals_hidden(
    db_path: Path,
) -> None:
    web = _inspect(db_path)
    tables = web.metadata["databases"]["newswatch"]["tables"]
    assert {"alerts", "stories", "feeds", "mutes", "subscriptions"} <= web.visible_tables
    for internal in ("users", "access_log", "deliveries", "_migrations", "admin_notices"):
        assert tables[internal] == {"hidden": True}
        assert internal not in web.readable_tables
    schema = read_schema(sqlite3.connect(db_path))
    for table in web.visible_tables:
        assert set(tables[table]["columns"]) <= set(schema[table]), table
        assert tables[table].get("title") and (
            tables[table].get("description") or tables[table].get("description_html")
        )
    # Every column of the tables and migrations this test knows is described. A column that a
    # newer migration adds shows undescribed (and is named in the start-up log) until
    # bot/web/metadata.toml describes it; it does not fail this test.
    for table, columns in KNOWN_COLUMNS.items():
        assert set(columns) <= set(tables[table]["columns"]), table
    assert _alerts_facets(web)[:4] == [{"array": "entities"}, "source", "lang", "story_id"]
    assert _alerts_facets(web)[-1] == {"date": "created_at"}
    queries = web.metadata["databases"]["newswatch"]["queries"]
    assert set(queries) == {"story", "entity_per_day", "feed_health", "mutes_and_subscriptions"}


def test_facets_follow_the_columns_the_database_has() -> None:
    """An older database (before the language and incident migrations) loses those facets and
    descriptions; the live one has them."""
    shipped = load_shipped()
    old_alerts = KNOWN_COLUMNS["alerts"][:-1]  # without lang
    web = build_metadata(shipped, {"alerts": old_alerts}, lambda sql, readable: None)
    assert _alerts_facets(web) == [
        {"array": "entities"},
        "source",
        "story_id",
        {"date": "created_at"},
    ]
    columns = web.metadata["databases"]["newswatch"]["tables"]["alerts"]["columns"]
    assert "lang" not in columns and "event_type" not in columns
    newer = (*KNOWN_COLUMNS["alerts"], "event_type", "severity")
    web = build_metadata(shipped, {"alerts": newer}, lambda sql, readable: None)
    assert {"lang", "event_type", "severity"} <= {
        f for f in _alerts_facets(web) if isinstance(f, str)
    }


def test_a_missing_table_drops_its_query_and_an_unknown_table_is_hidden(db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP TABLE subscriptions")
        conn.execute("CREATE TABLE pairing_codes (code TEXT)")
    web = _inspect(db_path)
    assert "mutes_and_subscriptions" not in web.metadata["databases"]["newswatch"]["queries"]
    assert any("mutes_and_subscriptions left out" in n for n in web.notes)
    assert web.metadata["databases"]["newswatch"]["tables"]["pairing_codes"] == {"hidden": True}
    assert "pairing_codes" not in web.readable_tables
    assert any("pairing_codes is not described" in n for n in web.notes)


def test_a_query_reading_an_internal_table_is_left_out() -> None:
    shipped = load_shipped()
    shipped["databases"]["newswatch"]["queries"] = {"leak": {"sql": "select * from users"}}
    schema = {"alerts": ("id", "title"), "users": ("user_id",)}

    def check(sql: str, readable: frozenset[str]) -> str | None:
        return None if "users" not in sql or "users" in readable else "users is not readable"

    web = build_metadata(shipped, schema, check)
    assert web.metadata["databases"]["newswatch"]["queries"] == {}
    assert web.visible_tables == {"alerts"}
    # sort_desc and facets on columns this schema lacks are dropped, not passed to Datasette
    alerts = web.metadata["databases"]["newswatch"]["tables"]["alerts"]
    assert "sort_desc" not in alerts and alerts["facets"] == []
    assert "fts_table" not in alerts


@pytest.mark.parametrize(
    ("kind", "status", "label"),
    [
        (None, None, None),
        ("dns", None, "DNS lookup failed"),
        ("http_status", 503, "HTTP 503"),
        ("gone", 410, "gone (410)"),
        ("not_a_feed", 200, "not a feed"),
        ("a kind of a later version", None, "other"),
    ],
)
def test_failure_kind_shows_the_stored_kind(
    kind: str | None, status: int | None, label: str | None
) -> None:
    from bot.web.plugin import sql_failure_kind

    assert sql_failure_kind(kind, status) == label


def test_story_url() -> None:
    assert story_url(None, 3) is None
    assert story_url("https://a.example/", 12) == "https://a.example/newswatch/story?id=12"
    assert (
        story_url("https://a.example/archive", 1)
        == "https://a.example/archive/newswatch/story?id=1"
    )


@pytest.mark.parametrize(
    ("sql", "allowed"),
    [
        ("select title from alerts", True),
        ("select e.value from alerts, json_each(alerts.entities) e", True),
        ("select * from pragma_table_info('alerts')", True),
        ("with t as (select * from alerts) select count(*) from t", True),
        ("select * from users", False),
        ("select count(*) from users", False),
        ("select (select max(user_id) from users) from alerts", False),
        ("insert into alerts (title) values ('x')", False),
        ("pragma query_only = 0", False),
        ("attach database ':memory:' as other", False),
    ],
)
def test_guard_reads_only_readable_tables(sql: str, allowed: bool) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE alerts (id INTEGER PRIMARY KEY, title TEXT, entities TEXT)")
    conn.execute("CREATE TABLE users (user_id INTEGER)")
    conn.execute("""INSERT INTO alerts (title, entities) VALUES ('a', '["Mali"]')""")
    lock_down(conn, {"alerts"})
    try:
        conn.execute(sql).fetchall()
        ran = True
    except sqlite3.DatabaseError:
        ran = False
    assert ran is allowed
    # PRAGMAs on an unreadable table show nothing (no columns to link or count).
    assert conn.execute("PRAGMA table_info(users)").fetchall() == []
    assert len(conn.execute("PRAGMA table_info(alerts)").fetchall()) == 3
