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

import bisect
import re
from dataclasses import dataclass

from bot.core.normalize import fold, normalize

# A mention in the title is the story; in the summary it may be background.
FIELD_WEIGHT = {"title": 1.0, "summary": 0.6}
# Each of "in a list of 3+ names" and "in a passing clause" halves the weight.
ASIDE_FACTOR = 0.5
DEFAULT_MIN_SALIENCE = 0.5
# Only the start of a field is read for its shape (a summary is a few sentences; a hostile one
# may be megabytes): a mention further on gets its field's weight alone.
SHAPE_LIMIT = 4000

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
# Searched in " " + folded text + " ": a marker between spaces; its match starts at the space
# before it, which is the marker's own position in the folded text.
_MARKERS = re.compile(
    " (?=(?:" + "|".join(re.escape(normalize(m)) for m in PASSING_MARKERS) + ") )"
)
_WHOLE = re.compile(" (?=(?:" + "|".join(re.escape(normalize(m)) for m in _WHOLE_CLAUSE) + ") )")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")

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
_CONJUNCTION = re.compile(rf"\s{_AND}\s|\sو")


@dataclass(frozen=True, slots=True)
class Shape:
    """The clauses and lists of one field's text, as ranges of its folded text."""

    clauses: tuple[tuple[int, int], ...]  # folded [start, end) of each clause
    asides: tuple[int, ...]  # per clause: folded position from which it is an aside, or -1
    listed: tuple[tuple[int, int], ...]  # folded [start, end) of each name in a list of 3+
    analysed: int = 0  # folded length read (the text is cut at SHAPE_LIMIT characters)


def _folded_positions(plain: str, indices: list[int]) -> dict[int, int]:
    """Where the word starting at each ``plain[index]`` starts in ``fold(plain)``.

    Indices must sit between words (never inside one); the text is folded once, piece by
    piece, so this is linear in the length of ``plain``.
    """
    out: dict[int, int] = {}
    length, previous = 0, 0
    for index in sorted(set(indices)):
        piece = fold(plain[previous:index])
        if piece:
            length += len(piece) + (1 if length else 0)
        out[index] = length + 1 if length else 0
        previous = index
    return out


def _word_positions(plain: str) -> tuple[list[int], list[int], int] | None:
    """For ASCII text: the plain start and folded start of every word, and the folded end + 1."""
    if not plain.isascii():
        return None
    starts, folded, length = [], [], 0
    for m in _ASCII_WORD.finditer(plain):
        starts.append(m.start())
        folded.append(length)
        length += m.end() - m.start() + 1
    return starts, folded, length


def may_be_aside(plain: str, padded: str = "") -> bool:
    """False when the text has no list separators nor aside markers: its shape is plain.

    A cheap look before ``shape``: most headlines have neither. ``padded`` is the text already
    normalised and padded with spaces (`` " " + normalize(plain) + " " ``), when at hand.
    """
    if plain.count(",") + plain.count("،") + len(_CONJUNCTION.findall(plain)) >= 2:
        return True
    return _MARKERS.search(padded or f" {normalize(plain)} ") is not None


def shape(plain: str) -> Shape:
    """Clauses, asides and lists of a plain text, in ``fold(plain)`` coordinates."""
    if len(plain) > SHAPE_LIMIT:
        cut = plain.rfind(" ", 0, SHAPE_LIMIT)
        plain = plain[: cut if cut > 0 else SHAPE_LIMIT]
    whole = fold(plain)
    bounds = [0]
    for m in _CLAUSE.finditer(plain):
        bounds.extend((m.start(), m.end()))
    bounds.append(len(plain))
    names: list[tuple[int, int]] = []  # plain [start, end) of each name of each list
    if plain.count(",") + plain.count("،") + len(_CONJUNCTION.findall(plain)) >= 2:
        for m in LIST.finditer(plain):
            start = m.start()
            for sep in [*_SEP_RE.finditer(plain, m.start(), m.end()), None]:
                end = sep.start() if sep is not None else m.end()
                names.append((start, end))
                if sep is not None:
                    # an Arabic "و" glued to the next name belongs to that word
                    start = sep.end() - 1 if sep.group().endswith("و") else sep.end()
    indices = bounds + [i for span in names for i in span]
    words = _word_positions(plain)
    if words is not None:  # ASCII: one pass over the words
        starts, folded, length = words
        where = {}
        for index in indices:
            k = bisect.bisect_left(starts, index)
            where[index] = folded[k] if k < len(folded) else length
    else:
        where = _folded_positions(plain, indices)
    clauses: list[tuple[int, int]] = []
    for a, b in zip(bounds[::2], bounds[1::2], strict=True):
        start, stop = where[a], where[b] - 1
        if start < stop:
            clauses.append((start, stop))
    padded = f" {whole.casefold()} "
    markers = [m.start() for m in _MARKERS.finditer(padded)]  # folded position of each marker
    wholes = [m.start() for m in _WHOLE.finditer(padded)]
    asides = []
    for start, stop in clauses:
        if any(start <= w <= stop for w in wholes):
            asides.append(start)
        else:
            inside = [m for m in markers if start <= m <= stop]
            asides.append(min(inside) if inside else -1)
    listed = tuple((where[a], where[b]) for a, b in names)
    return Shape(tuple(clauses), tuple(asides), listed, len(whole))


def mention_salience(field: str, where: Shape, position: int, end: int) -> tuple[float, str]:
    """The salience of the mention at ``[position, end)`` of a field's folded text, and why.

    A mention is in a list when it lies within one name of the list (an alias that spans two
    names, such as "نصرة الإسلام والمسلمين", is not an enumeration).
    """
    score = FIELD_WEIGHT.get(field, FIELD_WEIGHT["summary"])
    why = [field]
    if position >= where.analysed:
        return score, field  # beyond the part read: the field's weight alone
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
