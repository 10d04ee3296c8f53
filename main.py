"""Entry point of newswatch (`python main.py COMMAND`, or the `newswatch` script): the command
line is in bot/cli/, the wiring of the components in bot/app/composition.py."""

from __future__ import annotations

import sys

from bot.cli.entry import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
