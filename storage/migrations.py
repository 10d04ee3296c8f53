"""Numbered schema migrations, each applied once and recorded in ``_migrations``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.core.errors import FeedErrorKind
from storage.sqlite_utils_loader import Database
from storage.transactions import transaction

Migration = Callable[[Database], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(name: str) -> Callable[[Migration], Migration]:
    """Register a migration. Names are permanent: never rename or reorder an applied one."""

    def register(fn: Migration) -> Migration:
        if any(existing == name for existing, _ in MIGRATIONS):
            raise ValueError(f"duplicate migration name {name!r}")
        MIGRATIONS.append((name, fn))
        return fn

    return register


def _create(db: Database, name: str, columns: dict[str, Any], **options: Any) -> None:
    """Create a table from sqlite-utils' generated SQL, inside the caller's transaction."""
    db.execute(db.create_table_sql(name, columns, **options))


@migration("0001_initial")
def _initial(db: Database) -> None:
    _create(
        db,
        "feeds",
        {
            "url": str,
            "title": str,
            "origin": str,
            "status": str,  # active | paused | gone | removed
            "etag": str,
            "last_modified": str,
            "body_hash": str,
            "created_at": str,
            "last_fetch_at": str,
            "last_success_at": str,
            "last_status": int,
            "last_error": str,
            "last_error_at": str,
            "consecutive_failures": int,
            "next_fetch_at": str,
            "ttl_minutes": int,
            "first_success_at": str,
            "items_total": int,
        },
        pk="url",
        defaults={"status": "active", "consecutive_failures": 0, "items_total": 0},
        not_null={"status"},
    )
    _create(
        db,
        "items",
        {
            "key": str,
            "canonical_url": str,
            "feed_url": str,
            "title": str,
            "link": str,
            "published_at": str,
            "first_seen_at": str,
            "alert_id": int,
        },
        pk="key",
    )
    db.execute("CREATE INDEX idx_items_canonical_url ON items(canonical_url)")
    db.execute("CREATE INDEX idx_items_first_seen_at ON items(first_seen_at)")
    _create(
        db,
        "stories",
        {
            "id": int,
            "title": str,
            "created_at": str,
            "updated_at": str,
            "fingerprint": str,
            "first_alert_id": int,
            "outlets": str,  # JSON list of outlet names, first reporter first
            "edited_outlets": int,  # how many outlets the sent message already names
            "last_edit_at": str,
        },
        pk="id",
    )
    db.execute("CREATE INDEX idx_stories_created_at ON stories(created_at)")
    _create(
        db,
        "alerts",
        {
            "id": int,
            "item_key": str,
            "story_id": int,
            "feed_url": str,
            "source": str,
            "sources": str,  # JSON list: every feed/outlet that carried this very item
            "title": str,
            "link": str,
            "summary": str,
            "published_at": str,
            "created_at": str,
            "entities": str,  # JSON list of entity names
            "matches": str,  # JSON list of {"entity", "alias", "field"}
            "priority": str,
            "delivered": int,  # 1 when this alert got its own message, 0 when folded into a story
        },
        pk="id",
        foreign_keys=[("story_id", "stories", "id")],
    )
    db.execute("CREATE INDEX idx_alerts_created_at ON alerts(created_at)")
    db.execute("CREATE INDEX idx_alerts_story_id ON alerts(story_id)")
    db.execute("CREATE UNIQUE INDEX idx_alerts_item_key ON alerts(item_key)")
    _create(
        db,
        "chats",
        {
            "chat_id": int,
            "active": int,
            "title": str,
            "added_at": str,
            "deactivated_at": str,
            "deactivated_reason": str,
        },
        pk="chat_id",
        defaults={"active": 1},
    )
    _create(
        db,
        "deliveries",
        {
            "id": int,
            "alert_id": int,
            "chat_id": int,
            "thread_id": int,
            "kind": str,  # alert | digest (edits: stories.last_edit_at; notices: admin_notices)
            "status": str,  # pending | sent | failed | skipped | digested
            "message_id": int,
            "attempts": int,
            "last_error": str,
            "not_before": str,
            "created_at": str,
            "updated_at": str,
            "payload": str,  # for notices and digests: the text to send
        },
        pk="id",
        defaults={"status": "pending", "attempts": 0},
        not_null={"status"},
        foreign_keys=[("alert_id", "alerts", "id")],
    )
    db.execute("CREATE INDEX idx_deliveries_status_chat ON deliveries(status, chat_id)")
    db.execute(
        "CREATE UNIQUE INDEX idx_deliveries_alert_chat ON deliveries(alert_id, chat_id) "
        "WHERE kind = 'alert'"
    )


_FTS_COLUMNS = ("title", "summary", "entities", "source")


@migration("0002_access_and_search")
def _access_and_search(db: Database) -> None:
    """Bot users (pairing, allow/deny) with an audit log, subscribed chats, alert search."""
    _create(
        db,
        "users",
        {"user_id": int, "role": str, "added_at": str, "added_by": int, "chat_id": int},
        pk="user_id",
        not_null={"role"},
    )  # role: owner | allowed | denied
    _create(
        db,
        "access_log",
        {
            "id": int,
            "at": str,
            "actor": int,
            "action": str,  # paired, a role given, (un)subscribed, chat setting, chat reactivated
            "user_id": int,
            "chat_id": int,
            "detail": str,
        },
        pk="id",
    )
    _create(db, "subscriptions", {"chat_id": int, "added_at": str, "added_by": int}, pk="chat_id")
    # Full-text index over alerts, kept in sync by triggers (the SQL sqlite-utils' enable_fts
    # generates, run here through db.execute: enable_fts uses executescript, which commits).
    cols = ", ".join(f"[{c}]" for c in _FTS_COLUMNS)
    new = ", ".join(f"new.[{c}]" for c in _FTS_COLUMNS)
    old = ", ".join(f"old.[{c}]" for c in _FTS_COLUMNS)
    db.execute(
        f"CREATE VIRTUAL TABLE [alerts_fts] USING FTS5 ({cols},"
        " tokenize='unicode61 remove_diacritics 2', content=[alerts], content_rowid=[id])"
    )
    db.execute(f"INSERT INTO [alerts_fts] (rowid, {cols}) SELECT id, {cols} FROM alerts")
    db.execute(
        f"CREATE TRIGGER [alerts_ai] AFTER INSERT ON [alerts] BEGIN"
        f" INSERT INTO [alerts_fts] (rowid, {cols}) VALUES (new.rowid, {new}); END"
    )
    db.execute(
        f"CREATE TRIGGER [alerts_ad] AFTER DELETE ON [alerts] BEGIN"
        f" INSERT INTO [alerts_fts] ([alerts_fts], rowid, {cols})"
        f" VALUES ('delete', old.rowid, {old}); END"
    )
    db.execute(
        f"CREATE TRIGGER [alerts_au] AFTER UPDATE OF {cols} ON [alerts] BEGIN"
        f" INSERT INTO [alerts_fts] ([alerts_fts], rowid, {cols})"
        f" VALUES ('delete', old.rowid, {old});"
        f" INSERT INTO [alerts_fts] (rowid, {cols}) VALUES (new.rowid, {new}); END"
    )


def apply_migrations(db: Database) -> list[str]:
    """Apply every migration not yet recorded; each in its own transaction. Returns names."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    applied = []
    for name, fn in MIGRATIONS:
        with transaction(db):
            done = db.execute("SELECT 1 FROM _migrations WHERE name = ?", [name]).fetchone()
            if done:
                continue
            fn(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                [name, datetime.now(UTC).isoformat(timespec="seconds")],
            )
        applied.append(name)
    return applied


@migration("0003_delivery_mutes_prefs")
def _delivery_mutes_prefs(db: Database) -> None:
    """Outbox columns for digests and holds, chat migrations, mutes and per-chat preferences."""
    db.execute("ALTER TABLE deliveries ADD COLUMN held TEXT")  # why it waited: quiet|daily|hourly
    db.execute("ALTER TABLE deliveries ADD COLUMN digest_id INTEGER")  # bundled into this digest
    db.execute("ALTER TABLE deliveries ADD COLUMN silent INTEGER")  # disable_notification
    db.execute("ALTER TABLE chats ADD COLUMN migrated_to INTEGER")
    db.execute("CREATE INDEX idx_deliveries_digest_id ON deliveries(digest_id)")
    _create(
        db,
        "mutes",
        {
            "id": int,
            "chat_id": int,
            "kind": str,  # entity | source
            "value": str,
            "until": str,  # ISO UTC; NULL: until removed
            "created_at": str,
            "created_by": int,
        },
        pk="id",
        not_null={"chat_id", "kind", "value"},
    )
    db.execute("CREATE INDEX idx_mutes_chat_until ON mutes(chat_id, until)")
    _create(
        db,
        "chat_prefs",
        {
            "chat_id": int,
            "quiet_start": str,  # HH:MM local time, or NULL
            "quiet_end": str,
            "digest_mode": str,  # off | low | all (daily HH:MM) | hourly
            "digest_time": str,  # HH:MM local time
            "updated_at": str,
        },
        pk="chat_id",
        defaults={"digest_mode": "off", "digest_time": "08:00"},
    )


@migration("0004_reliability")
def _reliability(db: Database) -> None:
    """Feed redirects and Retry-After, item last-seen times for safe pruning, a cycle log."""
    for column in ("redirected_to", "retry_not_before", "items_seen_at", "paused_at"):
        db.execute(f"ALTER TABLE feeds ADD COLUMN {column} TEXT")
    db.execute("ALTER TABLE items ADD COLUMN last_seen_at TEXT")
    _create(
        db,
        "cycles",
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "feeds_due": int,
            "fetched": int,
            "not_modified": int,
            "unchanged": int,
            "errors": int,
            "items_new": int,
            "alerts": int,
            "duration": float,
        },
        pk="id",
    )
    db.execute("CREATE INDEX idx_cycles_started_at ON cycles(started_at)")


@migration("0005_alert_fingerprints")
def _alert_fingerprints(db: Database) -> None:
    """Each alert keeps its story fingerprint, so a restart re-indexes every story member."""
    db.execute("ALTER TABLE alerts ADD COLUMN fingerprint TEXT")
    db.execute(
        "UPDATE alerts SET fingerprint = (SELECT s.fingerprint FROM stories s"
        " WHERE s.id = alerts.story_id AND s.first_alert_id = alerts.id)"
    )


@migration("0006_admin_notices")
def _admin_notices(db: Database) -> None:
    """Admin notices (feed paused, 410, chat lost...) are kept until Telegram accepts them."""
    _create(
        db,
        "admin_notices",
        {
            "id": int,
            "admin_id": int,
            "text": str,
            "status": str,  # pending | sent | failed
            "attempts": int,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"admin_id", "text", "status"},
        defaults={"status": "pending", "attempts": 0},
    )
    db.execute("CREATE INDEX idx_admin_notices_status ON admin_notices(status, id)")


@migration("0008_weak_matches")
def _weak_matches(db: Database) -> None:
    """Weak matches: items whose watched names were only in a list or an aside.

    They never alert and have no story or delivery; they are kept for /search and `search`,
    with the entities found and the matcher's reasons, and pruned with the alerts.
    """
    _create(
        db,
        "weak_matches",
        {
            "id": int,
            "item_key": str,
            "feed_url": str,
            "source": str,
            "title": str,
            "link": str,
            "summary": str,
            "published_at": str,
            "created_at": str,
            "entities": str,  # JSON list of entity names (weak)
            "reasons": str,  # JSON list of the matcher's reasons, one string each
        },
        pk="id",
    )
    db.execute("CREATE UNIQUE INDEX idx_weak_matches_item_key ON weak_matches(item_key)")
    db.execute("CREATE INDEX idx_weak_matches_created_at ON weak_matches(created_at)")
    cols = ", ".join(f"[{c}]" for c in _FTS_COLUMNS)
    new = ", ".join(f"new.[{c}]" for c in _FTS_COLUMNS)
    old = ", ".join(f"old.[{c}]" for c in _FTS_COLUMNS)
    db.execute(
        f"CREATE VIRTUAL TABLE [weak_matches_fts] USING FTS5 ({cols},"
        " tokenize='unicode61 remove_diacritics 2', content=[weak_matches], content_rowid=[id])"
    )
    db.execute(
        f"CREATE TRIGGER [weak_matches_ai] AFTER INSERT ON [weak_matches] BEGIN"
        f" INSERT INTO [weak_matches_fts] (rowid, {cols}) VALUES (new.rowid, {new}); END"
    )
    db.execute(
        f"CREATE TRIGGER [weak_matches_ad] AFTER DELETE ON [weak_matches] BEGIN"
        f" INSERT INTO [weak_matches_fts] ([weak_matches_fts], rowid, {cols})"
        f" VALUES ('delete', old.rowid, {old}); END"
    )


@migration("0007_alert_language")
def _alert_language(db: Database) -> None:
    """Each alert keeps the language guessed from its text, for /story and exports."""
    db.execute("ALTER TABLE alerts ADD COLUMN lang TEXT")


@migration("0009_alert_time_index")
def _alert_time_index(db: Database) -> None:
    """Lists, periods and counts use an alert's time: publication, else arrival (never later
    than arrival). This indexes that expression, storage.queries.WHEN_SQL, verbatim."""
    db.execute(
        "CREATE INDEX idx_alerts_when ON alerts"
        " (min(coalesce(published_at, created_at), created_at))"
    )


@migration("0011_sources")
def _sources(db: Database) -> None:
    """Sources beyond feeds: each keeps its own state (a Telegram channel's last post, a
    page's selector health) as JSON; items keep the identity of the article or post behind
    them (a forwarded post's original, a Google News/GDELT headline), looked up across
    sources."""
    db.execute("ALTER TABLE feeds ADD COLUMN source_state TEXT")
    db.execute("ALTER TABLE items ADD COLUMN article_key TEXT")
    db.execute("CREATE INDEX idx_items_article_key ON items(article_key)")


@migration("0012_incidents")
def _incidents(db: Database) -> None:
    """Incident fields of each alert (event type, sub-event, toll, places with coordinates as
    JSON, severity: bot.core.incidents) and each chat's minimum severity per entity ("*" for
    every entity; "/priority high-only" is ("*", "high"))."""
    for column, kind in (
        ("event_type", "TEXT"),
        ("sub_event", "TEXT"),
        ("fatalities", "INTEGER"),
        ("places", "TEXT"),
        ("severity", "TEXT"),
    ):
        db.execute(f"ALTER TABLE alerts ADD COLUMN {column} {kind}")
    db.execute("CREATE INDEX idx_alerts_event_type ON alerts(event_type)")
    _create(
        db,
        "severity_prefs",
        {"chat_id": int, "entity": str, "min_severity": str, "updated_at": str},
        pk=("chat_id", "entity"),
    )


@migration("0010_deferred_updates")
def _deferred_updates(db: Database) -> None:
    """Telegram updates (commands) fetched but not answered when `run` stopped: answered by
    the next start (Telegram will not send them again: they were confirmed by getUpdates)."""
    _create(
        db,
        "deferred_updates",
        {"update_id": int, "payload": str, "deferred_at": str},
        pk="update_id",
    )


@migration("0014_redirect_candidate")
def _redirect_candidate(db: Database) -> None:
    """A permanent redirect seen once (applied to ``redirected_to`` only when the next fetch
    gives the same target), kept across processes so that cron's `poll --once` runs count."""
    db.execute("ALTER TABLE feeds ADD COLUMN redirect_candidate TEXT")


@migration("0015_feed_error_kind")
def _feed_error_kind(db: Database) -> None:
    """The kind of a feed's last failure (``bot.core.errors.FeedErrorKind``), stored by the
    cycle beside ``last_error`` since feed failures are values. Failures stored before it
    get their kind once, here, from their text (``legacy_error_kind``); new ones never are."""
    db.execute("ALTER TABLE feeds ADD COLUMN last_error_kind TEXT")
    rows = db.execute(
        "SELECT url, last_error, last_status FROM feeds WHERE last_error IS NOT NULL"
    ).fetchall()
    for url, error, status in rows:
        kind = legacy_error_kind(str(error), status if isinstance(status, int) else None)
        db.execute("UPDATE feeds SET last_error_kind = ? WHERE url = ?", [kind, url])


@migration("0016_story_signatures")
def _story_signatures(db: Database) -> None:
    """Each alert's story signature (bot.core.story_codec bytes), stored with it, so a restart
    re-indexes the story window without computing them again. ``tag`` names the code and data
    the signature was computed with (bot.cycle.story_signatures): a row of another tag is
    computed again. A row goes with its alert (ON DELETE CASCADE); rows older than the story
    window are deleted by the re-index and by retention pruning."""
    db.execute(
        "CREATE TABLE story_signatures ("
        " alert_id INTEGER PRIMARY KEY REFERENCES alerts(id) ON DELETE CASCADE,"
        " tag TEXT NOT NULL,"
        " data BLOB NOT NULL)"
    )


@migration("0017_story_pending")
def _story_pending(db: Database) -> None:
    """Alerts stored but not yet grouped into a story. A cycle stores each feed's items as
    its fetch ends, and groups the cycle's new alerts in the order of their events once the
    fetches end (bot.cycle.story_grouping): a report that links two others then comes between
    them, whichever feed ended first. A row keeps the chats its alert goes to if it starts a
    story; grouping deletes it in the same transaction that files the alert. Rows left by a
    process that died in between are grouped by the next cycle."""
    db.execute(
        "CREATE TABLE story_pending ("
        " alert_id INTEGER PRIMARY KEY REFERENCES alerts(id) ON DELETE CASCADE,"
        " chats TEXT NOT NULL)"
    )


@migration("0018_alert_published_after")
def _alert_published_after(db: Database) -> None:
    """For an alert whose feed gave no publication date: its feed's previous successful poll,
    which did not hold it (bot.core.arrival_bound). The report was published after it, so
    when that poll was recent story grouping reads the arrival as its date, after a restart
    too. NULL for a dated alert, on a feed's first poll, for a body new as a whole, and for
    the alerts stored before this migration (they stay undated)."""
    db.execute("ALTER TABLE alerts ADD COLUMN published_after TEXT")


# (pattern on the start of a stored message, kind): how the fetcher, the parser and the source
# readers worded each failure before they named its kind. First match wins.
_LEGACY_KINDS: tuple[tuple[re.Pattern[str], FeedErrorKind], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        (r"t\.me/s/[^ ?]+\?before=\d+: ", FeedErrorKind.UNKNOWN),  # a page: the rest decides
        (r"timeout: connect timeout", FeedErrorKind.CONNECT_TIMEOUT),
        (r"timeout\b", FeedErrorKind.TIMEOUT),
        (r"gave up after .* deadline", FeedErrorKind.DEADLINE),
        (r"HTTP 429\b", FeedErrorKind.RATE_LIMITED),
        (r"GDELT answered with an error: .*limit requests", FeedErrorKind.RATE_LIMITED),
        (r"HTTP 410\b", FeedErrorKind.GONE),
        (r"HTTP \d\d\d\b", FeedErrorKind.HTTP_STATUS),
        (r"too many redirects", FeedErrorKind.TOO_MANY_REDIRECTS),
        (r"redirect loop", FeedErrorKind.REDIRECT_LOOP),
        (r"(redirect refused: )?\S+ resolves to a non-public", FeedErrorKind.PRIVATE_ADDRESS),
        (r"(redirect refused|only http\(s\) feeds|feed URL has no host)", FeedErrorKind.BAD_URL),
        (r"DNS failure", FeedErrorKind.DNS),
        (r"TLS error", FeedErrorKind.TLS),
        (r"connection failed", FeedErrorKind.CONNECT),
        (r"(connection dropped|network error)", FeedErrorKind.NETWORK),
        (r"body larger than", FeedErrorKind.TOO_LARGE),
        (r"(corrupt \S+ body|unsupported Content-Encoding)", FeedErrorKind.BAD_ENCODING),
        (r"empty body", FeedErrorKind.EMPTY),
        (r"(not an? (valid )?(RSS/Atom )?feed|t\.me/s/\S+ answered)", FeedErrorKind.NOT_A_FEED),
        (
            r"(malformed feed|JSON could not|JSON Feed without|GDELT answer[ :])",
            FeedErrorKind.MALFORMED,
        ),
        (r"(parsing|page) took longer", FeedErrorKind.PARSE_TIMEOUT),
        (
            r"(internal error|feed could not be parsed|\S+ sources are not set)",
            FeedErrorKind.INTERNAL,
        ),
        (r"(GDELT answered|selector|t\.me/s/\S+ has no public)", FeedErrorKind.SOURCE),
    )
)
_LEGACY_STATUS = {410: FeedErrorKind.GONE, 429: FeedErrorKind.RATE_LIMITED}


def legacy_error_kind(error: str, status: int | None = None) -> str:
    """The kind of a failure stored as text only (before 0015); ``status`` (``last_status``)
    decides when the words do not."""
    text = error.strip()
    for pattern, kind in _LEGACY_KINDS:
        match = pattern.match(text)
        if match is None:
            continue
        if kind is FeedErrorKind.UNKNOWN:  # a page of a channel: the page's own failure
            return legacy_error_kind(text[match.end() :], status)
        return kind.value
    if status is not None and 400 <= status < 600:
        return _LEGACY_STATUS.get(status, FeedErrorKind.HTTP_STATUS).value
    return FeedErrorKind.UNKNOWN.value
