"""Load the shipped cross-language meaning lexicon (bot/data/meaning_lexicon.tsv) for the core."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bot.core.meanings import MeaningLexicon, parse_meanings

MEANING_FILE = Path(__file__).resolve().parent / "meaning_lexicon.tsv"


def load_meanings(path: Path = MEANING_FILE) -> MeaningLexicon:
    """Parse a meaning lexicon file; a malformed file raises MeaningLexiconError naming the
    line, a missing one OSError."""
    return parse_meanings(path.read_text(encoding="utf-8"), where=path.name)


@cache
def load_default_meanings() -> MeaningLexicon:
    """The lexicon shipped in the package (parsed once per process)."""
    return load_meanings()
