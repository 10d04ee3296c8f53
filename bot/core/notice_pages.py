"""Cut an admin notice into Telegram-sized pages, summarising what would take too many."""

from __future__ import annotations

from bot.core.formatting import utf16_len

PAGE_LIMIT = 4000  # UTF-16 units per page, under Telegram's 4096 with room for "(2/3)"
MAX_PAGES = 3


def notice_pages(text: str, limit: int = PAGE_LIMIT, max_pages: int = MAX_PAGES) -> list[str]:
    """Pages of at most ``limit`` UTF-16 units, cut between lines (a longer line is cut).

    A notice that would need more than ``max_pages`` pages keeps its first lines and ends
    with how many lines were left out and where to see them all: a notice is never lost
    to its length (Telegram refuses a message over 4096 units).
    """
    if utf16_len(text) <= limit:
        return [text]
    lines = [piece for line in text.split("\n") for piece in _cut(line, limit)]
    pages: list[list[str]] = [[]]
    sizes = [0]
    budget = limit - 40  # room for the "(n/m)" marker
    for index, line in enumerate(lines):
        size = utf16_len(line) + 1
        if sizes[-1] + size > budget and pages[-1]:
            if len(pages) == max_pages:
                return _with_summary(pages, len(lines) - index, len(lines), budget)
            pages.append([])
            sizes.append(0)
        pages[-1].append(line)
        sizes[-1] += size
    return _numbered(pages)


def _with_summary(pages: list[list[str]], left: int, total: int, budget: int) -> list[str]:
    note = (
        f"… {left} more line(s) not shown ({total} in all). Run `main.py check` for every"
        " problem, or see the bot's log."
    )
    last = pages[-1]
    while last and sum(utf16_len(x) + 1 for x in last) + utf16_len(note) + 1 > budget:
        last.pop()
        left += 1
        note = (
            f"… {left} more line(s) not shown ({total} in all). Run `main.py check` for every"
            " problem, or see the bot's log."
        )
    last.append(note)
    return _numbered(pages)


def _numbered(pages: list[list[str]]) -> list[str]:
    if len(pages) == 1:
        return ["\n".join(pages[0])]
    return [f"({i}/{len(pages)})\n" + "\n".join(page) for i, page in enumerate(pages, 1)]


def _cut(line: str, limit: int) -> list[str]:
    """A line longer than a page, in page-sized pieces (by code point, checked in UTF-16)."""
    if utf16_len(line) <= limit - 40:
        return [line]
    pieces: list[str] = []
    start = size = 0
    for index, char in enumerate(line):
        width = 2 if ord(char) > 0xFFFF else 1
        if size + width > limit - 40:
            pieces.append(line[start:index])
            start, size = index, 0
        size += width
    pieces.append(line[start:])
    return pieces
