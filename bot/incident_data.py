"""Load the shipped incident lexicon (bot/data/incident_lexicon.toml) and build the tagger."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from bot.core.incidents import IncidentTagger, Lexicon, parse_lexicon
from bot.gazetteer_file import load_default_gazetteer

LEXICON_FILE = "incident_lexicon.toml"


@cache
def load_default_lexicon() -> Lexicon:
    """The trigger lexicon shipped in the package (parsed once per process)."""
    text = resources.files("bot").joinpath("data", LEXICON_FILE).read_text(encoding="utf-8")
    return parse_lexicon(tomllib.loads(text))


@cache
def load_default_tagger() -> IncidentTagger:
    """The incident tagger over the shipped gazetteer and lexicon (built once per process)."""
    return IncidentTagger(load_default_gazetteer(), load_default_lexicon())
