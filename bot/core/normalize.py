"""Text normalisation for matching: case, accents, Arabic letter variants and punctuation folded."""

from __future__ import annotations

import functools
import re
import unicodedata

# Combining marks removed after NFD: Latin/Greek/Cyrillic accents, Arabic tashkeel (harakat,
# shadda, sukun, dagger alef, Quranic marks), and the generic combining blocks. Removing them
# after NFD also folds أ إ آ ؤ ئ to ا ا ا و ي, because those letters decompose to a base letter
# plus a combining hamza/madda.
_MARKS = re.compile(
    "["
    "\u0300-\u036f"  # combining diacritical marks
    "\u0483-\u0489"  # Cyrillic combining marks
    "\u0591-\u05c7"  # Hebrew points
    "\u0610-\u061a"  # Arabic signs
    "\u064b-\u065f"  # Arabic tashkeel, hamza above/below, madda
    "\u0670"  # Arabic superscript (dagger) alef
    "\u06d6-\u06ed"  # Arabic Quranic annotation marks
    "\u08d3-\u08ff"  # Arabic extended marks
    "\u1ab0-\u1aff"  # combining diacritical marks extended
    "\u1dc0-\u1dff"  # combining diacritical marks supplement
    "\u20d0-\u20ff"  # combining marks for symbols
    "\ufe20-\ufe2f"  # combining half marks
    "]+"
)

# Arabic letter variants folded to one form, tatweel removed, Arabic-Indic digits to ASCII.
_ARABIC_FOLD = str.maketrans(
    {
        "\u0671": "\u0627",  # ٱ alef wasla -> ا
        "\u0649": "\u064a",  # ى alef maksura -> ي
        "\u06cc": "\u064a",  # ی Farsi yeh -> ي
        "\u0629": "\u0647",  # ة teh marbuta -> ه
        "\u06a9": "\u0643",  # ک keheh -> ك
        "\u0640": None,  # ـ tatweel
        **{chr(0x0660 + d): str(d) for d in range(10)},  # ٠..٩
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # ۰..۹
    }
)

_ARABIC_VARIANTS = re.compile("[\u0629\u0640\u0649\u0660-\u0669\u0671\u06a9\u06cc\u06f0-\u06f9]")

# Anything that is not a letter or digit separates words: apostrophes, hyphens, punctuation.
_NON_WORD = re.compile(r"[\W_]+")
# The same for ASCII text, as a 1:1 ASCII table (str.translate's fast path) then split().
_ASCII_SPACE = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


def fold(text: str) -> str:
    """Fold text for matching but keep letter case (used for case-sensitive aliases).

    NFKC, accents and Arabic tashkeel removed, Arabic variants folded, every run of
    non-word characters (spaces, punctuation, apostrophes, hyphens) turned into one space,
    stripped at both ends.
    """
    if text.isascii():
        return " ".join(text.translate(_ASCII_SPACE).split())
    # NFKD is NFKC followed by NFD: compatibility forms folded, accents split off.
    text = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    if text.isascii():  # Latin text with accents: ASCII once they are off (the common case)
        return " ".join(text.translate(_ASCII_SPACE).split())
    if _ARABIC_VARIANTS.search(text):
        text = text.translate(_ARABIC_FOLD)
    text = _NON_WORD.sub(" ", text).strip()
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)  # recompose what has no mark to strip
    return text


def normalize(text: str) -> str:
    """Normalise text for matching: ``fold`` plus casefold.

    ``normalize("GOÏTA, l'homme")`` is ``"goita l homme"``; ``normalize("أُسامة")`` is ``"اسامه"``.
    The result is a sequence of words separated by single spaces, so a whole-word search is a
    search for `` word `` in ``" " + normalize(text) + " "``.

    Short texts (titles, names, words) are remembered: one story signature asks for the same
    title, summary and entity names many times (n-grams, numbers, meanings, instances, actions,
    language). Long ones are not, so a hostile feed's megabyte fields are never kept.
    """
    if len(text) <= _REMEMBERED_LENGTH:
        return _normalize_short(text)
    return fold(text).casefold()


# Texts up to this length go through a small cache (about 1,000 entries of at most 1,000
# characters each: well under 10 MB).
_REMEMBERED_LENGTH = 1000


@functools.lru_cache(maxsize=1024)
def _normalize_short(text: str) -> str:
    return fold(text).casefold()
