"""Story grouping signals: one item's signature, pair features, the learned model and the guard.

An item's ``Signature`` holds what the grouper compares, none of it tied to the words an
outlet picked: character 3-grams (names and spellings survive rewrites and accents), the
watched entities the matcher found (its aliases cover EN/FR/AR), gazetteer places (EN/FR/AR
spellings of real places), the numbers of the title, the concept tokens of
``bot.core.stories`` (a small EN/FR lexicon), the meaning keys of the title's words in
EN/FR/AR (``bot.core.meanings``) and the script. ``pair_features`` turns two
signatures and their time gap into a short vector; ``StoryModel`` is a logistic regression
over it whose weights are fitted by ``bench/train_stories.py`` and shipped as a data file
(``bot/data/story_model.json``): at run time it is arithmetic. ``conflict`` is the
precision guard: same template with another town or another toll is another event.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any, Protocol

from bot.core.errors import ModelError
from bot.core.language import guess_language
from bot.core.meanings import MeaningLexicon, shared_meanings
from bot.core.name_skeleton import arabic_skeleton, latin_skeleton, skeletons_match
from bot.core.normalize import fold, normalize
from bot.core.stories import COUNTRIES, LEXICON, STOPWORDS, fingerprint

__all__ = [
    "FEATURES",
    "GAP_FEATURES",
    "ModelError",
    "PlaceFinder",
    "Signature",
    "StoryModel",
    "conflict",
    "event_evidence",
    "pair_features",
    "parse_story_model",
    "signature",
]

# The pair features, in vector order. Shared by training (bench/train_stories.py) and run time.
FEATURES: tuple[str, ...] = (
    "char_title",  # cosine of the titles' character 3-gram sets
    "char_text",  # the same over title + summary
    "tokens",  # Jaccard of the concept tokens of title + summary
    "entities_shared",  # watched entities both name (0, 1, 2 = two or more)
    "entities_jaccard",  # Jaccard of the watched entity sets
    "places_shared",  # gazetteer places both name (0, 1, 2 = two or more)
    "places_differ",  # both name places, none in common (title + summary)
    "names_shared",  # capitalised words (names) in common: Dioura, Barkhane, Moussa Mara
    "numbers_shared",  # title numbers in common
    "numbers_differ",  # both titles give numbers, none close to one of the other
    "title_places_differ",  # both titles name places, none in common or containing the other
    "cross_script",  # one is in Arabic script, the other not
    "cross_entities",  # entities_jaccard when cross_script: what is left to compare across
    "cross_places",  # places_shared when cross_script
    "cross_names",  # names of one title whose consonants an Arabic word of the other has (0-2)
    "actions_shared",  # action classes both titles name (freed, arrives, quits...; 0, 1, 2+)
    "actions_differ",  # both titles name actions, no family in common (freed / arrives)
    "actions_differ_gap",  # actions_differ x gap: another kind of action the next day
    "actions_step",  # one title names a step (notice, demand, arrival...) the other does not
    "meanings_shared",  # title words whose meaning (bot.core.meanings) the other title has (0-3)
    "meanings_cross",  # meanings_shared when the titles' languages differ
    "gap",  # time between the two, in units of 24 h, capped at 3
)
# The features that read the time gap: 0 when it is unknown, and not weighed by the undated
# variants of the model.
GAP_FEATURES = frozenset(["actions_differ_gap", "gap"])

_GRAM = 3
MAX_TITLE = 300
MAX_SUMMARY = 600
_ARABIC = re.compile("[\u0600-\u06ff]")
_DIGITS = re.compile(r"\d+")
_YEAR = re.compile(r"^(19|20)\d\d$")
_NUMBER_WORDS = {
    word: n
    for words in (
        "two three four five six seven eight nine ten eleven twelve",
        "deux trois quatre cinq six sept huit neuf dix onze douze",
    )
    for n, word in enumerate(words.split(), start=2)
} | {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
    "vingt": 20,
    "trente": 30,
    "quarante": 40,
    "cinquante": 50,
    "cent": 100,
}


# A numbered instance of a series: "Game 2", "Round 3", "Day 2 of the trial", "second round",
# "2e tour", "troisième journée". The number says which instance, not a toll: two instances
# are two events (Game 1 and Game 2 watch parties, the first and second round of a vote).
_SEQUENCE_NOUNS = frozenset(
    [
        *("game", "match", "round", "leg", "stage", "day", "part", "episode", "chapter"),
        *("week", "phase", "heat", "tour", "manche", "journee", "etape", "jour", "partie"),
        *("chapitre", "semaine"),
    ]
)
_ORDINALS = {
    word: n
    for words in (
        "first second third fourth fifth sixth seventh eighth ninth tenth",
        "premier deuxieme troisieme quatrieme cinquieme sixieme septieme huitieme neuvieme dixieme",
    )
    for n, word in enumerate(words.split(), start=1)
} | {"premiere": 1, "seconde": 2, "second": 2}
_ORDINAL_DIGITS = re.compile(r"^(\d{1,3})(st|nd|rd|th|e|er|ere|eme)$")


def _count(word: str) -> int | None:
    """A small count written in digits or words (EN/FR), years left out."""
    if word.isdecimal() and len(word) <= 3:
        return int(word)
    if word in ("one", "un", "une"):
        return 1
    return _NUMBER_WORDS.get(word)


def _ordinal(word: str) -> int | None:
    if (m := _ORDINAL_DIGITS.match(word)) is not None:
        return int(m.group(1))
    return _ORDINALS.get(word)


def instances(text: str) -> frozenset[str]:
    """The numbered instances of a series a text names, as "noun:n": "Game 2" -> game:2,
    "second round" / "2nd round" -> round:2, "2e tour" -> tour:2."""
    out: set[str] = set()
    words = normalize(text).split()
    for i, word in enumerate(words):
        if word not in _SEQUENCE_NOUNS:
            continue
        n = _count(words[i + 1]) if i + 1 < len(words) else None
        if n is None and i > 0:
            n = _ordinal(words[i - 1])
        if n is not None:
            out.add(f"{word}:{n}")
    return frozenset(out)


def _instances_differ(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both name an instance of one series (same noun), and none of the same number."""
    nouns = {i.split(":")[0] for i in a} & {i.split(":")[0] for i in b}
    return any({i for i in a if i.startswith(noun + ":")}.isdisjoint(b) for noun in nouns)


class ActionFinder(Protocol):
    """What the grouper needs from the action classes (bot.core.story_actions.ActionLexicon):
    the classes a title names, and their families."""

    def __call__(self, text: str) -> frozenset[str]: ...

    def family_of(self, classes: frozenset[str]) -> frozenset[str]: ...

    @property
    def evidence(self) -> frozenset[str]: ...

    @property
    def steps(self) -> frozenset[str]: ...


class PlaceFinder(Protocol):
    """What the grouper needs from the gazetteer: for each real place a text names, its id,
    the key of the region containing it (None: unknown) and whether the name is that region's
    own (a region, or its capital, which news uses for the region)."""

    def __call__(self, text: str) -> Iterable[tuple[str, str | None, bool]]: ...


@dataclass(frozen=True, slots=True)
class Signature:
    """What grouping compares of one item (see the module docstring)."""

    title_grams: frozenset[int]  # the character 3-grams as integers (``_grams``), a set
    # The same for title + summary, packed (``_pack``): 8 bytes a gram instead of about 80 in
    # a frozenset, 5 KB instead of 50 KB an item. Every indexed alert of the window holds one,
    # and only pairs that pass the cheap features compare them (``quick_score``).
    text_grams: bytes
    tokens: frozenset[str]  # concept tokens of title + summary
    title_tokens: frozenset[str] = frozenset()  # ... of the title alone
    entities: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()  # place ids named in title or summary
    title_places: frozenset[str] = frozenset()  # place ids named in the title
    regions: frozenset[str] = frozenset()  # regions containing the places named
    named_regions: frozenset[str] = frozenset()  # regions the text names as such
    title_numbers: frozenset[int] = frozenset()
    names: frozenset[str] = frozenset()  # capitalised words of title + summary, folded
    title_names: frozenset[str] = frozenset()  # ... of the title alone
    # What the item is about: its watched entities and its places, by normalised name (the
    # entity "Bamako" and the place ml-bamako are one anchor), of title + summary / the title
    anchors: frozenset[str] = frozenset()
    title_anchors: frozenset[str] = frozenset()
    # names that are none of the anchors' words: Radisson, Barkhane, Moussa Mara
    specific_names: frozenset[str] = frozenset()
    title_specific_names: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()  # action classes of the title (bot.core.story_actions)
    action_families: frozenset[str] = frozenset()  # their families
    evidence_actions: frozenset[str] = frozenset()  # those that are evidence with one anchor
    step_actions: frozenset[str] = frozenset()  # those that mark a later step of a saga
    # consonant skeletons (bot.core.name_skeleton) of the title's names (Latin script) or of
    # its words (Arabic script): Cissé / سيسي
    skeletons: frozenset[str] = frozenset()
    # meaning keys of the title's words (bot.core.meanings), one set a word, anchors left out
    meanings: tuple[frozenset[str], ...] = ()
    lang: str = ""  # the title's language as bot.core.language guesses it ("" unknown)
    # numbered instances of a series ("game:2": Game 2, second round), of title + summary and
    # of the title alone
    instances: frozenset[str] = frozenset()
    title_instances: frozenset[str] = frozenset()
    arabic: bool = False
    has_summary: bool = False
    summary_key: int = 0  # digest of the summary without digits: the same text is boilerplate

    def index_keys(self) -> frozenset[str]:
        """Keys a member is indexed under; an item is compared with the members indexed under
        one of its ``query_keys``."""
        return self._keys(self.arabic)

    def query_keys(self) -> frozenset[str]:
        """Keys an item looks up: the same as ``index_keys`` but for name skeletons, which
        look for the other script only (a name and its Arabic spelling)."""
        return self._keys(not self.arabic)

    def _keys(self, arabic: bool) -> frozenset[str]:
        # a name skeleton, and the skeleton less its last consonant (Dubois TBS / دوبوا TB,
        # see name_skeleton.skeletons_match), marked with the script it is looked up in; and
        # the meaning keys of the title's words (bot.core.meanings), so that a translation
        # that shares no name is still found and ranked among the candidates
        script = "ka:" if arabic else "kl:"
        return frozenset(
            [
                *("e:" + e for e in self.entities),
                *("p:" + p for p in self.places),
                *("n:" + str(n) for n in self.title_numbers),
                *("t:" + t for t in self.tokens),
                *(script + k for k in self.skeletons),
                *(script + k[:-1] for k in self.skeletons if len(k) > 2),
                *("m:" + k for keys in self.meanings for k in keys),
            ]
        )

    def shares_key(self, other: Signature) -> bool:
        """Whether the online index compares the two (either looking the other up)."""
        return not self.query_keys().isdisjoint(other.index_keys())


def _place_name(place_id: str) -> str:
    """The name part of a gazetteer id ("ml-timbuktu-region" -> "timbuktu region")."""
    return place_id.split("-", 1)[-1].replace("-", " ")


def _grams(text: str) -> frozenset[int]:
    """The character 3-grams of the normalised text (words padded by spaces), each as one
    integer: its three code points side by side, 21 bits each. Unlike Python's
    string hash, which differs between processes, these are the same in every process, so a
    signature can be stored and read back by the next one (bot.core.story_codec), and two
    grams never share an id."""
    norm = normalize(text)
    if not norm:
        return frozenset()
    o = list(map(ord, f" {norm} "))
    return frozenset([(a << 42) | (b << 21) | c for a, b, c in zip(o, o[1:], o[2:], strict=False)])


def _text_key(text: str) -> int:
    """A 64-bit digest of a text, the same in every process (``hash`` is not)."""
    return int.from_bytes(blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest())


def title_numbers(title: str) -> frozenset[int]:
    """Numbers of a title (digits, number words): tolls and counts. Years, "France 24"-style
    names and the number of an instance ("Game 2", see ``instances``) left out."""
    out: set[int] = set()
    prev = ""
    for word in normalize(title).split():
        if prev in _SEQUENCE_NOUNS:
            pass
        elif word.isdecimal() and len(word) <= 7:
            if not _YEAR.match(word) and prev != "france":
                out.add(int(word))
        elif word in _NUMBER_WORDS:
            out.add(_NUMBER_WORDS[word])
        prev = word
    return frozenset(out)


# Months and weekdays (EN/FR, folded) are capitalised in English but name no event: two
# stories of "20 November" are not one.
_CALENDAR = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "janvier",
        "fevrier",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "aout",
        "septembre",
        "octobre",
        "novembre",
        "decembre",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "lundi",
        "mardi",
        "mercredi",
        "jeudi",
        "vendredi",
        "samedi",
        "dimanche",
    ]
)


def names(text: str) -> frozenset[str]:
    """Capitalised words of 4 letters or more that are not function words, concepts, country
    names, months or weekdays, folded: the names a rewrite or a translation keeps."""
    out = set()
    for word in fold(text).split():
        if len(word) < 4 or not word[0].isupper():
            continue
        low = word.casefold()
        if low in STOPWORDS or low in LEXICON or low in COUNTRIES or low in _CALENDAR:
            continue
        out.add(low)
    return frozenset(out)


def signature(
    title: str,
    summary: str = "",
    entities: Iterable[str] = (),
    places: PlaceFinder | None = None,
    actions: ActionFinder | None = None,
    meanings: MeaningLexicon | None = None,
) -> Signature:
    """The signature of one item from its plain-text title and summary, the entities the
    matcher found in it, and the gazetteer (None: no place signals). Only the first
    ``MAX_TITLE`` / ``MAX_SUMMARY`` characters count: a feed that puts a whole article in its
    summary costs no more than a news summary."""
    title, summary = title[:MAX_TITLE], summary[:MAX_SUMMARY]
    text = f"{title} {summary}".strip() if summary else title
    found_title = list(places(title)) if places is not None else []
    found_text = list(places(text)) if places is not None and summary else found_title
    title_grams = _grams(title)
    title_actions = actions(title) if actions is not None else frozenset()
    fp = fingerprint(title, summary)
    entity_names = {normalize(e) for e in entities}
    entity_words = {w for name in entity_names for w in name.split()}
    anchors = entity_names | {_place_name(p) for p, _, _ in found_text}
    title_anchors = entity_names | {_place_name(p) for p, _, _ in found_title}
    entity_words |= {w for name in anchors for w in name.split()}
    text_names, head_names = names(text), names(title)
    title_specific = frozenset(n for n in head_names if normalize(n) not in entity_words)
    is_arabic = bool(_ARABIC.search(title))
    return Signature(
        title_grams=title_grams,
        text_grams=_pack(_grams(text) if summary else title_grams),
        tokens=fp.tokens,
        title_tokens=fp.headline,
        entities=frozenset(entities),
        places=frozenset(p for p, _, _ in found_text),
        title_places=frozenset(p for p, _, _ in found_title),
        regions=frozenset(r for _, r, _ in found_text if r),
        named_regions=frozenset(r for _, r, is_region in found_text if r and is_region),
        title_numbers=title_numbers(title),
        names=text_names,
        title_names=head_names,
        anchors=frozenset(anchors),
        title_anchors=frozenset(title_anchors),
        specific_names=frozenset(n for n in text_names if normalize(n) not in entity_words),
        title_specific_names=title_specific,
        actions=title_actions,
        action_families=actions.family_of(title_actions) if actions is not None else frozenset(),
        evidence_actions=title_actions & actions.evidence if actions is not None else frozenset(),
        step_actions=title_actions & actions.steps if actions is not None else frozenset(),
        skeletons=_skeletons(title, is_arabic, title_specific),
        meanings=meanings(title, entity_words) if meanings is not None else (),
        lang=guess_language(title),
        instances=instances(text),
        title_instances=instances(title),
        arabic=is_arabic,
        has_summary=bool(summary.strip()),
        summary_key=_text_key(_DIGITS.sub("", normalize(summary))) if summary.strip() else 0,
    )


def _skeletons(title: str, arabic: bool, latin_names: frozenset[str]) -> frozenset[str]:
    """Skeletons of the Arabic words of an Arabic-script title (3+ letters), or of the names of
    a Latin-script one."""
    if arabic:
        return frozenset(
            sk
            for w in normalize(title).split()
            if len(w) >= 3 and _ARABIC.match(w) and len(sk := arabic_skeleton(w)) >= 2
        )
    return frozenset(sk for n in latin_names if len(sk := latin_skeleton(normalize(n))) >= 2)


def _cross_names(a: Signature, b: Signature) -> tuple[int, bool]:
    """Across scripts: how many names of the Latin title (at most 2) have an Arabic word of the
    other with the same consonants, and whether that is evidence of one event (two names, or
    one of three consonants or more: *Olivier Dubois*, *Barkhane*)."""
    if a.arabic == b.arabic or not a.skeletons or not b.skeletons:
        return 0, False
    latin, arabic = (b, a) if a.arabic else (a, b)
    found = [s for s in latin.skeletons if any(skeletons_match(s, t) for t in arabic.skeletons)]
    return min(len(found), 2), len(found) >= 2 or any(len(s) >= 3 for s in found)


def both_summaries(a: Signature, b: Signature) -> bool:
    """Whether a pair is compared on title + summary: both have one, and not the same text up
    to its digits (a feed's boilerplate, "Reported by our correspondents" or "Report number 3
    from the Sahel desk", says nothing about the story)."""
    return a.has_summary and b.has_summary and a.summary_key != b.summary_key


def _pack(grams: frozenset[int]) -> bytes:
    return array("q", grams).tobytes()


def _packed_cosine(a: bytes, b: bytes) -> float:
    """``_cosine`` of two packed gram sets (each holds distinct grams)."""
    if not a or not b:
        return 0.0
    shared = len(set(memoryview(a).cast("q")).intersection(memoryview(b).cast("q")))
    return shared / math.sqrt((len(a) // 8) * (len(b) // 8))


def _cosine(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def _jaccard(a: frozenset[Any], b: frozenset[Any]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def _contains(a: Signature, b: Signature) -> bool:
    """One names a region that holds a place the other names (Mopti and Boulkessi)."""
    return not a.named_regions.isdisjoint(b.regions) or not b.named_regions.isdisjoint(a.regions)


def _differ(a: Signature, b: Signature) -> bool:
    """Both name places, and no place of one is or contains a place of the other."""
    if not a.places or not b.places or not a.places.isdisjoint(b.places):
        return False
    return not _contains(a, b)


def _other_features(
    a: Signature, b: Signature, gap_hours: float | None, full: bool
) -> tuple[float, ...]:
    """Every feature but the two character similarities (``FEATURES[2:]``): the cheap ones.
    ``full``: title + summary; otherwise the title's tokens, names and places. An unknown gap
    (None) gives 0 to the features of the gap, which the undated variants do not weigh."""
    cross = 1.0 if a.arabic != b.arabic else 0.0
    entities = _jaccard(a.entities, b.entities)
    a_places, b_places = (a.places, b.places) if full else (a.title_places, b.title_places)
    places = float(min(len(a_places & b_places), 2))
    tokens = _jaccard(a.tokens, b.tokens) if full else _jaccard(a.title_tokens, b.title_tokens)
    shared_names = len(a.names & b.names) if full else len(a.title_names & b.title_names)
    differ = 1.0 if _actions_differ(a, b) else 0.0
    # title only: with summaries the summaries' words carry meaning better (and the dev set's
    # are English paraphrases); cross-validated, the meanings made title + summary worse
    meanings = 0.0 if full else float(min(shared_meanings(a.meanings, b.meanings), 3))
    gap = 0.0 if gap_hours is None else min(abs(gap_hours) / 24.0, 3.0)
    return (
        tokens,
        float(min(len(a.entities & b.entities), 2)),
        entities,
        places,
        1.0 if (_differ(a, b) if full else _title_places_differ(a, b)) else 0.0,
        float(min(shared_names, 3)),
        float(min(len(a.title_numbers & b.title_numbers), 2)),
        1.0 if _numbers_differ(a, b) else 0.0,
        1.0 if _title_places_differ(a, b) else 0.0,
        cross,
        cross * entities,
        cross * places,
        float(_cross_names(a, b)[0]) if cross else 0.0,
        float(min(len(a.actions & b.actions), 2)),
        differ,
        differ * gap,
        1.0 if a.step_actions != b.step_actions else 0.0,
        meanings,
        meanings if _languages_differ(a, b) else 0.0,
        gap,
    )


def _char_features(a: Signature, b: Signature, full: bool) -> tuple[float, float]:
    """``FEATURES[:2]``: character 3-gram cosines of the titles and of title + summary."""
    char_title = _cosine(a.title_grams, b.title_grams)
    if full:
        return char_title, _packed_cosine(a.text_grams, b.text_grams)
    return char_title, char_title


def pair_features(a: Signature, b: Signature, gap_hours: float | None) -> tuple[float, ...]:
    """The feature vector of a pair, in ``FEATURES`` order; ``gap_hours`` None when the time
    between the two events is unknown (one of them has no publication date)."""
    full = both_summaries(a, b)
    return (*_char_features(a, b, full), *_other_features(a, b, gap_hours, full))


def _languages_differ(a: Signature, b: Signature) -> bool:
    """Two scripts, or two languages the titles' function words tell apart."""
    return a.arabic != b.arabic or (bool(a.lang) and bool(b.lang) and a.lang != b.lang)


def _actions_differ(a: Signature, b: Signature) -> bool:
    """Both titles name actions and no family of one is a family of the other (freed /
    arrives; an attack and its toll are one family)."""
    fa, fb = a.action_families, b.action_families
    return bool(fa) and bool(fb) and fa.isdisjoint(fb)


def _close(x: int, y: int) -> bool:
    """Two counts one event can give (outlets round and update: 46 and 49 soldiers)."""
    return abs(x - y) <= max(2.0, 0.15 * max(x, y))


def _numbers_differ(a: Signature, b: Signature) -> bool:
    """Both titles give numbers and none of one is close to one of the other."""
    if not a.title_numbers or not b.title_numbers:
        return False
    return not any(_close(x, y) for x in a.title_numbers for y in b.title_numbers)


def _title_places_differ(a: Signature, b: Signature) -> bool:
    if not a.title_places or not b.title_places:
        return False
    return a.title_places.isdisjoint(b.title_places) and not _contains(a, b)


# Titles this close (character 3-gram cosine) are one template: "JNIM claims raid on X".
TEMPLATE_SIMILARITY = 0.5


def conflict(a: Signature, b: Signature) -> bool:
    """The precision guard: True when two items cannot be one event whatever the model says.

    Only on real places, title numbers and numbered instances: the titles name different
    gazetteer places AND give different numbers (another town and another toll), or they are
    one template (``TEMPLATE_SIMILARITY``) with either difference (raids on two towns, two
    tolls), or the two texts name different instances of one series (Game 1 / Game 2, first /
    second round; title + summary when both have a summary, else the titles). Rewrites that
    differ in more than one of them (an updated toll in another outlet's words) are left to
    the model, which has both differences as features.
    """
    if both_summaries(a, b):
        a_instances, b_instances = a.instances, b.instances
    else:
        a_instances, b_instances = a.title_instances, b.title_instances
    if _instances_differ(a_instances, b_instances):
        return True
    places, numbers = _title_places_differ(a, b), _numbers_differ(a, b)
    if places and numbers:  # another town and another toll: whatever the wording
        return True
    if not (places or numbers):
        return False
    return _cosine(a.title_grams, b.title_grams) >= TEMPLATE_SIMILARITY


# Title words of like meaning in common (bot.core.meanings) that are evidence of one event,
# with no anchor required. Chosen by the cross-validated figures among 1, 2, 3 words and 0 or
# 1 anchor in common (docs/dedup.md).
MEANING_EVIDENCE = 2

# Below this title character similarity, a title is not by itself evidence of one event.
EVIDENCE_TITLE_SIMILARITY = 0.35


def event_evidence(a: Signature, b: Signature) -> bool:
    """Whether a pair has evidence of one event beyond its topic: titles this close in
    characters (``EVIDENCE_TITLE_SIMILARITY``), a title number in common, two anchors (watched
    entities or places) in common, a name in common that is none of the anchors, one anchor
    and one action class with evidence, names across scripts, or ``MEANING_EVIDENCE`` title
    words of like meaning in any language (bot.core.meanings: *ambassadeur* / السفير).

    A single watched entity or its own place ("Mali", "Bamako") and generic words ("junta",
    "attack") are what a day of distinct stories of one country share: "Bamako: fuel convoys
    attacked" and "Bamako court hears case" are two events. Without evidence the model is not
    asked (``StoryModel.score`` gives the pair probability 0), and training leaves such pairs
    out (bench/story_data.py)."""
    full = both_summaries(a, b)
    if not a.title_numbers.isdisjoint(b.title_numbers):
        return True
    if full:
        anchors, specific = a.anchors & b.anchors, a.specific_names & b.specific_names
    else:
        anchors = a.title_anchors & b.title_anchors
        specific = a.title_specific_names & b.title_specific_names
    if len(anchors) >= 2 or specific or _cross_names(a, b)[1]:
        return True
    if anchors and not a.evidence_actions.isdisjoint(b.evidence_actions):
        return True
    if shared_meanings(a.meanings, b.meanings) >= MEANING_EVIDENCE:
        return True
    return _cosine(a.title_grams, b.title_grams) >= EVIDENCE_TITLE_SIMILARITY


# From this gap on, a title naming a step the other does not is the next step of a saga.
STEP_GAP_HOURS = 12.0


def later_step(a: Signature, b: Signature, gap_hours: float | None) -> bool:
    """Whether one of two reports at least ``STEP_GAP_HOURS`` apart names a step of a saga
    (a formal notice, a demand, an arrival, a probe, a pardon, a signature: the action
    classes marked ``step``) that the other does not: "Niger quits ECOWAS" and, the next day,
    "Niger formally notifies ECOWAS"; "hostage freed" and "ex-hostage arrives home". A
    numbered instance of a series named by one title only is such a step too ("Panthers fans
    fill arena for watch party" / two days later "... Game 2 watch party"; "Mali votes" /
    "second round"). Within hours such a difference is a detail of one report (a same-day
    reaction). An unknown gap (None: a report without a date) is taken as a long one: with
    no date, nothing says the step is a same-day detail (chosen by the cross-validated
    figures of the undated burst, docs/dedup.md)."""
    if gap_hours is not None and abs(gap_hours) < STEP_GAP_HOURS:
        return False
    return a.step_actions != b.step_actions or bool(a.title_instances) != bool(b.title_instances)


@dataclass(frozen=True, slots=True)
class _Variant:
    weights: tuple[float, ...]
    intercept: float
    threshold: float

    @property
    def logit_threshold(self) -> float:
        return math.log(self.threshold / (1.0 - self.threshold))


@dataclass(frozen=True, slots=True)
class StoryModel:
    """Logistic regressions over ``FEATURES``: ``full`` for pairs that both have a summary,
    ``title`` for the others; each with its decision threshold on probability. A pair whose
    time gap is unknown (``gap_hours`` None: one report has no publication date) is scored by
    ``full_undated`` / ``title_undated``, fitted without the gap features (their weights are
    0) and on every pair whatever its real gap: the gap of 0 h an undated burst would give is
    the strongest same-story prior there is. A file without them (fitted before they existed)
    scores such pairs with the dated variants at gap 0."""

    full: _Variant
    title: _Variant
    meta: Mapping[str, Any] = field(default_factory=dict)
    full_undated: _Variant | None = None
    title_undated: _Variant | None = None

    def variant(self, a: Signature, b: Signature, gap_hours: float | None = 0.0) -> _Variant:
        return self._variant(both_summaries(a, b), gap_hours is None)

    def _variant(self, full: bool, undated: bool) -> _Variant:
        if undated:
            v = self.full_undated if full else self.title_undated
            if v is not None:
                return v
        return self.full if full else self.title

    def probability(self, a: Signature, b: Signature, gap_hours: float | None) -> float:
        """P(same story) for a pair, before the guard."""
        v = self.variant(a, b, gap_hours)
        z = v.intercept + sum(
            w * x for w, x in zip(v.weights, pair_features(a, b, gap_hours), strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def score(self, a: Signature, b: Signature, gap_hours: float | None) -> float:
        """Margin over the variant's threshold (> 0: same story), or -inf when the guard
        refuses the pair; without ``event_evidence`` the margin of probability 0."""
        if conflict(a, b):
            return -math.inf
        v = self.variant(a, b, gap_hours)
        if not event_evidence(a, b) or later_step(a, b, gap_hours):
            return -v.threshold
        return self.probability(a, b, gap_hours) - v.threshold

    def quick_score(self, a: Signature, b: Signature, gap_hours: float | None) -> float | None:
        """``score``, or None when the pair cannot reach the threshold even with identical
        characters (the character similarities, the costly part, are then not computed)."""
        if conflict(a, b):
            return -math.inf
        full = both_summaries(a, b)
        v = self._variant(full, gap_hours is None)
        if not event_evidence(a, b) or later_step(a, b, gap_hours):
            return -v.threshold
        rest = v.intercept + sum(
            w * x
            for w, x in zip(v.weights[2:], _other_features(a, b, gap_hours, full), strict=True)
        )
        w_title, w_text = v.weights[:2]
        if rest + max(w_title, 0.0) + max(w_text, 0.0) < v.logit_threshold:
            return None
        c_title, c_text = _char_features(a, b, full)
        z = rest + w_title * c_title + w_text * c_text
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z)))) - v.threshold


def _variant(data: Any, where: str) -> _Variant:
    if not isinstance(data, Mapping):
        raise ModelError(f"{where}: must be a table")
    names = data.get("features")
    weights = data.get("weights")
    if list(names or ()) != list(FEATURES):
        raise ModelError(f"{where}: features must be exactly {', '.join(FEATURES)}")
    if not isinstance(weights, Sequence) or len(weights) != len(FEATURES):
        raise ModelError(f"{where}: weights must be {len(FEATURES)} numbers")
    try:
        ws = tuple(float(w) for w in weights)
        intercept = float(data["intercept"])
        threshold = float(data.get("threshold", 0.5))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{where}: bad number ({exc})") from exc
    if not all(math.isfinite(x) for x in (*ws, intercept)) or not 0.0 < threshold < 1.0:
        raise ModelError(f"{where}: weights must be finite and threshold in (0, 1)")
    return _Variant(ws, intercept, threshold)


def parse_story_model(data: Mapping[str, Any]) -> StoryModel:
    """A StoryModel from the parsed JSON of ``bot/data/story_model.json``; the undated
    variants (``full_undated``, ``title_undated``) may be absent (a file fitted before they
    existed), not malformed."""
    if not isinstance(data, Mapping):
        raise ModelError("the story model must be a JSON object")
    return StoryModel(
        full=_variant(data.get("full"), "full"),
        title=_variant(data.get("title"), "title"),
        meta=dict(data.get("meta") or {}),
        full_undated=_optional_variant(data, "full_undated"),
        title_undated=_optional_variant(data, "title_undated"),
    )


def _optional_variant(data: Mapping[str, Any], name: str) -> _Variant | None:
    return None if data.get(name) is None else _variant(data[name], name)
