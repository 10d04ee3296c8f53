"""Build the cross-language meaning lexicon (bot/data/meaning_lexicon.tsv) from the FreeDict
French/Arabic/English dictionaries and the wordfreq frequency lists.

    apt-get install dict-freedict-fra-eng dict-freedict-eng-fra \\
                    dict-freedict-ara-eng dict-freedict-eng-ara
    pip install -e '.[lexicon]'          # wordfreq, snowballstemmer (build time only)
    python -m bench.build_lexicon        # -> bot/data/meaning_lexicon.tsv

Each line of the output maps a word form, as ``bot.core.normalize.normalize`` writes it (case,
accents, Arabic letter variants folded), to the English "meaning keys" it can stand for:
Snowball stems of its English translations ("attaqués" -> attack aggress; "تطرد" -> expel;
"arrested" -> arrest). Two titles in two languages that share keys share meaning.

Which words: the ``--top`` most frequent forms of French, Arabic and English in wordfreq's
general lists (not chosen from any labelled data). A French form is looked up as itself, then
as the lemma its ending suggests (plural, feminine, participle, present: ``tués`` -> ``tuer``);
an Arabic form as itself, then without its proclitics (و ف ب ل ك), article (ال) and common
endings or verb prefixes, in both directions of FreeDict (ara-eng and eng-ara inverted; the
same for French). English forms map to their own stem. Keys that are English function or
very frequent words (wordfreq's top ``--stop`` English words) are dropped, and a form keeps at
most ``--max-keys`` keys (the first senses). Licence: FreeDict's dictionaries are GPL-2.0 or
later, so the output file is too (its header says so; docs/architecture.md).
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from bot.core.meanings import arabic_bases
from bot.core.normalize import normalize

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bot" / "data" / "meaning_lexicon.tsv"
DICTD = Path("/usr/share/dictd")
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_ARABIC = re.compile("[\u0600-\u06ff]")
_PRON = re.compile(r"/[^/]*/")  # the pronunciation after a headword
_POS = re.compile(r"<[^>]*>")  # <n, fem>
_NUMBERED = re.compile(r"^\s*\d+\.\s*")
_PAREN = re.compile(r"\([^)]*\)")


def _num(text: str) -> int:
    n = 0
    for ch in text:
        n = n * 64 + _B64.index(ch)
    return n


def read_dictd(name: str) -> list[tuple[str, list[str]]]:
    """(headword, translations) of one dictd dictionary (``freedict-fra-eng``): the entry's
    first line is the headword (and pronunciation, part of speech), the next ones its senses,
    numbered or not, translations separated by commas."""
    with gzip.open(DICTD / f"{name}.dict.dz") as handle:
        data = handle.read()
    out = []
    for line in (DICTD / f"{name}.index").read_text(encoding="utf-8").splitlines():
        head, off, length = line.split("\t")
        if head.startswith("00"):
            continue
        entry = data[_num(off) : _num(off) + _num(length)].decode("utf-8", "replace")
        lines = entry.strip().splitlines()
        if not lines:
            continue
        headword = _POS.sub("", _PRON.sub("", lines[0])).strip()
        senses = []
        for sense in lines[1:]:
            sense = _PAREN.sub("", _NUMBERED.sub("", sense))
            senses += [s.strip() for s in re.split(r"[,;]", sense) if s.strip()]
        out.append((headword, senses))
    return out


def _single(word: str) -> str | None:
    """The normalised form of a one-word entry, or None for a phrase."""
    norm = normalize(word)
    return norm if norm and " " not in norm else None


def _strip_article(word: str) -> str:
    if _ARABIC.match(word) and len(word) > 4 and word.startswith(("ال", "لل")):
        return word[2:]
    return word


def bilingual(foreign_to_en: str, en_to_foreign: str, arabic: bool) -> dict[str, list[str]]:
    """Foreign headword (normalised; Arabic without its article) -> English one-word
    translations, in sense order, from both directions of FreeDict."""
    table: dict[str, list[str]] = defaultdict(list)
    for head, senses in read_dictd(foreign_to_en):
        foreign = _single(head)
        if foreign is None:
            continue
        if arabic:
            foreign = _strip_article(foreign)
        for sense in senses:
            en = _single(sense)
            if en is not None and en.isascii() and en not in table[foreign]:
                table[foreign].append(en)
    for head, senses in read_dictd(en_to_foreign):
        en = _single(head)
        if en is None or not en.isascii():
            continue
        for sense in senses:
            foreign = _single(sense)
            if foreign is None:
                continue
            if arabic:
                foreign = _strip_article(foreign)
            if en not in table[foreign]:
                table[foreign].append(en)
    return table


def french_lemmas(form: str) -> Iterable[str]:
    """The form, then the lemmas its ending suggests (most likely first)."""
    yield form
    rules = [
        ("ees", ("er", "ee", "e")),
        ("es", ("er", "e", "")),
        ("ee", ("er", "e")),
        ("e", ("er", "")),
        ("s", ("",)),
        ("x", ("",)),
        ("aux", ("al",)),
        ("ent", ("er", "re", "ir")),
        ("ait", ("er",)),
        ("aient", ("er",)),
        ("it", ("ir", "ire", "re")),
        ("is", ("ir", "ire", "re")),
        ("ie", ("ir",)),
        ("ies", ("ir",)),
        ("ons", ("er",)),
        ("ez", ("er",)),
        ("era", ("er",)),
        ("eront", ("er",)),
        ("ale", ("al",)),
        ("ales", ("al",)),
        ("ienne", ("ien",)),
        ("iennes", ("ien",)),
        ("iens", ("ien",)),
        ("aise", ("ais",)),
        ("aises", ("ais",)),
    ]
    for ending, replacements in rules:
        if form.endswith(ending) and len(form) - len(ending) >= 2:
            for rep in replacements:
                if len(form) - len(ending) + len(rep) >= 3:
                    yield form[: -len(ending)] + rep


# English derivational suffixes left by the Snowball stemmer (after its own cuts)
_DERIVATIONS = ("man", "men", "ship", "hood", "ism", "ist", "ian", "ese")


def build(top: int, stop: int, max_keys: int) -> dict[str, list[str]]:
    import snowballstemmer
    from wordfreq import top_n_list, zipf_frequency

    stem = snowballstemmer.stemmer("english").stemWord
    stopkeys = {stem(normalize(w)) for w in top_n_list("en", stop)}
    stopkeys |= {"", "s", "t"}
    # function words of each language (its --stop most frequent forms) are no content word:
    # French "des" is not Spanish "since", "the" is not French "thé"
    stopforms = {normalize(w) for lang in ("en", "fr", "ar") for w in top_n_list(lang, stop)}

    def keys(english: Sequence[str]) -> list[str]:
        # the commonest English words first: "expel" before "centrifuge"
        out: list[str] = []
        for en in sorted(english, key=lambda w: -zipf_frequency(w, "en")):
            if not en.isalpha():
                continue
            k = base(stem(en))
            if len(k) >= 3 and k not in stopkeys and k not in out:
                out.append(k)
            if len(out) >= max_keys:
                break
        return out

    def base(key: str) -> str:
        # an English derivation to its base when the base is a word too (frenchman -> french,
        # expulsion/expuls stays): Snowball leaves such suffixes
        for suffix in _DERIVATIONS:
            if key.endswith(suffix) and len(key) - len(suffix) >= 4:
                head = key[: -len(suffix)]
                if head in english_keys:
                    return head
        return key

    english_keys = {stem(normalize(w)) for w in top_n_list("en", top)}
    lexicon: dict[str, list[str]] = {}
    for word in top_n_list("en", top):
        form = _single(word)
        if form and form.isalpha() and form.isascii() and form not in stopforms:
            k = keys([form])
            if k:
                lexicon[form] = k
    for lang, to_en, from_en, lemmas in (
        ("fr", "freedict-fra-eng", "freedict-eng-fra", french_lemmas),
        ("ar", "freedict-ara-eng", "freedict-eng-ara", arabic_bases),
    ):
        table = bilingual(to_en, from_en, arabic=lang == "ar")
        for word in top_n_list(lang, top):
            form = _single(word)
            if not form or not form.isalpha() or len(form) < 3 or form in stopforms:
                continue
            for lemma in lemmas(form):
                translations = table.get(lemma)
                if translations:
                    k = keys(translations)
                    if k:
                        if lemma not in stopforms:
                            lexicon.setdefault(lemma, k)
                        # a Latin form that is also an English word keeps its English key first
                        lexicon[form] = list(dict.fromkeys([*lexicon.get(form, []), *k]))[
                            : max_keys + 1
                        ]
                    break
    return lexicon


HEADER = """\
# Cross-language meaning lexicon for story grouping (bot/core/meanings.py): a word form
# (normalised: case, accents and Arabic letter variants folded) -> the English meaning keys
# (Snowball stems of its translations) it can stand for. Built by bench/build_lexicon.py
# (--top {top} --stop {stop} --max-keys {max_keys}); do not edit by hand, rebuild.
#
# Derived from the FreeDict dictionaries fra-eng, eng-fra, ara-eng and eng-ara (Debian
# packages dict-freedict-*, version 2022.04.21; https://freedict.org; fra-eng by Horst
# Eyermann, John Darrington and the FreeDict contributors; ara-eng from the Arabeyes.org
# word list; Copyright 1999-2022 the FreeDict contributors), which are licensed under the
# GNU General Public License, version 2 or (at your option) any later version. This file is
# therefore distributed under the GNU General Public License, version 2 or later, not under
# the MIT licence of the rest of newswatch; see docs/architecture.md ("Data files and their
# licences"). Words were selected by frequency with wordfreq's general lists (top_n_list).
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--top", type=int, default=20000, help="forms per language")
    parser.add_argument("--stop", type=int, default=150, help="top English words as stop keys")
    parser.add_argument("--max-keys", type=int, default=4)
    args = parser.parse_args(argv)
    lexicon = build(args.top, args.stop, args.max_keys)
    lines = [HEADER.format(top=args.top, stop=args.stop, max_keys=args.max_keys)]
    lines += [f"{form}\t{' '.join(keys)}\n" for form, keys in sorted(lexicon.items())]
    args.out.write_text("".join(lines), encoding="utf-8")
    by_script = sum(1 for f in lexicon if _ARABIC.match(f))
    print(
        f"wrote {args.out}: {len(lexicon)} forms ({by_script} Arabic),"
        f" {args.out.stat().st_size // 1024} KB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
