"""Load the shipped Sahel gazetteer and country outlines (bot/data/*.json) for the core."""

from __future__ import annotations

import json
import threading
from functools import cache
from importlib import resources

from bot.core.boundaries import CountryOutline, parse_boundaries
from bot.core.gazetteer import Gazetteer, Place, parse_gazetteer_entries

GAZETTEER_FILE = "gazetteer.json"
BOUNDARIES_FILE = "boundaries.json"


def _read(name: str) -> object:
    text = resources.files("bot").joinpath("data", name).read_text(encoding="utf-8")
    return json.loads(text)


# The first load may come from a worker thread (the story lexicons and the incident tagger are
# loaded off the event loop) while the event loop asks too: each file is parsed once.
_LOAD_LOCK = threading.RLock()


def _default_entries() -> tuple[list[Place], dict[str, tuple[str, ...]]]:
    with _LOAD_LOCK:
        return _parsed_entries()


@cache
def _parsed_entries() -> tuple[list[Place], dict[str, tuple[str, ...]]]:
    data = _read(GAZETTEER_FILE)
    if not isinstance(data, dict):
        raise ValueError(f"{GAZETTEER_FILE}: the top level must be an object")
    return parse_gazetteer_entries(data)


def load_default_places() -> tuple[Place, ...]:
    """The shipped gazetteer's places, without its search automata: the watchlists' scopes
    only need the names (building the automata costs 15-20 ms, which a cycle of 304s never
    needs)."""
    return tuple(_default_entries()[0])


def load_default_gazetteer() -> Gazetteer:
    """The gazetteer shipped in the package (parsed once per process, whichever thread asks)."""
    with _LOAD_LOCK:
        return _built_gazetteer()


@cache
def _built_gazetteer() -> Gazetteer:
    places, country_names = _default_entries()
    return Gazetteer(places, country_names)


@cache
def load_default_boundaries() -> dict[str, CountryOutline]:
    """Country outlines of Mali and its region (Natural Earth 1:50m, simplified)."""
    data = _read(BOUNDARIES_FILE)
    if not isinstance(data, dict):
        raise ValueError(f"{BOUNDARIES_FILE}: the top level must be an object")
    return parse_boundaries(data)
