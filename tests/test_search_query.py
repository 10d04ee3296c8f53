"""User text to a safe FTS5 MATCH expression: quoting, prefixes, since:, fuzzing on real FTS5."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.incidents import EventType
from bot.core.search_query import (
    EVENT_TYPE_WORDS,
    SUB_EVENT_WORDS,
    parse_search,
    quote_term,
    search_type,
)
from bot.data.incident_data import load_default_lexicon

DOCS = [
    "Jama'at Nusrat al-Islam wal-Muslimin claims ambush near Kidal",
    "Assimi Goïta reçoit Sergueï Lavrov à Bamako",
    "Africa Corps convoy hit near Gao",
    'Le "NEAR" test: OR AND NOT (parentheses) * -minus',
]


@pytest.fixture(scope="module")
def fts() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        'CREATE VIRTUAL TABLE t USING fts5(body, tokenize="unicode61 remove_diacritics 2")'
    )
    conn.executemany("INSERT INTO t (body) VALUES (?)", [(d,) for d in DOCS])
    return conn


def hits(conn: sqlite3.Connection, text: str) -> list[int]:
    query = parse_search(text)
    assert query.match is not None, query.error
    rows = conn.execute("SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid", [query.match])
    return [r[0] - 1 for r in rows]


def test_quote_term_doubles_inner_quotes() -> None:
    assert quote_term('say "hi"') == '"say ""hi"""'
    assert quote_term("Kid", prefix=True) == '"Kid"*'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jama'at", [0]),  # raw FTS5 raises "fts5: syntax error" on the apostrophe
        ("goita", [1]),  # diacritic-insensitive both ways
        ("Goïta Lavrov", [1]),
        ("serguei", [1]),
        ("Kid*", [0]),
        ('"africa corps"', [2]),
        ('"corps africa"', []),
        ("NEAR(", [0, 2, 3]),  # the plain word "near"
        ("OR", [3]),
        ("(parentheses", [3]),
        ("-minus", [3]),
        ('"unbalanced quote Gao', []),
        ("«Bamako»", [1]),
        ("NOT Bamako", []),  # NOT is a plain word here, and no document has both
    ],
)
def test_queries_on_real_fts5(fts: sqlite3.Connection, text: str, expected: list[int]) -> None:
    assert hits(fts, text) == expected


def test_since_is_parsed_out() -> None:
    query = parse_search("JNIM Kidal since:7d")
    assert query.since == timedelta(days=7)
    assert query.terms == ("JNIM", "Kidal")
    assert query.match == '"JNIM" "Kidal"'


@pytest.mark.parametrize("text", ["", "   ", "*", "- ( )", '""', "since:7d", "\x00"])
def test_nothing_searchable_gives_a_message(text: str) -> None:
    query = parse_search(text)
    assert query.match is None
    assert query.error and "/search" in query.error


def test_bad_since_gives_a_message() -> None:
    query = parse_search("JNIM since:forever")
    assert query.error and "since" in query.error


@pytest.mark.parametrize(
    ("word", "kind"),
    [("battle", EventType.BATTLES), ("Clash", EventType.BATTLES),
     ("battles", EventType.BATTLES), ("explosions_remote_violence", EventType.EXPLOSIONS),
     ("explosions-remote-violence", EventType.EXPLOSIONS), ("massacre",
     EventType.VIOLENCE_AGAINST_CIVILIANS), ("strategic", EventType.STRATEGIC),
     ("STRATEGIC_DEVELOPMENTS", EventType.STRATEGIC), ("drone", "air/drone strike"),
     ("IED", "remote explosive/landmine/IED"), ("kidnapping", "abduction/forced disappearance"),
     ("arrests", "arrests"), ("picnic", None), ("", None), ("none", None)],
)  # fmt: skip
def test_type_words(word: str, kind: EventType | str | None) -> None:
    found = search_type(word)
    assert found == kind
    assert isinstance(found, EventType) == isinstance(kind, EventType)


def test_type_filters_are_event_types_and_sub_events() -> None:
    query = parse_search("type:battle Kidal type:drone type:clash")
    assert query.error is None and query.terms == ("Kidal",)
    assert query.event_types == (EventType.BATTLES,)  # once, as the enum member
    assert all(type(kind) is EventType for kind in query.event_types)
    assert query.sub_events == ("air/drone strike",)
    assert query.label == "Kidal type:battles/air/drone strike"
    assert query.filtered
    only_type = parse_search("type:riot")
    assert only_type.error is None and only_type.match is None
    assert only_type.event_types == (EventType.RIOTS,)


def test_unknown_type_names_every_valid_word() -> None:
    query = parse_search("JNIM type:picnic")
    assert query.error is not None
    assert query.error.startswith("type:picnic is not an incident type; one of: ")
    for word in (*EVENT_TYPE_WORDS, *SUB_EVENT_WORDS):
        assert word in query.error
    assert not query.event_types and not query.sub_events


def test_every_type_word_names_a_known_kind() -> None:
    """Every sub-event a ``type:`` word filters on is one the shipped lexicon tags (so one
    stored in ``alerts.sub_event``), every event type has a word, and a word is never both."""
    tagged = {t.sub_event for t in load_default_lexicon().triggers if t.sub_event}
    assert set(SUB_EVENT_WORDS.values()) <= tagged
    assert set(EVENT_TYPE_WORDS.values()) == set(EventType)
    assert not set(EVENT_TYPE_WORDS) & set(SUB_EVENT_WORDS)


FTS_NOISE = st.sampled_from(
    ['"', "'", "*", "(", ")", "-", "+", ":", "^", "NEAR(", "NEAR/2", " OR ", " AND ", " NOT ",
     "since:", "since:7d", "{", "}", "\x00", "é", "ï", "ـ", "\u0301", "🙂"]
)  # fmt: skip
TEXTS = st.lists(st.one_of(st.text(max_size=12), FTS_NOISE), max_size=12).map("".join)


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_fuzz_any_text_never_breaks_fts5(fts: sqlite3.Connection, text: str) -> None:
    query = parse_search(text)
    if query.match is None:
        assert query.error
        return
    fts.execute("SELECT count(*) FROM t WHERE t MATCH ?", [query.match]).fetchone()
