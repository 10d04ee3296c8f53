"""The cross-language meaning lexicon: lookups (EN/FR/AR, Arabic clitics, French plurals), the
shared-meaning count, the file format's errors and the shipped file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.meanings import (
    NO_MEANING,
    MeaningLexicon,
    MeaningLexiconError,
    _lines,
    arabic_bases,
    parse_meanings,
    shared_meanings,
)
from bot.core.normalize import normalize
from bot.data.meaning_file import MEANING_FILE, load_default_meanings, load_meanings

SMALL = parse_meanings(
    "# a comment\n"
    "ambassador\tambassador\n"
    "ambassadeur\tambassador\n"
    "سفير\tambassador\n"
    "طرد\texpel evict\n"
    "expels\texpel\n"
    "arrested\tarrest\n"
    "arrestation\tarrest\n"
    "soldat\tsoldier\n"
    "soldier\tsoldier\n"
    "مالي\tmali financi\n"
)


@pytest.mark.parametrize(
    ("word", "keys"),
    [
        ("ambassadeur", {"ambassador"}),  # French, in the table
        ("soldats", {"soldier"}),  # French plural: -s dropped when the form is missing
        ("arrested", {"arrest"}),  # English form
        ("سفير", {"ambassador"}),  # Arabic, in the table
        ("السفير", {"ambassador"}),  # article
        ("والسفير", {"ambassador"}),  # conjunction + article
        ("للسفير", {"ambassador"}),  # preposition + article (لل)
        ("بالسفير", {"ambassador"}),  # preposition + article
        ("تطرد", {"expel", "evict"}),  # verb prefix
        ("سفيرين", {"ambassador"}),  # dual/plural ending
        ("envoy", set()),  # not in the table
        ("بال", set()),  # too short to strip
    ],
)
def test_keys_of(word: str, keys: set[str]) -> None:
    assert SMALL.keys_of(word) == keys


def test_arabic_bases_most_likely_first() -> None:
    bases = arabic_bases("والسفير")
    assert bases[0] == "والسفير"
    assert bases.index("السفير") < bases.index("سفير")


@pytest.mark.parametrize(
    ("a", "b", "shared"),
    [
        ("Mali expels French ambassador", "مالي تطرد السفير", 2),  # expel, ambassador
        ("Arrestation d'un soldat", "Soldier arrested", 2),
        ("L'ambassadeur arrested", "Ambassador", 1),  # one word each way: the smaller
        ("Ambassador", "Soldier arrested", 0),
        ("", "Ambassador", 0),
    ],
)
def test_shared_meanings(a: str, b: str, shared: int) -> None:
    assert shared_meanings(SMALL(a), SMALL(b)) == shared
    assert shared_meanings(SMALL(b), SMALL(a)) == shared


def test_anchor_words_are_left_out() -> None:
    """مالي is the entity Mali, not "financial": a word with a dropped key goes whole."""
    assert SMALL("مالي تطرد السفير", drop={"mali"}) == (
        frozenset({"expel", "evict"}),
        frozenset({"ambassador"}),
    )


def test_a_function_word_means_nothing() -> None:
    """A ``-`` line blocks the grammar fallback: الذي ("which") is not لذي ("tasty")."""
    lexicon = parse_meanings("لذي\ttasti\nالذي\t-\n")
    assert lexicon.keys_of("الذي") == frozenset()
    assert lexicon.keys_of("لذي") == {"tasti"}
    assert lexicon("الذي لذي") == (frozenset({"tasti"}),)
    assert parse_meanings("لذي\ttasti\n").keys_of("الذي") == {"tasti"}  # without the line


def test_repeated_words_count_once() -> None:
    assert SMALL("soldat soldat soldats") == (frozenset({"soldier"}),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no entries"),
        ("# only a comment\n", "no entries"),
        ("ambassador\n", "expected 'form<TAB>keys'"),
        ("ambassador\t\n", "expected 'form<TAB>keys'"),
        ("Ambassadeur\tambassador\n", "not one normalised word"),
        ("deux mots\tword\n", "not one normalised word"),
        ("ambassadeur\tAmbassador\n", "lower-case English stems"),
        ("ambassadeur\tambassador2\n", "lower-case English stems"),
        ("a\tb c d e f g h i j\n", "at most"),
        ("x\tkey\nx\tkey\n", "given twice"),
        ("\t-\n", "expected 'form<TAB>keys'"),
        ("-\n", "expected 'form<TAB>keys'"),
        ("x\t- key\n", "lower-case English stems"),
    ],
)
def test_bad_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(MeaningLexiconError, match=message):
        parse_meanings(text)


def test_bad_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "meaning_lexicon.tsv"
    path.write_text("# header\nambassadeur\tambassador\nbroken line\n", encoding="utf-8")
    with pytest.raises(MeaningLexiconError, match=r"meaning_lexicon\.tsv:3"):
        load_meanings(path)


def test_shipped_file_loads_and_translates() -> None:
    lexicon = load_default_meanings()
    assert isinstance(lexicon, MeaningLexicon) and len(lexicon) > 10_000
    head = MEANING_FILE.read_text(encoding="utf-8").splitlines()[:20]
    assert any("GNU General Public License" in line for line in head)  # its licence
    assert any("FreeDict" in line for line in head)  # and its source
    # one meaning across the three languages
    assert "ambassador" in lexicon.keys_of("ambassadeur") & lexicon.keys_of("السفير")
    assert "attack" in lexicon.keys_of("attaque") & lexicon.keys_of("هجوم")
    assert lexicon.keys_of("arrested") == lexicon.keys_of("arrest")
    assert "kill" in lexicon.keys_of("tues")  # French participle, accent folded
    # function words are not content words
    assert not lexicon.keys_of("the") and not lexicon.keys_of("des") and not lexicon.keys_of("في")
    # nor through the grammar fallback (الذي is not لذي "tasty")
    assert not lexicon.keys_of("الذي") and not lexicon.keys_of("التي")


@pytest.mark.parametrize(
    ("a", "b", "key"),
    [
        # translations that differ meet in WordNet's common sense (synonym keys)
        ("اعتقال", "arrest", "arrest"),  # FreeDict: apprehend, nab
        ("اعتقال", "arrestation", "arrest"),
        ("libere", "freed", "free"),  # French: release, liberate, free
        ("liberation", "release", "liber"),
        # and plain translations still meet
        ("ambassadeur", "السفير", "ambassador"),
        ("attaque", "هجوم", "attack"),
        ("tues", "killed", "kill"),
        ("قتلى", "killed", "kill"),  # ending dropped (ى folded to ي)
        ("otage", "hostage", "hostag"),
        ("condamne", "sentenced", "sentenc"),
    ],
)
def test_shipped_file_links(a: str, b: str, key: str) -> None:
    lexicon = load_default_meanings()
    assert key in lexicon.keys_of(normalize(a)) & lexicon.keys_of(normalize(b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("arrest", "attack"),  # unrelated news words stay apart
        ("libere", "killed"),
        ("ambassadeur", "soldier"),
        ("اعتقال", "killed"),
    ],
)
def test_shipped_file_keeps_apart(a: str, b: str) -> None:
    lexicon = load_default_meanings()
    assert not lexicon.keys_of(normalize(a)) & lexicon.keys_of(normalize(b))


def test_every_line_of_the_shipped_file_reads_back_as_its_keys() -> None:
    """The table keeps each form's keys as a string and makes its set on first use: every
    form of the shipped file gives exactly the keys of its line ('-': none), and forms of one
    key list share one set (it is made once)."""
    lexicon = load_default_meanings()
    expected: dict[str, frozenset[str]] = {}
    key_lists = set()
    for line in MEANING_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            form, _, rest = line.partition("\t")
            expected[form] = frozenset(k for k in rest.split() if k != NO_MEANING)
            key_lists.add(rest)
    assert len(lexicon) == len(expected) > 40_000
    for form, keys in expected.items():
        assert lexicon.keys_of(form) == keys, form
    assert len({id(lexicon.keys_of(form)) for form in expected}) <= len(key_lists)  # shared
    assert lexicon.keys_of("ambassadeur") is lexicon.keys_of("ambassadeur")


def test_a_key_list_in_another_order_is_the_same_set() -> None:
    lexicon = parse_meanings("a\tx y\nb\ty x\nc\tx  x\n")
    assert lexicon.keys_of("a") == lexicon.keys_of("b") == {"x", "y"}
    assert lexicon.keys_of("c") == {"x"}


@settings(max_examples=60)
@given(
    st.lists(st.text(alphabet="ab\t \n\r\x0b\x0c\x1c\x85\u2028", max_size=12), max_size=30).map(
        "".join
    )
)
def test_lines_are_read_as_splitlines_reads_them(text: str) -> None:
    """The parser reads the file a piece at a time (memory); its lines, and so the line
    numbers of its errors, are those of ``str.splitlines``, line feeds, "\\r\\n" and the rare
    separators included."""
    assert list(_lines(text)) == text.splitlines()
    long = text * 9000  # longer than one piece
    assert list(_lines(long)) == long.splitlines()
