"""Turn what a user typed into a safe SQLite FTS5 MATCH expression (quoted terms, ``since:``)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from bot.core.periods import PeriodError, parse_duration

MAX_TERMS = 16
MAX_TERM_CHARS = 100
_SINCE = re.compile(r"(?<!\S)since:(\S*)", re.IGNORECASE)
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed search: the FTS5 expression (None when nothing searchable), terms, period."""

    match: str | None
    terms: tuple[str, ...]
    since: timedelta | None
    error: str | None = None

    @property
    def label(self) -> str:
        return " ".join(f'"{t}"' if " " in t else t for t in self.terms)


def _clean(text: str) -> str:
    """Drop control characters (NUL included) and normalise the usual quotation marks."""
    kept = (ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\t\n")
    return "".join(kept).translate(_QUOTES)


def _searchable(term: str) -> bool:
    """True when the tokenizer will find at least one token in ``term`` (a letter or digit)."""
    return any(ch.isalnum() for ch in term)


def quote_term(term: str, prefix: bool = False) -> str:
    """One FTS5 string: double-quoted, inner quotes doubled; ``*`` after it for a prefix search."""
    quoted = '"' + term.replace('"', '""') + '"'
    return quoted + "*" if prefix else quoted


def _split(text: str) -> list[tuple[str, bool]]:
    """Words and "quoted phrases" as (text, is_phrase). An unbalanced quote ends at the end."""
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == '"':
            end = text.find('"', i + 1)
            end = len(text) if end == -1 else end
            out.append((text[i + 1 : end], True))
            i = end + 1
            continue
        j = i
        while j < len(text) and not text[j].isspace() and text[j] != '"':
            j += 1
        out.append((text[i:j], False))
        i = j
    return out


def parse_search(text: str) -> SearchQuery:
    """Parse ``/search`` input. Never raises: problems come back in ``error``.

    Every term is matched literally (FTS5 operators such as ``NEAR(``, ``OR``, ``-`` or ``(``
    lose their meaning); a word ending in ``*`` stays a prefix search; terms are ANDed.
    """
    cleaned = _clean(text or "")
    since: timedelta | None = None
    error: str | None = None
    for found in _SINCE.finditer(cleaned):
        try:
            since = parse_duration(found.group(1))
        except PeriodError as exc:
            error = f"since: {exc}"
    cleaned = _SINCE.sub(" ", cleaned)
    terms: list[str] = []
    parts: list[str] = []
    for raw, phrase in _split(cleaned):
        prefix = not phrase and raw.endswith("*")
        body = raw.replace("*", " ").strip() if not phrase else " ".join(raw.split())
        body = body[:MAX_TERM_CHARS]
        if not _searchable(body):
            continue
        # A prefix applies to the last token only; "foo-bar*" is the phrase "foo bar" + prefix.
        terms.append(body + ("*" if prefix else ""))
        parts.append(quote_term(body, prefix=prefix))
        if len(parts) >= MAX_TERMS:
            break
    if error is None and not parts:
        error = "Nothing to search for: give at least one word, e.g. /search JNIM Kidal since:7d"
    return SearchQuery(
        match=" ".join(parts) if parts else None, terms=tuple(terms), since=since, error=error
    )
