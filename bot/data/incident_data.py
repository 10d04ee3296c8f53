"""Load the shipped incident lexicon (bot/data/incident_lexicon.toml) and build the tagger."""

from __future__ import annotations

import threading
import tomllib
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from bot.core.errors import LookupFailed
from bot.core.incidents import IncidentTagger, Lexicon, parse_lexicon
from bot.core.search_query import SearchQuery
from bot.data.gazetteer_file import load_default_gazetteer

if TYPE_CHECKING:
    from bot.core.search_query import IncidentFilter

LEXICON_FILE = "incident_lexicon.toml"


@cache
def load_default_lexicon() -> Lexicon:
    """The trigger lexicon shipped in the package (parsed once per process)."""
    text = resources.files("bot").joinpath("data", LEXICON_FILE).read_text(encoding="utf-8")
    return parse_lexicon(tomllib.loads(text))


_LOAD_LOCK = threading.Lock()  # the pipeline builds it in a thread; commands may ask meanwhile


def load_default_tagger() -> IncidentTagger:
    """The incident tagger over the shipped gazetteer and lexicon (built once per process,
    whichever thread asks first)."""
    with _LOAD_LOCK:
        return _built_tagger()


@cache
def _built_tagger() -> IncidentTagger:
    return IncidentTagger(load_default_gazetteer(), load_default_lexicon())


def incident_filter(query: SearchQuery) -> IncidentFilter | None:
    """The stored-field filter of ``type:``/``place:`` search words (None without them).

    Raises ``LookupFailed`` (its message for the user) when the place is not in the gazetteer.
    """
    from bot.core.search_query import IncidentFilter

    if not query.filtered:
        return None
    place_ids: tuple[str, ...] = ()
    if query.place:
        places = load_default_gazetteer().by_name(query.place)
        if not places:
            raise LookupFailed(
                f"place:{query.place} is not in the gazetteer (docs/incidents.md: add a place)."
            )
        place_ids = tuple(p.id for p in places)
    return IncidentFilter(query.event_types, query.sub_events, place_ids)
