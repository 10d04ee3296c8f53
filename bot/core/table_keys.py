"""Unknown keys of a configuration table, named the same way by every loader.

The watchlists, ``[[source]]`` tables, the gazetteer, the incident lexicon and the TOML config
all refuse keys they do not know, in the same words: ``unknown key 'colour' in entity
(expected one of: aliases, case_sensitive, …)``. A table with many keys (the config) names the
closest known key instead of listing them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable

# Tables with at most this many keys list them all in the message.
_LISTED = 20


def unknown_keys(table: Iterable[str], known: Collection[str]) -> list[str]:
    """The keys of ``table`` that are not in ``known``, in the table's order."""
    return [key for key in table if key not in known]


def unknown_key(key: str, known: Collection[str], where: str = "") -> str:
    """The message for an unknown ``key`` of a ``where`` table (empty: the top level)."""
    place = f" in {where}" if where else ""
    if len(known) <= _LISTED:
        hint = f" (expected one of: {', '.join(sorted(known))})"
    else:
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{place}{hint}"
