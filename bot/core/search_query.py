"""Turn what a user typed into a safe SQLite FTS5 MATCH expression (quoted terms, ``since:``)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Generic, TypeVar

from bot.core.errors import PeriodError
from bot.core.incidents import EventType
from bot.core.periods import parse_duration

MAX_TERMS = 16
MAX_TERM_CHARS = 100
_SINCE = re.compile(r"(?<!\S)since:(\S*)", re.IGNORECASE)
_TYPE = re.compile(r"(?<!\S)type:(\S*)", re.IGNORECASE)
_PLACE = re.compile(r'(?<!\S)place:(?:"([^"]*)"|(\S*))', re.IGNORECASE)
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed search: the FTS5 expression (None when nothing searchable), terms, period."""

    match: str | None
    terms: tuple[str, ...]
    since: timedelta | None
    error: str | None = None
    # incident filters: ``type:drone`` (an ACLED type or sub-event), ``place:Kidal``
    event_types: tuple[EventType, ...] = ()
    sub_events: tuple[str, ...] = ()  # as stored in ``alerts.sub_event`` (SUB_EVENT_WORDS)
    place: str | None = None

    @property
    def label(self) -> str:
        words = [f'"{t}"' if " " in t else t for t in self.terms]
        if self.event_types or self.sub_events:
            kinds = (*(t.value for t in self.event_types), *self.sub_events)
            words.append("type:" + "/".join(kinds))
        if self.place:
            words.append(f"place:{self.place}")
        return " ".join(words)

    @property
    def filtered(self) -> bool:
        return bool(self.event_types or self.sub_events or self.place)


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
    event_types: list[EventType] = []
    sub_events: list[str] = []
    for found in _TYPE.finditer(cleaned):
        kind = search_type(found.group(1))
        if kind is None:
            error = unknown_type_message(found.group(1))
        elif isinstance(kind, EventType):
            event_types.append(kind)
        else:
            sub_events.append(kind)
    cleaned = _TYPE.sub(" ", cleaned)
    place = None
    for found in _PLACE.finditer(cleaned):
        place = (found.group(1) or found.group(2) or "").replace("_", " ").strip() or None
    cleaned = _PLACE.sub(" ", cleaned)
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
    if error is None and not parts and not (event_types or sub_events or place):
        error = "Nothing to search for: give at least one word, e.g. /search JNIM Kidal since:7d"
    return SearchQuery(
        match=" ".join(parts) if parts else None,
        terms=tuple(terms),
        since=since,
        error=error,
        event_types=tuple(dict.fromkeys(event_types)),
        sub_events=tuple(dict.fromkeys(sub_events)),
        place=place,
    )


# ``type:`` words -> the event type an alert must have (an ACLED type name works too) ...
EVENT_TYPE_WORDS: dict[str, EventType] = {
    "battle": EventType.BATTLES,
    "battles": EventType.BATTLES,
    "clash": EventType.BATTLES,
    "explosion": EventType.EXPLOSIONS,
    "explosions": EventType.EXPLOSIONS,
    "remote": EventType.EXPLOSIONS,
    "civilians": EventType.VIOLENCE_AGAINST_CIVILIANS,
    "vac": EventType.VIOLENCE_AGAINST_CIVILIANS,
    "massacre": EventType.VIOLENCE_AGAINST_CIVILIANS,
    "protest": EventType.PROTESTS,
    "protests": EventType.PROTESTS,
    "riot": EventType.RIOTS,
    "riots": EventType.RIOTS,
    "strategic": EventType.STRATEGIC,
}
# ... or the sub-event, as the lexicon names it and ``alerts.sub_event`` stores it (the sub-event
# name itself works too)
SUB_EVENT_WORDS: dict[str, str] = {
    "drone": "air/drone strike",
    "airstrike": "air/drone strike",
    "ied": "remote explosive/landmine/IED",
    "mine": "remote explosive/landmine/IED",
    "suicide": "suicide bomb",
    "shelling": "shelling/artillery/missile attack",
    "abduction": "abduction/forced disappearance",
    "kidnapping": "abduction/forced disappearance",
    "arrests": "arrests",
    "handover": "non-violent transfer of territory",
    "agreement": "agreement",
}


def search_type(word: str) -> EventType | str | None:
    """What ``type:word`` filters on: an ``EventType`` (``battle`` -> ``EventType.BATTLES``;
    ACLED's name ``battles`` too), else a sub-event's stored name (``drone`` -> ``"air/drone
    strike"``); None when the word is neither."""
    key = word.strip().casefold().replace("-", "_")
    if key in EVENT_TYPE_WORDS:
        return EVENT_TYPE_WORDS[key]
    if key in SUB_EVENT_WORDS:
        return SUB_EVENT_WORDS[key]
    for kind in EventType:
        if key == kind.value:
            return kind
    for sub_event in SUB_EVENT_WORDS.values():
        if key == sub_event.casefold():
            return sub_event
    return None


def unknown_type_message(word: str) -> str:
    """What the user is told for a ``type:`` word that names no incident type: every word
    that does (``/search`` and ``main.py search`` show it as their error)."""
    types = ", ".join(sorted(EVENT_TYPE_WORDS))
    sub_events = ", ".join(sorted(SUB_EVENT_WORDS))
    return (
        f"type:{word} is not an incident type; one of: {types}; sub-events: {sub_events}"
        f" (ACLED's names work too, e.g. type:{EventType.EXPLOSIONS.value})"
    )


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """``/search type:… place:…``: stored incident fields an alert must have (any of the
    event types or sub-events, and one of the places)."""

    event_types: tuple[EventType, ...] = ()
    sub_events: tuple[str, ...] = ()
    place_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a search: its rows, and how many there are in all."""

    rows: list[T]
    total: int
