"""Matching rules: word boundaries, folding, Arabic proclitics, exclusions, context, routing."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.core.matching import Exclusion, Hit, Matcher, MatchResult, arabic_g_spellings, describe
from bot.core.text import TAG
from bot.core.watchlist import Alias, ChatRoute, Entity
from tests.harness import default_matcher


def names(matcher: Matcher, title: str, summary: str = "") -> tuple[str, ...]:
    return matcher.match(title, summary).entities


# --------------------------------------------------------------------------- word boundaries

MALI = Matcher.compile([Entity.of("Mali", ["Mali"])])


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("Mali junta extends rule", True),
        ("Coup in Mali", True),
        ("Mali's junta", True),
        ("Mali’s junta", True),
        ("(Mali)", True),
        ("< Mali >", True),  # not a tag: "<" must be followed by a letter, "/", "!" or "?"
        ("Niger <Mali> Burkina", False),  # that one is a tag, as HTML reads it
        ("<b>Mali</b> junta", True),
        ("Mali-based group", True),
        ("Franco-Mali talks", True),
        ("MALI: army says", True),
        ("mali", True),
        ("Somalia attack", False),
        ("Somali president", False),
        ("Malibu fires", False),
        ("Malik Monk scores", False),
        ("Malian army", False),  # inflections are aliases, not guesses
        ("malienne", False),
        ("Bamali village", False),
        ("Mali2026 summit", False),  # digits are part of a word
        ("", False),
    ],
)
def test_whole_word_only(text: str, matches: bool) -> None:
    assert bool(MALI.match(text, "")) is matches


# --------------------------------------------------------------------------- case and accents

GOITA = Matcher.compile([Entity.of("Goïta", ["Goïta"]), Entity.of("Segou", ["Segou"])])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Goïta speaks", ("Goïta",)),
        ("Goita speaks", ("Goïta",)),
        ("GOÏTA SPEAKS", ("Goïta",)),
        ("goïta", ("Goïta",)),
        ("Goi\u0308ta (decomposed)", ("Goïta",)),
        ("Ségou", ("Segou",)),
        ("SÉGOU", ("Segou",)),
        ("Goïtaa", ()),
    ],
)
def test_case_and_diacritic_insensitive(text: str, expected: tuple[str, ...]) -> None:
    assert names(GOITA, text) == expected


# --------------------------------------------------------------------------- Arabic

ARABIC = Matcher.compile(
    [
        Entity.of("Mali", ["مالي"]),
        Entity.of("JNIM", ["جماعة نصرة الإسلام والمسلمين"]),
        Entity.of("Africa Corps", ["الفيلق الأفريقي"]),
        Entity.of("Goita", ["غويتا"]),
    ]
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("هجوم في مالي", ("Mali",)),
        ("هجوم بمالي", ("Mali",)),  # ب "in"
        ("ومالي والنيجر", ("Mali",)),  # و "and"
        ("زيارة لمالي", ("Mali",)),  # ل "to"
        ("فمالي", ("Mali",)),  # ف "so"
        ("وبمالي", ("Mali",)),  # و + ب
        ("مـــالي", ("Mali",)),  # tatweel
        ("مَالِي", ("Mali",)),  # tashkeel
        ("المالي", ()),  # the article is not a proclitic: "the financial"/"the Malian"
        ("شمالي سوريا", ()),  # "northern": مالي inside a longer word
        ("كمالي", ()),  # "luxury"/surname: ك is deliberately not a proclitic
        ("ماليزيا", ()),  # Malaysia
        ("بيان جماعة نصرة الاسلام والمسلمين", ("JNIM",)),  # without hamza
        ("لجماعة نصرة الإسلام والمسلمين", ("JNIM",)),
        ("جماعة نُصْرَة الإسلام والمسلمين", ("JNIM",)),
        ("والمسلمين", ()),  # one word of a phrase is not the phrase
        ("الفيلق الافريقي", ("Africa Corps",)),  # alef without hamza
        ("للفيلق الأفريقي", ("Africa Corps",)),  # ل + ال contracts to لل
        ("بالفيلق الأفريقي", ("Africa Corps",)),
        ("والفيلق الإفريقي", ("Africa Corps",)),  # hamza below or above folds the same
        ("الرئيس غويتا", ("Goita",)),
        ("«أسيمي جويتا» يؤدي اليمين", ("Goita",)),  # Egyptian press writes the hard G as ج
        ("الرئيس جويتا", ("Goita",)),
        ("الرئيس قويتا", ()),  # ق is not folded in
        ("جوي", ()),  # a shorter word is still not the name
    ],
)
def test_arabic_normalisation_and_proclitics(text: str, expected: tuple[str, ...]) -> None:
    assert names(ARABIC, text) == expected


@pytest.mark.parametrize(
    ("alias", "spellings"),
    [
        ("غويتا", ["جويتا"]),
        ("مجموعة فاغنر", ["مجموعة فاجنر"]),  # the native ج of مجموعة stays
        ("بريغوجين", ["بريجوجين"]),
        ("إياد أغ غالي", ["إياد أج غالي", "إياد أغ جالي", "إياد أج جالي"]),
        ("جماعة نصرة الإسلام", []),  # no غ: nothing to add
        ("Goïta", []),
    ],
)
def test_arabic_g_spellings(alias: str, spellings: list[str]) -> None:
    assert arabic_g_spellings(alias) == spellings


def test_shipped_watchlist_finds_egyptian_spellings() -> None:
    matcher = default_matcher()
    for text, entity in [
        ("مجموعة فاجنر الروسية تنسحب من مالي", "Africa Corps (formerly Wagner Group)"),
        ("«أسيمي جويتا» يؤدي اليمين الدستورية رئيسًا انتقاليًا لمالي", "Assimi Goïta"),
    ]:
        assert entity in matcher.match(text, "").entities, text


# --------------------------------------------------------------------------- exclusions / ignore

RULES = Matcher.compile(
    [
        Entity.of(
            "Africa Corps",
            ["Africa Corps", "Wagner Group", Alias("Wagner", context=("Mali", "mercenaries"))],
            exclude=("Rommel", "Afrika Korps"),
            ignore=("Richard Wagner",),
        ),
        Entity.of("Mali", ["Mali", "مالي"], ignore=("Mali Music", "دعم مالي")),
        Entity.of("Lavrov", ["Lavrov"], context=("Mali", "Sahel", "Bamako")),
    ]
)


@pytest.mark.parametrize(
    ("title", "summary", "expected", "why"),
    [
        ("Africa Corps lands in Bamako", "", ("Africa Corps",), None),
        ("Rommel's Africa Corps", "", (), "exclusion phrase 'Rommel' in title"),
        ("Africa Corps", "A film about Rommel", (), "exclusion phrase 'Rommel' in summary"),
        ("Richard Wagner festival", "", (), "inside an ignored phrase"),
        ("Richard Wagner and Wagner Group", "", ("Africa Corps",), None),
        ("Wagner opera", "", (), "'Wagner' needs a context term (one of: Mali, mercenaries)"),
        ("Wagner mercenaries", "", ("Africa Corps",), None),
        ("Wagner pulls out", "Russian fighters leave Mali", ("Africa Corps", "Mali"), None),
        ("Mali Music tour dates", "", (), "inside an ignored phrase"),
        ("Mali Music born in Mali", "", ("Mali",), None),  # second occurrence counts
        ("تقديم دعم مالي للنازحين", "", (), "inside an ignored phrase"),
        ("Lavrov visits Beijing", "", (), "no context term in the item"),
        ("Lavrov visits Bamako", "", ("Lavrov",), None),
        ("Lavrov on tour", "Stops in the Sahel", ("Lavrov",), None),
    ],
)
def test_exclusions_ignores_and_context(
    title: str, summary: str, expected: tuple[str, ...], why: str | None
) -> None:
    result = RULES.match(title, summary)
    assert result.entities == expected
    if why is not None:
        assert any(why in ex.reason for ex in result.excluded), result.excluded
    else:
        assert result.excluded == ()


def test_exclusion_names_the_entity() -> None:
    result = RULES.match("Rommel's Africa Corps", "")
    assert result.excluded == (Exclusion("Africa Corps", "exclusion phrase 'Rommel' in title"),)
    assert not result


# --------------------------------------------------------------------------- case-sensitive

CASED = Matcher.compile(
    [
        Entity.of("FLA", [Alias("FLA", case_sensitive=True), "Azawad Liberation Front"]),
        Entity.of("FAMa", [Alias("FAMa", case_sensitive=True)]),
    ]
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FLA rebels seize town", ("FLA",)),
        ("Tampa, Fla. man arrested", ()),
        ("fla", ()),
        ("FLAG day", ()),
        ("the FLA’s fighters", ("FLA",)),
        ("azawad liberation front", ("FLA",)),  # plain aliases stay case-insensitive
        ("Les FAMa ripostent", ("FAMa",)),
        ("FAMA", ()),
        ("fama", ()),
    ],
)
def test_case_sensitive_aliases(text: str, expected: tuple[str, ...]) -> None:
    assert names(CASED, text) == expected


# --------------------------------------------------------------------------- regex

REGEX = Matcher.compile(
    [
        Entity.of("JNIM", [Alias(r"jama.?at n[ua]s?ra?t? al islam", regex=True)]),
        Entity.of("Tinzaouaten", [Alias(r"tin ?za(?:ou|w)at[ei]ne?", regex=True)]),
    ]
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jama'at Nusrat al-Islam claims", ("JNIM",)),
        ("Jamaat Nasr al Islam", ("JNIM",)),
        ("Tinzaouatène", ("Tinzaouaten",)),
        ("Tin Zaouatine", ("Tinzaouaten",)),
        ("Tinzawaten", ("Tinzaouaten",)),
        ("XTinzaouaten", ()),  # regex aliases keep word boundaries too
        ("Tinzaouatenes", ()),
    ],
)
def test_regex_aliases(text: str, expected: tuple[str, ...]) -> None:
    assert names(REGEX, text) == expected


# --------------------------------------------------------------------------- result details


def test_hits_report_alias_as_written_and_field() -> None:
    m = Matcher.compile(
        [
            Entity.of("JNIM", ["JNIM", "Jama'at Nusrat al-Islam wal-Muslimin"]),
            Entity.of("Mali", ["Mali", "Malian"]),
        ]
    )
    result = m.match("Jamaat Nusrat al-Islam wal-Muslimin strikes", "JNIM hit the Malian army.")
    assert result.entities == ("JNIM", "Mali")  # watchlist order
    assert result.hits == (
        Hit("JNIM", "Jama'at Nusrat al-Islam wal-Muslimin", "title"),
        Hit("JNIM", "JNIM", "summary"),
        Hit("Mali", "Malian", "summary"),
    )


def test_fields_restrict_where_aliases_are_searched() -> None:
    m = Matcher.compile([Entity.of("Mali", ["Mali"], fields=("title",))])
    assert m.match("Mali", "")
    result = m.match("Weather", "Rain in Mali")
    assert not result
    assert "only in summary, which is not searched" in result.excluded[0].reason


@pytest.mark.parametrize(
    ("title", "priority", "chats", "to_default"),
    [
        ("Mali", "digest", (), True),
        ("JNIM", "urgent", (ChatRoute(-1), ChatRoute(-2, 5)), False),
        ("JNIM in Mali", "urgent", (ChatRoute(-1), ChatRoute(-2, 5)), True),
        ("JNIM at Bamako", "urgent", (ChatRoute(-1), ChatRoute(-2, 5), ChatRoute(-3)), False),
    ],
)
def test_priority_and_routing(
    title: str, priority: str, chats: tuple[ChatRoute, ...], to_default: bool
) -> None:
    m = Matcher.compile(
        [
            Entity.of("Mali", ["Mali"], priority="digest"),
            Entity.of("JNIM", ["JNIM"], priority="urgent", chats=[ChatRoute(-1), ChatRoute(-2, 5)]),
            Entity.of("Bamako", ["Bamako"], chats=[ChatRoute(-3), ChatRoute(-1)]),
        ]
    )
    result = m.match(title, "")
    assert (result.priority, result.chats, result.to_default) == (priority, chats, to_default)


@pytest.mark.parametrize(
    "summary",
    ["<p>Coup in <b>Mali</b></p>", "Coup&nbsp;in&nbsp;Mali", "<a href='x'>Mali</a>"],
)
def test_html_is_stripped_defensively(summary: str) -> None:
    assert MALI.match("", summary).entities == ("Mali",)


def test_no_entities_never_matches() -> None:
    empty = Matcher.compile([])
    assert empty.match("Mali", "Mali") == MatchResult()
    assert not empty.match("Mali", "")


@pytest.mark.parametrize(
    ("title", "summary", "fragments"),
    [
        (
            "Wagner mercenaries in Mali",
            "",
            ["ALERT (normal): Africa Corps, Mali", "'Wagner' in title"],
        ),
        ("Rommel's Africa Corps", "", ["No alert", "Africa Corps not counted", "'Rommel'"]),
        ("Nothing here", "", ["No alert: no watched entity matched."]),
    ],
)
def test_describe(title: str, summary: str, fragments: list[str]) -> None:
    text = describe(RULES.match(title, summary))
    for fragment in fragments:
        assert fragment in text, text


def test_describe_routes() -> None:
    m = Matcher.compile([Entity.of("Mali", ["Mali"], chats=[ChatRoute(-100, 4)])])
    assert "routed to -100/4" in describe(m.match("Mali", ""))


# --------------------------------------------------------------------------- properties

WATCHED = ["Mali", "Goïta", "JNIM", "Bamako", "Africa Corps", "Tombouctou", "Kidal"]
WATCHED_AR = ["مالي", "باماكو", "جماعة نصرة الإسلام والمسلمين", "كيدال"]
SEPARATORS = [" ", ", ", " (", ") ", ": ", "\n", " — ", "-", "'", "’", ". ", "«", "»", '"']


@cache
def single(alias: str) -> Matcher:
    # min_salience 0: these properties are about finding the alias, wherever it stands
    return Matcher.compile([Entity.of("E", [alias], min_salience=0.0)])


@settings(max_examples=300, deadline=None)
@given(
    alias=st.sampled_from(WATCHED + WATCHED_AR),
    casing=st.sampled_from(["as is", "upper", "lower"]),
    left=st.text(max_size=40),
    right=st.text(max_size=40),
    seps=st.tuples(st.sampled_from(SEPARATORS), st.sampled_from(SEPARATORS)),
    field=st.sampled_from(["title", "summary"]),
)
def test_whole_word_alias_always_matches(
    alias: str, casing: str, left: str, right: str, seps: tuple[str, str], field: str
) -> None:
    word = {"as is": alias, "upper": alias.upper(), "lower": alias.lower()}[casing]
    text = f"{left}{seps[0]}{word}{seps[1]}{right}"
    # Markup is stripped defensively (test_html_is_stripped_defensively): a word that the
    # random text around it puts inside a real tag ("<a Mali >") is markup, not text.
    start = len(left) + len(seps[0])
    assume(not any(t.start() < start + len(word) and start < t.end() for t in TAG.finditer(text)))
    title, summary = (text, "") if field == "title" else ("", text)
    result = single(alias).match(title, summary)
    assert result.entities == ("E",), text


NOISE = st.text(alphabet="xyz0 ,.", max_size=30)  # cannot spell any watched alias


@settings(max_examples=300, deadline=None)
@given(
    alias=st.sampled_from(WATCHED),
    prefix=st.text(alphabet="abcdefghijklmnopqrstuvwxyzé", max_size=4),
    suffix=st.text(alphabet="abcdefghijklmnopqrstuvwxyzé", max_size=4),
    left=NOISE,
    right=NOISE,
)
def test_alias_inside_a_longer_word_never_matches(
    alias: str, prefix: str, suffix: str, left: str, right: str
) -> None:
    if not prefix and not suffix:
        suffix = "s"
    text = f"{left} {prefix}{alias}{suffix} {right}"
    assert not single(alias).match(text, ""), text


@settings(max_examples=200, deadline=None)
@given(
    alias=st.sampled_from(WATCHED_AR),
    suffix=st.text(alphabet="ابتثجحخدذرزسشصضطظعغفقكلمنهوي", min_size=1, max_size=3),
    prefix=st.sampled_from(["", "ال", "ش", "ك", "م"]),
    left=NOISE,
    right=NOISE,
)
def test_arabic_alias_inside_a_longer_word_never_matches(
    alias: str, suffix: str, prefix: str, left: str, right: str
) -> None:
    text = f"{left} {prefix}{alias}{suffix} {right}"
    assert not single(alias).match(text, ""), text
