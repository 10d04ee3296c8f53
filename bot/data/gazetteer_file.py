"""Load the shipped Sahel gazetteer and country outlines (bot/data/*.json) for the core."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from bot.core.boundaries import CountryOutline, parse_boundaries
from bot.core.gazetteer import Gazetteer, parse_gazetteer

GAZETTEER_FILE = "gazetteer.json"
BOUNDARIES_FILE = "boundaries.json"


def _read(name: str) -> object:
    text = resources.files("bot").joinpath("data", name).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def load_default_gazetteer() -> Gazetteer:
    """The gazetteer shipped in the package (parsed once per process)."""
    data = _read(GAZETTEER_FILE)
    if not isinstance(data, dict):
        raise ValueError(f"{GAZETTEER_FILE}: the top level must be an object")
    return parse_gazetteer(data)


@cache
def load_default_boundaries() -> dict[str, CountryOutline]:
    """Country outlines of Mali and its region (Natural Earth 1:50m, simplified)."""
    data = _read(BOUNDARIES_FILE)
    if not isinstance(data, dict):
        raise ValueError(f"{BOUNDARIES_FILE}: the top level must be an object")
    return parse_boundaries(data)
