"""`main.py web`: serve the bot's live database read-only with Datasette (the `web` extra).

The bot keeps writing while the web view reads: the file is opened with ``mode=ro`` (not
``immutable``, which would read a stale or torn state), in WAL mode readers never block the
writer, and every connection is locked down by ``bot.web.guard``. Bound to loopback by
default; any other address needs a password hash in the config (datasette-auth-passwords).
"""

from __future__ import annotations

import asyncio
import getpass
import ipaddress
import logging
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import urlparse

from bot.core.errors import DatabaseMissing, WebError
from bot.core.web_links import DATABASE_NAME
from bot.web.guard import lock_down
from bot.web.metadata import WebMetadata, build_metadata, load_shipped, read_schema

log = logging.getLogger("newswatch.web")


class WebConfig(Protocol):
    """The settings the web view reads (``bot.app.config.Config`` has them)."""

    @property
    def db_path(self) -> str: ...

    @property
    def web_base_url(self) -> str | None: ...

    @property
    def web_username(self) -> str: ...

    @property
    def web_password_hash(self) -> str | None: ...


EXTRA_HINT = "pip install -e '.[web]'"
PASSWORD_ENV = "NEWSWATCH_WEB_PASSWORD_HASH"  # how the hash reaches the plugin, never shown
AUTH_PLUGIN = "datasette-auth-passwords"
SETTINGS: dict[str, Any] = {
    "default_page_size": 50,
    "max_returned_rows": 1000,
    "sql_time_limit_ms": 3000,
    "facet_time_limit_ms": 500,
    "allow_download": False,  # the file holds the internal tables too
    "truncate_cells_html": 300,
    "default_facet_size": 10,
    "suggest_facets": False,  # the shipped facets are the useful ones; fewer queries
}


def settings_for(config: WebConfig) -> dict[str, Any]:
    """Datasette settings; a path in ``web_base_url`` (a reverse proxy passing
    ``/archive/...`` through) becomes Datasette's ``base_url``, so its links and the bot's
    /story links agree."""
    settings = dict(SETTINGS)
    path = urlparse(config.web_base_url or "").path.strip("/")
    if path:
        settings["base_url"] = f"/{path}/"
    return settings


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; any other address or name is public."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, password_hash: str | None) -> None:
    """Refuse a non-loopback address without a password hash."""
    if is_loopback(host) or password_hash:
        return
    raise WebError(
        f"refusing to serve on {host}: it is not a loopback address, and no password is set."
        " Anyone who can reach it could read every alert. Set web_password_hash in the config"
        " (`main.py web --hash-password` makes one), or serve on 127.0.0.1 behind your own"
        " authenticating proxy."
    )


def _require_datasette() -> None:
    try:
        import datasette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise WebError(
            f"the web view needs Datasette, an optional extra: {EXTRA_HINT} ({exc.name} missing)"
        ) from exc


def _require_auth_plugin() -> None:
    try:
        import datasette_auth_passwords  # noqa: F401
    except ImportError as exc:
        raise WebError(
            f"a password is set but {AUTH_PLUGIN} is not installed: {EXTRA_HINT}"
        ) from exc


class OpenReader(Protocol):
    """Opens the database read-only, raising DatabaseMissing when there is no file
    (``storage.db.open_reader``, handed in by the command line, bot/cli/web.py)."""

    def __call__(self, path: Path, *, any_thread: bool = False) -> sqlite3.Connection: ...


def query_checker(conn: sqlite3.Connection) -> Callable[[str, frozenset[str]], str | None]:
    """``check(sql, readable)``: why a canned query cannot run on ``conn``'s database when it
    may read only ``readable`` tables, or None."""

    def check(sql: str, readable: frozenset[str]) -> str | None:
        lock_down(conn, readable)
        try:
            conn.execute(f"EXPLAIN {sql}", _NullParams()).fetchall()
        except sqlite3.Error as exc:
            return str(exc)
        return None

    return check


class _NullParams(dict[str, Any]):
    """Binds every named parameter of a query being checked to ''."""

    def __missing__(self, key: str) -> str:
        return ""


def inspect_database(db_path: str | Path, open_reader: OpenReader) -> WebMetadata:
    """Read the live schema through a read-only connection (``open_reader``) and build the
    metadata the web view will serve."""
    path = Path(db_path)
    try:
        conn = open_reader(path)
    except DatabaseMissing as exc:
        raise WebError(
            f"{exc}: run the bot first (`main.py run` or `main.py poll --once`)"
        ) from exc
    try:
        schema = read_schema(conn)
        from bot.web.plugin import sql_failure_kind

        conn.create_function("failure_kind", 2, sql_failure_kind, deterministic=True)
        return build_metadata(load_shipped(), schema, query_checker(conn))
    finally:
        conn.close()


def _read_only_database(ds: Any, path: Path, open_reader: OpenReader) -> Any:
    """Datasette's Database over ``path`` whose connections are ``open_reader``'s: Datasette's
    own (``file:{path}?mode=ro``, the path unquoted) would open another file, creating it
    read-write, when the path holds a ``?`` or ``#`` (or another name for a ``%``). A write
    connection is refused: the archive never writes."""
    from datasette.database import Database

    class ReadOnlyDatabase(Database):  # type: ignore[misc]  # datasette has no type hints
        def connect(self, write: bool = False) -> sqlite3.Connection:
            if write:
                raise sqlite3.OperationalError("the newswatch web archive is read-only")
            conn = open_reader(path, any_thread=True)
            self._all_file_connections.append(conn)  # closed by Database.close()
            return conn

    return ReadOnlyDatabase(ds, path=str(path), is_mutable=True)


def build_datasette(
    config: WebConfig, web: WebMetadata, *, require_auth: bool, open_reader: OpenReader
) -> Any:
    """A Datasette over ``config.db_path`` (read-only, through ``open_reader``) with
    newswatch's metadata and plugin."""
    from datasette.app import Datasette
    from datasette.plugins import pm

    from bot.web.plugin import NewswatchPlugin

    metadata = dict(web.metadata)
    if require_auth:
        _require_auth_plugin()
        os.environ[PASSWORD_ENV] = config.web_password_hash or ""
        metadata["plugins"] = {
            AUTH_PLUGIN: {f"{config.web_username}_password_hash": {"$env": PASSWORD_ENV}}
        }
        metadata["allow"] = {"id": config.web_username}
    if pm.get_plugin("newswatch") is not None:
        pm.unregister(name="newswatch")
    pm.register(
        NewswatchPlugin(web.visible_tables, web.readable_tables, require_actor=require_auth),
        name="newswatch",
    )
    ds = Datasette(
        [],
        metadata=metadata,
        settings=settings_for(config),
        secret=os.environ.get("DATASETTE_SECRET") or None,
    )
    ds.add_database(
        _read_only_database(ds, Path(config.db_path).resolve(), open_reader),
        name=DATABASE_NAME,
    )
    return ds


def serve(
    config: WebConfig,
    host: str,
    port: int,
    *,
    open_reader: OpenReader,
    out: IO[str] | None = None,
) -> int:
    """Run the web view until interrupted. Raises WebError when it must not or cannot start.
    ``open_reader`` opens the database read-only to inspect its schema at start-up."""
    out = out or sys.stderr
    check_bind(host, config.web_password_hash)
    _require_datasette()
    web = inspect_database(config.db_path, open_reader)
    for note in web.notes:
        log.info("web metadata: %s", note)
    require_auth = bool(config.web_password_hash)
    ds = build_datasette(config, web, require_auth=require_auth, open_reader=open_reader)
    asyncio.run(ds.invoke_startup())

    import uvicorn

    where = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    guard = f"password required (user {config.web_username})" if require_auth else "no password"
    print(
        f"newswatch web: {config.db_path} read-only at {where}{DATABASE_NAME} ({guard})",
        file=out,
        flush=True,
    )
    # log_config=None: uvicorn's records go through newswatch's (redacting) log setup.
    uvicorn.run(ds.app(), host=host, port=port, log_config=None, lifespan="on", workers=1)
    return 0


def hash_password(stdin: IO[str], out: IO[str], err: IO[str]) -> int:
    """Print a hash for ``web_password_hash``: the password from a prompt, or from stdin."""
    try:
        from datasette_auth_passwords.utils import hash_password as make_hash
    except ImportError:
        print(f"hashing needs {AUTH_PLUGIN}: {EXTRA_HINT}", file=err)
        return 2
    if stdin.isatty():
        password = getpass.getpass("Password for the web view: ")
        if getpass.getpass("Again: ") != password:
            print("the two passwords differ", file=err)
            return 1
    else:
        password = stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        print("choose a password of at least 8 characters", file=err)
        return 1
    print(make_hash(password), file=out)
    return 0
