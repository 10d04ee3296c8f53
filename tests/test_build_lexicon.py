"""bench/build_lexicon.py's WordNet reader: senses in WordNet's order, only the frequent ones,
inflected English forms found by WordNet's detachment rules, on a small database written here
(the real one, Debian's wordnet-base, is needed only to rebuild the lexicon)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.build_lexicon import WordNet

# index: lemma pos synset_cnt p_cnt [ptr...] sense_cnt tagsense_cnt offsets (frequent first)
INDEX = {
    "noun": [
        "  1 license header line",
        "arrest n 2 1 @ 2 1 00000001 00000002",
        "envoy n 1 0 1 0 00000003",
    ],
    "verb": [
        "apprehend v 2 0 2 2 00000011 00000012",
        "arrest v 2 0 2 2 00000012 00000013",
        "nab v 2 0 2 0 00000014 00000012",
        "grok v 1 0 1 1 00000011",
    ],
    "adj": ["dead a 2 0 2 2 00000021 00000022"],
    "adv": [],
}
# data: offset lex_filenum ss_type w_cnt(hex) word lex_id ... | gloss
DATA = {
    "noun": [
        "00000001 04 n 02 arrest 0 apprehension 0 000 | taking into custody",
        "00000002 04 n 02 arrest 0 halt 0 000 | a stop",
        "00000003 18 n 01 envoy 0 000 | a diplomat",
    ],
    "verb": [
        "00000011 31 v 02 grok 0 apprehend 0 000 | understand",
        "00000012 41 v 04 arrest 0 collar 0 nab 0 pick_up 0 000 | take into custody",
        "00000013 30 v 01 arrest 0 000 | stop",
        "00000014 35 v 01 nab 0 000 | seize",
    ],
    "adj": [
        "00000021 00 s 01 dead 0 000 | no longer alive",
        "00000022 00 s 01 dead 0 000 | lacking power",
    ],
    "adv": [],
}


@pytest.fixture
def wordnet(tmp_path: Path) -> WordNet:
    for name in ("noun", "verb", "adj", "adv"):
        (tmp_path / f"index.{name}").write_text("\n".join(INDEX[name]) + "\n", encoding="latin-1")
        (tmp_path / f"data.{name}").write_text("\n".join(DATA[name]) + "\n", encoding="latin-1")
        (tmp_path / f"{name}.exc").write_text("", encoding="latin-1")
    (tmp_path / "verb.exc").write_text("caught catch\n", encoding="latin-1")
    return WordNet(tmp_path)


def test_lemmas_of_a_sense(wordnet: WordNet) -> None:
    # one-word lemmas only: "pick_up" is a phrase
    assert wordnet.lemmas["v00000012"] == ["arrest", "collar", "nab"]


@pytest.mark.parametrize(
    ("word", "pos", "lemma"),
    [
        ("arrested", "v", "arrest"),  # -ed
        ("arrests", "n", "arrest"),  # plural
        ("apprehending", "v", "apprehend"),  # -ing, then the -e restored
        ("envoys", "n", "envoy"),
        ("envoy", "v", None),  # no such verb
        ("xyz", "n", None),
    ],
)
def test_lemma(wordnet: WordNet, word: str, pos: str, lemma: str | None) -> None:
    assert wordnet.lemma(word, pos) == lemma


@pytest.mark.parametrize(
    ("word", "senses"),
    [
        # two senses of a noun or verb, by rank across parts of speech; the noun's second
        # sense was never seen tagged (tagsense_cnt 1)
        ("arrest", ["n00000001", "v00000012", "v00000013"]),
        # apprehend's second sense is arrest's first: they meet there
        ("apprehend", ["v00000011", "v00000012"]),
        # a second sense never seen tagged is left out (tagsense_cnt 0)
        ("nab", ["v00000014"]),
        # adjectives: the first sense only
        ("dead", ["a00000021"]),
        ("arrested", ["v00000012", "v00000013"]),
    ],
)
def test_frequent_senses(wordnet: WordNet, word: str, senses: list[str]) -> None:
    assert wordnet.synsets(word, {"n": 2, "v": 2, "a": 1, "r": 1}) == senses


def test_one_sense_each(wordnet: WordNet) -> None:
    assert wordnet.synsets("arrest", {"n": 1, "v": 1}) == ["n00000001", "v00000012"]
    assert wordnet.synsets("apprehend", {"v": 3}) == ["v00000011", "v00000012"]
