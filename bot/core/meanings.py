"""Meaning keys of title words across English, French and Arabic, for story grouping.

Titles of one event in three languages share meaning but few characters: "Mali expels French
envoy" / "Le Mali expulse l'ambassadeur de France" / "مالي تطرد السفير الفرنسي". A
``MeaningLexicon`` maps each word form (``normalize``d) to English meaning keys (stems of its
translations: ``ambassadeur`` and ``السفير`` -> ``ambassador``), so that two titles can be
compared word by word whatever their language (``shared_meanings``). The table is parsed from
``bot/data/meaning_lexicon.tsv`` (built from the FreeDict dictionaries by
``bench/build_lexicon.py``, read by the adapter ``bot/data/meaning_file.py``). Pure: no I/O.

A form missing from the table is looked up again without what grammar adds: for Arabic the
proclitics و ف ب ل ك, the article ال / لل, a verb prefix (ت ي ن ا) or a common ending
(ات ون ين ه ها هم ي); for Latin script a plural -s / -x. A function word has a line of its
own that says it means nothing (``-``), so that the fallback does not read another word in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from bot.core.errors import MeaningLexiconError
from bot.core.normalize import fold, normalize

__all__ = [
    "NO_MEANING",
    "MeaningLexicon",
    "MeaningLexiconError",
    "arabic_bases",
    "parse_meanings",
    "shared_meanings",
]

_PROCLITICS = "وفبلك"
_SUFFIXES = ("ات", "ون", "ين", "ان", "ه", "ها", "هم", "ي", "يه", "يون", "يين")
_VERB_PREFIXES = ("ي", "ت", "ن", "ا", "است", "سي", "ست")
# A word whose keys are this many or more says little (a form of many unrelated senses).
MAX_KEYS = 8
# The keys of a form that means nothing (a function word): its line blocks the grammar
# fallback, which would otherwise find another word in it (الذي -> لذي "tasty").
NO_MEANING = "-"
_NONE: frozenset[str] = frozenset()
_PLAIN = re.compile(r"[a-z]+")
_KEYS = re.compile(r"[a-z]+(?: [a-z]+)*")


def _is_arabic(word: str) -> bool:
    return "\u0600" <= word[:1] <= "\u06ff"


def arabic_bases(form: str) -> list[str]:
    """An Arabic word form, then the forms without its proclitics and article, then those
    without an ending or a verb prefix (most likely first; each at least 2 letters)."""
    seen: list[str] = []

    def add(w: str) -> None:
        if len(w) >= 2 and w not in seen:
            seen.append(w)

    stems = [form]
    w = form
    while len(w) > 3 and w[0] in _PROCLITICS and len(stems) < 3:
        w = w[1:]
        stems.append(w)
    for s in list(stems):
        if len(s) > 4 and s.startswith(("ال", "لل")):
            stems.append(s[2:])
    for s in stems:
        add(s)
    for s in stems:
        for suf in _SUFFIXES:
            if s.endswith(suf) and len(s) - len(suf) >= 3:
                add(s[: -len(suf)])
        for pre in _VERB_PREFIXES:
            if s.startswith(pre) and len(s) - len(pre) >= 3:
                add(s[len(pre) :])
    return seen


class MeaningLexicon:
    """Word form -> English meaning keys; calling it on a text gives the key sets of its
    words found in the table (one set per word, in text order, repeated words once).

    ``table`` maps each form to its keys as one space-separated string ("" for a function
    word), one string object for all the forms that share a key list. The key set of such a
    string is made the first time a lookup returns it, then kept and returned again (at most
    one set per distinct key list of the file, in practice those of the words the titles
    use). Parsed into sets, the shipped table took 11 MB of the process (20,000 frozensets
    of 220 bytes or more); the strings take about a third of it.
    """

    __slots__ = ("_sets", "table")

    def __init__(self, table: Mapping[str, str]) -> None:
        self.table = table
        self._sets: dict[str, frozenset[str]] = {"": frozenset()}

    def __len__(self) -> int:
        return len(self.table)

    def _keys(self, line: str) -> frozenset[str]:
        found = self._sets.get(line)
        if found is None:
            found = self._sets[line] = frozenset(line.split(" "))
        return found

    def keys_of(self, word: str) -> frozenset[str]:
        """The meaning keys of one normalised word (empty: not in the table)."""
        table = self.table
        hit = table.get(word)
        if hit is None:
            if _is_arabic(word):
                for base in arabic_bases(word)[1:]:
                    hit = table.get(base)
                    if hit is not None:
                        break
            elif len(word) > 4 and word[-1] in "sx":
                hit = table.get(word[:-1])
        return _NONE if hit is None else self._keys(hit)

    def __call__(self, text: str, drop: Iterable[str] = ()) -> tuple[frozenset[str], ...]:
        """Key sets of the words of ``text``, but for words with a key in ``drop`` (the
        anchors' words: "Mali" is compared as an entity, not as a meaning)."""
        dropped = frozenset(drop)
        out: list[frozenset[str]] = []
        seen: set[str] = set()
        for word in normalize(text).split():
            if word in seen or word.isdecimal():
                continue
            seen.add(word)
            keys = self.keys_of(word)
            if keys and not keys.isdisjoint(dropped):
                continue  # the anchor's own word (مالي is "Mali", not "financial")
            if keys and keys not in out:
                out.append(keys)
        return tuple(out)


def shared_meanings(a: tuple[frozenset[str], ...], b: tuple[frozenset[str], ...]) -> int:
    """Words of one title whose meaning one word of the other has: the smaller of the two
    directions' counts (so one polysemous word does not count for many)."""
    if not a or not b:
        return 0
    all_a = frozenset().union(*a)
    all_b = frozenset().union(*b)
    return min(
        sum(1 for keys in a if not keys.isdisjoint(all_b)),
        sum(1 for keys in b if not keys.isdisjoint(all_a)),
    )


def parse_meanings(text: str, where: str = "meaning_lexicon.tsv") -> MeaningLexicon:
    """A MeaningLexicon from the text of the data file: ``#`` comment lines, then one
    ``form<TAB>key key ...`` line per form (forms normalised, keys lower-case ASCII), or
    ``form<TAB>-`` for a form that means nothing (a function word)."""
    table: dict[str, str] = {}
    shared: dict[str, str] = {}  # the file's key list -> its one stored string
    for n, line in enumerate(_lines(text), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        form, tab, rest = line.partition("\t")
        if not tab or not form or not rest.strip():
            raise MeaningLexiconError(f"{where}:{n}: expected 'form<TAB>keys', got {line[:60]!r}")
        # a lower-case ASCII word is normalised already; others are folded to check (fold, not
        # normalize: 40,000 forms would only churn normalize's small cache of titles)
        if not _PLAIN.fullmatch(form) and (fold(form).casefold() != form or " " in form):
            raise MeaningLexiconError(f"{where}:{n}: form {form[:40]!r} is not one normalised word")
        known = shared.get(rest)
        if known is None:  # each distinct key list is checked once
            keys = rest.split()
            if keys == [NO_MEANING]:
                keys = []  # a function word: no meaning, and no fallback to another word's
            known = " ".join(keys)
            if keys and not _KEYS.fullmatch(known):
                raise MeaningLexiconError(f"{where}:{n}: keys must be lower-case English stems")
            if len(keys) > MAX_KEYS:
                raise MeaningLexiconError(f"{where}:{n}: at most {MAX_KEYS} keys a form")
            shared[rest] = known
        if form in table:
            raise MeaningLexiconError(f"{where}:{n}: {form!r} given twice")
        table[form] = known
    if not table:
        raise MeaningLexiconError(f"{where}: no entries")
    return MeaningLexicon(table)


def _lines(text: str) -> Iterator[str]:
    """``text.splitlines()``, 64 KB of text at a time: the list of all 42,000 lines at once
    left 4 MB of holes in the process's heap once it was freed."""
    start, end = 0, len(text)
    while start < end:
        stop = text.find("\n", start + 65536)  # cut after a line feed: never inside "\r\n"
        stop = end if stop < 0 else stop + 1
        yield from text[start:stop].splitlines()
        start = stop
