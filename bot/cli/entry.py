"""The command line: the parser of every command group, and the one place where the command
line shows our errors (any NewswatchError) and turns the rest into exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from bot.app.logging_setup import configure_logging, register_secret
from bot.cli import diagnose, match, query_commands, run, web
from bot.core.errors import NewswatchError

log = logging.getLogger("newswatch")


def _common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--config and -v, accepted before or after the subcommand.

    Below the subcommand their default is SUPPRESS, so an option given before the
    subcommand is not overwritten by the subparser's default.
    """
    default: Any = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--config", default=default, help="TOML config file (default: $NEWSWATCH_CONFIG)"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="debug logging",
    )


class _SubcommandParser(argparse.ArgumentParser):
    """Every subcommand also takes --config and -v (after the subcommand's name)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _common_options(self, top=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newswatch",
        description="News-monitoring alerts: watched entities in news feeds, sent to Telegram.",
    )
    _common_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_SubcommandParser)
    run.add_commands(sub)
    diagnose.add_commands(sub)
    query_commands.add_commands(sub)
    web.add_commands(sub)
    match.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(verbose=args.verbose)
    register_secret(os.environ.get("TELEGRAM_BOT_TOKEN"))  # even one the config refuses
    try:
        return int(args.func(args) or 0)
    except NewswatchError as exc:  # the one place the command line shows our errors
        for line in exc.lines():
            print(line, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `main.py match … | head`: the reader is gone, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 141
    except Exception:  # boundary: anything else is a bug, logged with its traceback
        # Through the redacting log formatter: a raw traceback could print the bot token.
        log.critical("newswatch stopped by an unexpected error", exc_info=True)
        return 1
