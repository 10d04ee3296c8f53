"""Build the cross-language meaning lexicon (bot/data/meaning_lexicon.tsv) from the FreeDict
French/Arabic/English dictionaries and the wordfreq frequency lists.

    apt-get install dict-freedict-fra-eng dict-freedict-eng-fra \\
                    dict-freedict-ara-eng dict-freedict-eng-ara wordnet-base
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
most ``--max-keys`` keys (the first senses).

Synonyms (``--synsets``, needs Debian's ``wordnet-base``): translations of one meaning often
differ ("apprehend" for اعتقال, "arrest" for *arrestation*). Each of a form's first translations
also gives the key of each of its frequent WordNet senses (the first ``--senses`` senses of a
noun or verb, the second and later only when WordNet's tagged corpora saw them; the first of an
adjective or adverb), at most ``--synsets`` such keys a form. A sense's key is the stem of its
commonest lemma among those whose first sense it is (the sense "take into custody" of
arrest/collar/nab/apprehend is ``arrest``), so it meets the plain key of that word.

Function words (the ``--stop`` most frequent forms of each language) are left out; one in
which the reader's grammar fallback would find another word (الذي -> لذي "tasty") is written
with the key ``-`` (no meaning). Variants measured and not kept (docs/dedup.md): French through
Apertium's fr-es and spa-eng dictionaries (``--apertium``, Debian apertium-fr-es and
apertium-eng-spa, GPL-2), WordNet's derivation and pertainym links (``--families``), fewer
senses for English forms (``--english-senses``), no sense key among frequent English words
(``--synset-stop``).

Licence: FreeDict's dictionaries are GPL-2.0 or later, so the output file is too (its header
says so; docs/architecture.md); WordNet's licence is permissive and asks for its notice, which
the header carries.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from bot.core.meanings import MAX_KEYS, NO_MEANING, MeaningLexicon, arabic_bases
from bot.core.normalize import normalize

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bot" / "data" / "meaning_lexicon.tsv"
DICTD = Path("/usr/share/dictd")
WORDNET = Path("/usr/share/wordnet")  # Debian wordnet-base (WordNet 3.0)
APERTIUM = Path("/usr/share/apertium")  # Debian apertium-fr-es, apertium-eng-spa
_UNIT = re.compile(r"\^(.*?)\$")
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


_WN_POS = (("noun", "n"), ("verb", "v"), ("adj", "a"), ("adv", "r"))
# WordNet's detachment rules (morphy): an inflected English form -> its lemma
_MORPHY = {
    "n": (
        ("s", ""),
        ("ses", "s"),
        ("xes", "x"),
        ("zes", "z"),
        ("ches", "ch"),
        ("shes", "sh"),
        ("men", "man"),
        ("ies", "y"),
    ),
    "v": (
        ("s", ""),
        ("ies", "y"),
        ("es", "e"),
        ("es", ""),
        ("ed", "e"),
        ("ed", ""),
        ("ing", "e"),
        ("ing", ""),
    ),
    "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "r": (),
}


class WordNet:
    """The senses of English words in WordNet's database files (index.*, data.*, *.exc):
    for each lemma and part of speech, its synsets in WordNet's sense order (most frequent in
    the tagged corpora first) and how many of them were seen tagged."""

    def __init__(self, root: Path = WORDNET) -> None:
        self.senses: dict[tuple[str, str], tuple[list[str], int]] = {}
        self.lemmas: dict[str, list[str]] = {}  # synset id -> its one-word lemmas
        self.exceptions: dict[tuple[str, str], str] = {}
        self.family: dict[str, str] = {}  # synset -> the related synset whose key it takes
        for name, pos in _WN_POS:
            for line in (root / f"index.{name}").read_text(encoding="latin-1").splitlines():
                if not line.strip() or line.startswith(" "):
                    continue
                f = line.split()
                count, pointers = int(f[2]), int(f[3])
                tagged = int(f[5 + pointers])
                offsets = f[6 + pointers : 6 + pointers + count]
                self.senses[(f[0], pos)] = ([f"{pos}{o}" for o in offsets], tagged)
            for line in (root / f"data.{name}").read_text(encoding="latin-1").splitlines():
                if not line.strip() or line.startswith(" "):
                    continue
                f = line.split()
                count = int(f[3], 16)
                words = [f[4 + 2 * i].split("(")[0].lower() for i in range(count)]
                synset = f"{pos}{f[0]}"
                self.lemmas[synset] = [w for w in words if w.isalpha()]
                at = 4 + 2 * count
                for n in range(int(f[at])):
                    symbol, offset, target = f[at + 1 + 4 * n : at + 4 + 4 * n]
                    # an adjective's noun ("French" pertains to France), a noun's verb
                    # (expulsion, the act of expelling): one family, one key
                    if (pos in "as" and symbol == "\\" and target == "n") or (
                        pos == "n" and symbol == "+" and target == "v"
                    ):
                        self.family.setdefault(synset, f"{target}{offset}")
            for line in (root / f"{name}.exc").read_text(encoding="latin-1").splitlines():
                f = line.split()
                if len(f) >= 2:
                    self.exceptions.setdefault((f[0], pos), f[1])

    def lemma(self, word: str, pos: str) -> str | None:
        """The lemma of an English form for one part of speech (WordNet's morphy), or None."""
        if (word, pos) in self.senses:
            return word
        base = self.exceptions.get((word, pos))
        if base and (base, pos) in self.senses:
            return base
        for ending, rep in _MORPHY[pos]:
            if word.endswith(ending) and len(word) > len(ending) + 1:
                cand = word[: -len(ending)] + rep
                if (cand, pos) in self.senses:
                    return cand
        return None

    def synsets(self, word: str, per_pos: dict[str, int]) -> list[str]:
        """The most frequent senses of a word: per part of speech its first ``per_pos[pos]``
        synsets, the second and later only when seen tagged (senses beyond the tagged ones
        have no frequency evidence); nouns and verbs interleaved by rank."""
        ranked: list[tuple[int, str]] = []
        for _name, pos in _WN_POS:
            lemma = self.lemma(word, pos)
            if lemma is None:
                continue
            offsets, tagged = self.senses[(lemma, pos)]
            for rank, synset in enumerate(offsets[: per_pos.get(pos, 0)]):
                if rank == 0 or rank < tagged:
                    ranked.append((rank, synset))
        return [s for _r, s in sorted(ranked, key=lambda t: t[0])]


def _lt_proc(transducer: Path, lines: Sequence[str], bilingual: bool) -> list[str]:
    """Apertium's lttoolbox on one unit a line: the analyser (``-w``) or a bilingual
    dictionary (``-b``); the output line of each input line."""
    import subprocess

    flag = "-b" if bilingual else "-w"
    done = subprocess.run(
        ["lt-proc", flag, str(transducer)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split("\n")[: len(lines)]


def _alternatives(unit: str) -> list[str]:
    """The outputs of one ``^input/out1/out2$`` unit (``/`` escaped as ``\\/`` is kept)."""
    parts = re.split(r"(?<!\\)/", unit)
    return [p.replace("\\/", "/") for p in parts[1:]]


def apertium_french(forms: Sequence[str], root: Path = APERTIUM) -> dict[str, list[str]]:
    """French form -> English one-word translations through Apertium's French-Spanish and
    Spanish-English pairs: the French analyser gives the form's lemmas (``expulse`` ->
    ``expulser<vblex>``), fr-es their Spanish (``expulsar``), spa-eng its English
    (``expel``, ``eject``). Machine-translation dictionaries: one or two translations a word."""
    fr_es, es_en = root / "apertium-fr-es", root / "apertium-eng-spa"
    analysed = _lt_proc(fr_es / "fr-es.automorf.bin", forms, bilingual=False)
    lemmas: dict[str, list[str]] = {}
    for form, line in zip(forms, analysed, strict=True):
        units = _UNIT.findall(line)
        if len(units) != 1:
            continue  # the form split into several words, or none
        lemmas[form] = [a for a in _alternatives(units[0]) if not a.startswith("*")]
    french = sorted({a for alts in lemmas.values() for a in alts})
    spanish: dict[str, list[str]] = {}
    for analysis, line in zip(
        french, _lt_proc(fr_es / "fr-es.autobil.bin", [f"^{a}$" for a in french], True), strict=True
    ):
        units = _UNIT.findall(line)
        spanish[analysis] = (
            [a for a in _alternatives(units[0]) if a[:1] not in "@*#"] if units else []
        )
    wanted = sorted({a for alts in spanish.values() for a in alts})
    english: dict[str, list[str]] = {}
    for analysis, line in zip(
        wanted,
        _lt_proc(es_en / "spa-eng.autobil.bin", [f"^{a}$" for a in wanted], True),
        strict=True,
    ):
        units = _UNIT.findall(line)
        english[analysis] = (
            [a for a in _alternatives(units[0]) if a[:1] not in "@*#"] if units else []
        )
    out: dict[str, list[str]] = {}
    for form, alts in lemmas.items():
        words: list[str] = []
        for analysis in alts:
            for es in spanish.get(analysis, []):
                for en in english.get(es, []):
                    word = en.split("<")[0].lower()
                    if word.isalpha() and word.isascii() and word not in words:
                        words.append(word)
        if words:
            out[form] = words
    return out


# English derivational suffixes left by the Snowball stemmer (after its own cuts)
_DERIVATIONS = ("man", "men", "ship", "hood", "ism", "ist", "ian", "ese")


def build(
    top: int,
    stop: int,
    max_keys: int,
    synsets: int = 0,
    senses: int = 2,
    apertium: str = "off",
    families: bool = False,
    english_senses: int = 2,
    block: bool = True,
    synset_top: int = 0,
) -> dict[str, list[str]]:
    import snowballstemmer
    from wordfreq import top_n_list, zipf_frequency

    stem = snowballstemmer.stemmer("english").stemWord
    stopkeys = {stem(normalize(w)) for w in top_n_list("en", stop)}
    stopkeys |= {"", "s", "t"}
    # function words of each language (its --stop most frequent forms) are no content word:
    # French "des" is not Spanish "since", "the" is not French "thé"
    stopforms = {normalize(w) for lang in ("en", "fr", "ar") for w in top_n_list(lang, stop)}

    def keys(english: Sequence[str], own: bool = False) -> list[str]:
        # the commonest English words first: "expel" before "centrifuge"
        out: list[str] = []
        ordered = sorted(english, key=lambda w: -zipf_frequency(w, "en"))
        for en in ordered:
            if not en.isalpha():
                continue
            k = base(stem(en))
            if len(k) >= 3 and k not in stopkeys and k not in out:
                out.append(k)
            if len(out) >= max_keys:
                break
        if wordnet is not None and out:
            # synonyms: the key of each frequent sense of the first translations, so that
            # "apprehend" and "arrest" meet in their common sense (arrest)
            extra: list[str] = []
            for en in [w for w in ordered if w.isalpha()][:max_keys]:
                for synset in wordnet.synsets(en, own_pos if own else per_pos):
                    key = synset_key(synset)
                    if key and key not in out and key not in extra:
                        extra.append(key)
            out += extra[:synsets]
        return out

    wordnet = WordNet() if synsets else None
    # a sense key that is a very frequent English word joins too much (attack's sense "round")
    synset_stop = stopkeys | {stem(normalize(w)) for w in top_n_list("en", synset_top)}
    per_pos = {"n": senses, "v": senses, "a": 1, "r": 1}
    # an English form's own senses (its translations' senses: per_pos)
    own_pos = {"n": english_senses, "v": english_senses, "a": 1, "r": 1}
    canon: dict[str, str | None] = {}

    def synset_key(synset: str) -> str | None:
        # one key per sense: the stem of its commonest lemma among those whose first sense it
        # is (the sense of arrest/collar/nab/apprehend is "arrest"); stop keys say nothing
        if synset in canon:
            return canon[synset]
        assert wordnet is not None
        if families and synset in wordnet.family:
            canon[synset] = synset_key(wordnet.family[synset])
            return canon[synset]
        pos = synset[0]
        lemmas = wordnet.lemmas.get(synset, [])
        first = [w for w in lemmas if wordnet.senses[(w, pos)][0][:1] == [synset]]
        pick = max(first or lemmas, key=lambda w: zipf_frequency(w, "en"), default=None)
        k = base(stem(pick)) if pick else None
        canon[synset] = k if k and len(k) >= 3 and k not in synset_stop else None
        return canon[synset]

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
            k = keys([form], own=True)
            if k:
                lexicon[form] = k
    for lang, to_en, from_en, lemmas in (
        ("fr", "freedict-fra-eng", "freedict-eng-fra", french_lemmas),
        ("ar", "freedict-ara-eng", "freedict-eng-ara", arabic_bases),
    ):
        table = bilingual(to_en, from_en, arabic=lang == "ar")
        words = top_n_list(lang, top)
        pivot = apertium_french(words) if lang == "fr" and apertium != "off" else {}
        for word in words:
            form = _single(word)
            if not form or not form.isalpha() or len(form) < 3 or form in stopforms:
                continue
            found: list[str] = []
            for lemma in lemmas(form):
                if table.get(lemma):
                    found = table[lemma]
                    k = keys(found)
                    if k and lemma not in stopforms:
                        lexicon.setdefault(lemma, k)
                    break
            more = [] if apertium == "fallback" and found else pivot.get(word, [])
            k = keys([*found, *(w for w in more if w not in found)])
            if k:
                # a Latin form that is also an English word keeps its English key first
                lexicon[form] = list(dict.fromkeys([*lexicon.get(form, []), *k]))[:MAX_KEYS]
    if block:
        # a function word must mean nothing: without a line of its own, the reader's grammar
        # fallback would give it another word's meaning (الذي -> لذي "tasty", التي -> "alt")
        reader = MeaningLexicon({f: " ".join(k) for f, k in lexicon.items()})
        for form in sorted(stopforms):
            if form and " " not in form and form not in lexicon and reader.keys_of(form):
                lexicon[form] = []
    return lexicon


HEADER = """\
# Cross-language meaning lexicon for story grouping (bot/core/meanings.py): a word form
# (normalised: case, accents and Arabic letter variants folded) -> the English meaning keys
# (Snowball stems of its translations) it can stand for. Built by bench/build_lexicon.py
# (--top {top} --stop {stop} --max-keys {max_keys} --synsets {synsets} --senses {senses});
# do not edit by hand, rebuild.
#
# Derived from the FreeDict dictionaries fra-eng, eng-fra, ara-eng and eng-ara (Debian
# packages dict-freedict-*, version 2022.04.21; https://freedict.org; fra-eng by Horst
# Eyermann, John Darrington and the FreeDict contributors; ara-eng from the Arabeyes.org
# word list; Copyright 1999-2022 the FreeDict contributors), which are licensed under the
# GNU General Public License, version 2 or (at your option) any later version. This file is
# therefore distributed under the GNU General Public License, version 2 or later, not under
# the MIT licence of the rest of newswatch; see docs/architecture.md ("Data files and their
# licences"). Words were selected by frequency with wordfreq's general lists (top_n_list).
#
# Synonym keys (one key per frequent sense of a translation, so that "apprehend" and "arrest"
# meet) come from WordNet 3.0 (Debian package wordnet-base), under the WordNet 3.0 licence:
#   WordNet 3.0 Copyright 2006 by Princeton University.  All rights reserved.
#   THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO
#   REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED.  BY WAY OF EXAMPLE, BUT NOT LIMITATION,
#   PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANTABILITY OR FITNESS
#   FOR ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE, DATABASE OR
#   DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER
#   RIGHTS.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--top", type=int, default=20000, help="forms per language")
    parser.add_argument("--stop", type=int, default=150, help="top English words as stop keys")
    parser.add_argument("--max-keys", type=int, default=4)
    parser.add_argument(
        "--synsets", type=int, default=2, help="WordNet sense keys a form (0: no synonyms)"
    )
    parser.add_argument("--senses", type=int, default=2, help="senses of a noun or verb")
    parser.add_argument("--no-block", action="store_true", help="no '-' lines for function words")
    parser.add_argument(
        "--synset-stop",
        type=int,
        default=0,
        help="no sense key among the N most frequent English words",
    )
    parser.add_argument(
        "--english-senses", type=int, default=2, help="senses of an English noun or verb"
    )
    parser.add_argument(
        "--families",
        action="store_true",
        help="a noun sense takes its verb's key, an adjective its noun's (WordNet's links)",
    )
    parser.add_argument(
        "--apertium",
        choices=("off", "fallback", "union"),
        default="off",
        help="French translations through Apertium fr-es + spa-eng: none, only for forms"
        " FreeDict lacks, or added to FreeDict's",
    )
    args = parser.parse_args(argv)
    lexicon = build(
        args.top,
        args.stop,
        args.max_keys,
        args.synsets,
        args.senses,
        args.apertium,
        args.families,
        args.english_senses,
        not args.no_block,
        args.synset_stop,
    )
    lines = [
        HEADER.format(
            top=args.top,
            stop=args.stop,
            max_keys=args.max_keys,
            synsets=args.synsets,
            senses=args.senses,
        )
    ]
    lines += [f"{form}\t{' '.join(keys) or NO_MEANING}\n" for form, keys in sorted(lexicon.items())]
    args.out.write_text("".join(lines), encoding="utf-8")
    by_script = sum(1 for f in lexicon if _ARABIC.match(f))
    print(
        f"wrote {args.out}: {len(lexicon)} forms ({by_script} Arabic),"
        f" {args.out.stat().st_size // 1024} KB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
