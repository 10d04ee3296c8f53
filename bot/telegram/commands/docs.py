"""The command list of docs/commands.md, generated from the command table.

``python -m bot.telegram.commands.docs`` rewrites the part of docs/commands.md between the
two markers; ``--check`` only says whether it is up to date (a test runs the same check).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.telegram.commands.table import COMMANDS, ROLE_LABELS

BEGIN = (
    "<!-- command list: generated from bot/telegram/commands/table.py"
    " by `python -m bot.telegram.commands.docs`; do not edit by hand -->"
)
END = "<!-- end of the generated command list -->"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "commands.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def command_list_markdown() -> str:
    """The table of every command: usage, who may use it, what it does, its group."""
    lines = [
        BEGIN,
        "| command | who | what | module |",
        "| --- | --- | --- | --- |",
    ]
    for command in COMMANDS:
        group = command.handler.__module__.rsplit(".", 1)[-1]
        lines.append(
            f"| `{_cell(command.usage)}` | {ROLE_LABELS[command.role]}"
            f" | {_cell(command.help)} | `{group}` |"
        )
    lines.append(END)
    return "\n".join(lines)


def with_command_list(text: str) -> str:
    """``text`` with the generated list put between its markers (which must be there)."""
    start = text.index(BEGIN)
    end = text.index(END, start) + len(END)
    return text[:start] + command_list_markdown() + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    parser.add_argument("path", nargs="?", type=Path, default=DOCS)
    options = parser.parse_args(argv)
    text = options.path.read_text(encoding="utf-8")
    updated = with_command_list(text)
    if options.check:
        stale = updated != text
        if stale:
            print(f"{options.path}: the command list is stale", file=sys.stderr)
        return 1 if stale else 0
    if updated != text:
        options.path.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
