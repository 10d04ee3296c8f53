"""Guess the language of a news item from its words (script, then function words)."""

from __future__ import annotations

import re

from bot.core.normalize import normalize

__all__ = ["guess_language"]

_ARABIC = re.compile("[\u0600-\u06ff]")
_LATIN = re.compile("[A-Za-zÀ-ÿ]")
# Function words frequent in headlines and rare in the other languages listed.
_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the of and to in on for is are was with after says from by at as its over",
        "fr": "le la les des du de un une et au aux dans sur pour est sont avec apres selon par",
        "de": "der die das und ist nicht mit fur auf den dem ein eine nach bei wird zum zur",
        "es": "el los las del y en por para con una que se su tras segun al",
        "pt": "o os as do da dos das e em para com uma que no na apos pelo pela",
        "it": "il lo gli della delle dei e in per con una che nel nella dopo sono",
    }.items()
}


def guess_language(title: str, summary: str = "") -> str:
    """ISO 639-1 code of the likely language ("ar", "en", "fr", "de", "es", "pt", "it"), or ""
    when the words do not tell. The title counts double: summaries are often another text."""
    text = f"{title} {summary}"
    arabic = len(_ARABIC.findall(text))
    if arabic and arabic >= len(_LATIN.findall(text)):
        return "ar"
    scores = dict.fromkeys(_WORDS, 0.0)
    for weight, part in ((2.0, title), (1.0, summary)):
        for word in normalize(part).split():
            for lang, words in _WORDS.items():
                if word in words:
                    scores[lang] += weight
    best = max(scores, key=lambda lang: scores[lang])
    ranked = sorted(scores.values(), reverse=True)
    if ranked[0] == 0 or ranked[0] == ranked[1]:
        return ""
    return best
