"""`web`: the browsable archive, the database read-only in Datasette (bot/web/)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.cli.loading import load


def add_commands(sub: Any) -> None:
    """The `web` subcommand."""
    web = sub.add_parser(
        "web", help="browse and search the stored alerts in a web browser (Datasette, read-only)"
    )
    web.add_argument("--port", type=int, default=8001, help="TCP port (default 8001)")
    web.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other needs web_password_hash)",
    )
    web.add_argument(
        "--hash-password",
        action="store_true",
        help="print a web_password_hash for a password (prompted, or one line on stdin)",
    )
    web.set_defaults(func=cmd_web)


def cmd_web(args: argparse.Namespace) -> int:
    """The browsable archive: the database read-only in Datasette (bot/web/)."""
    from bot.web.server import hash_password, serve
    from storage.db import open_reader

    if args.hash_password:
        return hash_password(sys.stdin, sys.stdout, sys.stderr)
    config = load(args)
    # a WebError is shown by main()
    return serve(config, args.host, args.port, open_reader=open_reader)
