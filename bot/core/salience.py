"""Score how prominent a mention is: the field it is in, and whether it sits in a list or aside.

A matcher finds aliases in the folded text (``bot.core.normalize.fold``), which has lost its
punctuation. This module reads the plain text, where commas, semicolons and brackets still
show the shape of a sentence, and maps that shape onto folded positions:

* a **list**: three or more names in a row ("Mali, Burkina Faso and Niger", "in Lebanon, South
  Sudan, the DRC and Mali", "مالي وبوركينا فاسو والنيجر"); a mention inside one is part of an
  enumeration, not the subject of the story;
* a **passing clause**: the mention follows a marker of an aside in the same clause ("while
  the French operation in Mali...", "such as", "including", "notamment", "alors que",
  "بما في ذلك", "mentioned in passing").

``mention_salience`` gives a number in 0..1 for one mention (see ``FIELD_WEIGHT`` and
``ASIDE_FACTOR``); an entity's salience is the highest over its mentions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.normalize import fold, normalize

# A mention in the title is the story; in the summary it may be background.
FIELD_WEIGHT = {"title": 1.0, "summary": 0.6}
# Each of "in a list of 3+ names" and "in a passing clause" halves the weight.
ASIDE_FACTOR = 0.5
DEFAULT_MIN_SALIENCE = 0.5

# Clause boundaries in plain text (an aside ends at a comma): punctuation that folding turns
# into spaces.
_CLAUSE = re.compile(r"[,;:()\[\]«»\"“”|!?،؛]|[.](?=\s)|[.]$|\s[-–—]\s|[–—]")

# Words that open an aside: what follows them in the same clause is background. Normalised
# (lower case, no accents, punctuation as spaces). "as", "after" and "since" are left out on
# purpose: they introduce the main event too often ("killed after JNIM attack").
PASSING_MARKERS = (
    # English
    "while",
    "whereas",
    "although",
    "though",
    "amid",
    "amidst",
    "such as",
    "including",
    "like",
    "unlike",
    "besides",
    "mentioning",
    "recalling",
    "citing",
    "in passing",
    "let alone",
    "compared with",
    "compared to",
    "as well as in",
    # French
    "alors que",
    "tandis que",
    "bien que",
    "comme",
    "tels que",
    "telles que",
    "tel que",
    "telle que",
    "notamment",
    "y compris",
    "parmi lesquels",
    "parmi lesquelles",
    "a l instar de",
    "rappelant",
    "evoquant",
    "citant",
    "en passant",
    # German, Italian, Spanish, Portuguese
    "wahrend",
    "darunter",
    "einschliesslich",
    "wie etwa",
    "mentre",
    "tra cui",
    "come",
    "mientras",
    "incluido",
    "incluidos",
    "como",
    "enquanto",
    "incluindo",
    # Arabic
    "بينما",
    "في حين",
    "مثل",
    "بما في ذلك",
    "بما فيها",
    "بما فيه",
    "على غرار",
    "من بينها",
)
# Markers that make the whole clause an aside wherever they stand.
_WHOLE_CLAUSE = ("in passing", "en passant")
_MARKER_KEYS = tuple(f" {normalize(m)} " for m in PASSING_MARKERS)
_WHOLE_KEYS = tuple(f" {normalize(m)} " for m in _WHOLE_CLAUSE)

# A name in a list: a capitalised word (or an Arabic one), then up to three more capitalised
# words or connectors ("Burkina Faso", "Côte d'Ivoire", "Central African Republic").
_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de"
_ARABIC = "\u0621-\u064a\u066e-\u06d3"
_WORD = rf"(?:[{_UPPER}{_ARABIC}][\w'’.-]*)"
_CONNECTOR = r"(?:de|du|des|d'|d’|of|the|la|le|les|el|al|and\s+the)"
_LEAD = r"(?:(?:the|le|la|les|l'|l’|al-|el-)\s*)?"
_NAME = rf"{_LEAD}{_WORD}(?:\s+(?:{_CONNECTOR}\s*)?{_WORD}){{0,3}}"
_AND = r"(?:and|et|or|ou|und|e|y|ve)"
_SEP = rf"(?:\s*[,،]\s*(?:{_AND}\s+)?|\s+{_AND}\s+|\s+و(?=[{_ARABIC}]))"
LIST = re.compile(rf"(?<![\w'’-]){_NAME}(?:{_SEP}{_NAME}){{2,}}(?![\w'’-])")
_SEP_RE = re.compile(_SEP)


@dataclass(frozen=True, slots=True)
class Shape:
    """The clauses and lists of one field's text, as ranges of its folded text."""

    clauses: tuple[tuple[int, int], ...]  # folded [start, end) of each clause
    asides: tuple[int, ...]  # per clause: folded position from which it is an aside, or -1
    listed: tuple[tuple[int, int], ...]  # folded [start, end) of each name in a list of 3+


def _folded_position(plain: str, index: int) -> int:
    """Where the word starting at ``plain[index]`` starts in ``fold(plain)``."""
    before = fold(plain[:index])
    return len(before) + 1 if before else 0


def shape(plain: str) -> Shape:
    """Clauses, asides and lists of a plain text, in ``fold(plain)`` coordinates."""
    clauses: list[tuple[int, int]] = []
    asides: list[int] = []
    offset = 0
    pieces = [fold(p) for p in _CLAUSE.split(plain)]
    for piece in pieces:
        if not piece:
            continue
        clauses.append((offset, offset + len(piece)))
        padded = f" {piece.casefold()} "
        aside = -1
        if any(k in padded for k in _WHOLE_KEYS):
            aside = offset
        else:
            found = [padded.find(k) for k in _MARKER_KEYS]
            starts = [f for f in found if f >= 0]
            if starts:
                aside = offset + min(starts)
        asides.append(aside)
        offset += len(piece) + 1
    if " ".join(p for p in pieces if p) != fold(plain):
        # Splitting changed the folded text (should not happen): no clause information.
        whole = fold(plain)
        clauses, asides = [(0, len(whole))], [-1]
    listed: list[tuple[int, int]] = []
    for m in LIST.finditer(plain):
        start = m.start()
        for sep in [*_SEP_RE.finditer(plain, m.start(), m.end()), None]:
            end = sep.start() if sep is not None else m.end()
            listed.append((_folded_position(plain, start), _folded_position(plain, end)))
            start = sep.end() if sep is not None else end
    return Shape(tuple(clauses), tuple(asides), tuple(listed))


def mention_salience(field: str, where: Shape, position: int, end: int) -> tuple[float, str]:
    """The salience of the mention at ``[position, end)`` of a field's folded text, and why.

    A mention is in a list when it lies within one name of the list (an alias that spans two
    names, such as "نصرة الإسلام والمسلمين", is not an enumeration).
    """
    score = FIELD_WEIGHT.get(field, FIELD_WEIGHT["summary"])
    why = [field]
    if any(start <= position and end <= stop + 1 for start, stop in where.listed):
        score *= ASIDE_FACTOR
        why.append("in a list of 3+ names")
    for (start, end), aside in zip(where.clauses, where.asides, strict=True):
        if start <= position < end + 1:
            if 0 <= aside <= position:
                score *= ASIDE_FACTOR
                why.append("in a passing clause")
            break
    return round(score, 3), ", ".join(why)
