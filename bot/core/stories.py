"""Story-level near-duplicate clustering: fingerprints, a guarded similarity, a windowed index."""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core.normalize import fold, normalize

__all__ = [
    "DEFAULT_THRESHOLD",
    "DEFAULT_WINDOW",
    "FINGERPRINT_VERSION",
    "Fingerprint",
    "StoryIndex",
    "StoryMatch",
    "fingerprint",
    "jaccard",
    "same_event",
    "story_tokens",
]

# Tuned on tests/data/stories_labelled.json (see docs/dedup.md): precision first.
DEFAULT_THRESHOLD = 0.30
DEFAULT_WINDOW = timedelta(hours=72)
# Bump when tokenisation changes: stored fingerprints of another version must be recomputed
# from their title and summary, or they will not compare with new ones.
FINGERPRINT_VERSION = 1


def _w(text: str) -> tuple[str, ...]:
    """Whitespace-separated words of a vocabulary literal."""
    return tuple(text.split())


# ---------------------------------------------------------------------------------------------
# Vocabulary. Keys are in normalize() form (casefolded, accents removed).

_STOPWORDS = frozenset(
    _w(
        """
    a an the and or but of to in on at by for from with without as is are was were be been being
    it its this that these those has have had will would can could may might after before over
    under into out up down about than then there their they them he she his her him we our you
    says said say saying according report reports reported amid also more most new other some
    least not no yes who what which when where how why while during since until still again
    just only very two-week s t
    le la les l un une des de du d au aux et ou en dans sur sous par pour avec sans ce cet cette
    ces se sa son ses leur leurs qui que qu quoi dont ou est sont ete etre a ont avait avoir fait
    ne pas plus selon apres avant lors pendant depuis tout tous toute toutes il elle ils elles on
    nous vous lui y c j n m ainsi aussi encore deja afin contre entre chez mais donc or ni car
    moins tres autre autres nouveau nouvelle nouvel meme si annonce annoncent announce
    announces announced
    """
    )
)

# Bilingual (EN/FR) concept lexicon for Sahel security and politics news: rewrites and
# translations use different words for the same thing. One word maps to one concept.
_CONCEPTS: dict[str, tuple[str, ...]] = {
    "attack": _w(
        "attack attacks attacked attacking attaque attaques attaquer attaquent attaquee "
        "assault assaults assaut assauts raid raids storm storms stormed offensive"
    ),
    "strike": _w("strike strikes frappe frappes frapper frappe bombing bombardement"),
    "kill": _w(
        "kill kills killed killing tue tues tuee tuees tuer tuent mort morts dead death deaths "
        "died die dies deces morte mortes"
    ),
    "toll": _w("toll bilan"),
    "wounded": _w("wounded injured injuring blesse blesses blessee blessees"),
    "soldier": _w("soldier soldiers soldat soldats troop troops"),
    "military": _w("military militaire militaires"),
    "army": _w("army armee armees fama"),
    "camp": _w("camp camps base bases post posts poste postes"),
    "civilian": _w("civilian civilians civil civils civile civiles"),
    "child": _w("child children enfant enfants"),
    "jihadist": _w(
        "jihadist jihadists jihadiste jihadistes islamist islamists islamiste islamistes "
        "terrorist terrorists terroriste terroristes militant militants"
    ),
    "junta": _w("junta juntas junte juntes"),
    "leader": _w("leader leaders ruler rulers chef chefs head"),
    "term": _w("term terms mandate mandat mandats"),
    "year": _w("year years an ans annee annees"),
    "election": _w("election elections electoral scrutin"),
    "withdraw": _w(
        "withdraw withdraws withdrawal withdrawing withdrew leave leaves leaving quit quits "
        "quitte quittent quitter depart retrait retire retirent exit"
    ),
    "capital": _w("capital capitale"),
    "school": _w("school schools ecole ecoles"),
    "university": _w("university universities universite universites"),
    "airport": _w("airport airports aeroport aeroports"),
    "gendarmerie": _w("gendarmerie gendarmeries police"),
    "fuel": _w("fuel carburant carburants petrol essence gasoline"),
    "shortage": _w("shortage shortages penurie penuries"),
    "blockade": _w("blockade blockades blocus"),
    "queue": _w("queue queues file files"),
    "station": _w("station stations"),
    "party": _w("party parties parti partis"),
    "dissolve": _w("dissolve dissolves dissolved dissout dissous dissoute dissolution"),
    "decree": _w("decree decrees decret decrets"),
    "political": _w("political politique politiques"),
    "ecowas": _w("ecowas cedeao"),
    "west": _w("west western ouest"),
    "rebel": _w(
        "rebel rebels rebelle rebelles separatist separatists separatiste separatistes "
        "tuareg touareg touaregs"
    ),
    "seize": _w(
        "seize seizes seized saisit saisi saisie saisir take takes took taken prise pris prend "
        "reprend repris retake retakes retook capture captures captured"
    ),
    "control": _w("control controle"),
    "gold": _w("gold"),
    "mine": _w("mine mines minier miniere mining orpaillage"),
    "kidnap": _w(
        "kidnap kidnaps kidnapped abduct abducts abducted enleve enleves enlevee enlevement "
        "hostage hostages otage otages"
    ),
    "chinese": _w("chinese chinois chinoise"),
    "national": _w("national nationals ressortissant ressortissants worker workers"),
    "minister": _w("minister ministers ministre ministres"),
    "foreign": _w("foreign etrangere etrangeres diplomatie"),
    "meet": _w("meet meets met hosts host hosted receives recoit recu rencontre talks"),
    "russia": _w("russia russian russians russe russes russie kremlin"),
    "mercenary": _w(
        "mercenary mercenaries mercenaire mercenaires paramilitary paramilitaire paramilitaires"
    ),
    "complete": _w("complete completes completed acheve achever achevement end ends fin"),
    "claim": _w("claim claims claimed revendique revendiquent revendication"),
    "coordinated": _w("coordinated coordonnee coordonnees simultaneous simultanee simultanees"),
    "town": _w("town towns ville villes city cities"),
    "village": _w("village villages"),
    "border": _w("border borders frontiere frontieres"),
    "wedding": _w("wedding weddings mariage mariages"),
    "nuclear": _w("nuclear nucleaire"),
    "energy": _w("energy energie"),
    "agreement": _w("agreement agreements deal deals accord accords"),
    "summit": _w("summit summits sommet sommets"),
    "peacekeeping": _w("peacekeeping peacekeepers peacekeeper casques"),
    "mali": _w("mali malian malians malien maliens malienne maliennes"),
    "burkina": _w("burkina burkinabe"),
    "niger": _w("niger nigerien nigerienne"),
    "suspend": _w("suspend suspends suspended suspend suspendent suspension"),
    "week": _w("week weeks semaine semaines"),
}
_LEXICON: dict[str, str] = {w: c for c, words in _CONCEPTS.items() for w in words}

_NUMBER_WORDS: dict[str, str] = {
    **dict(
        zip(
            _w(
                "two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                "fifteen sixteen seventeen eighteen nineteen twenty"
            ),
            map(str, range(2, 21)),
            strict=True,
        )
    ),
    **dict(
        zip(
            _w(
                "deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze "
                "quinze seize"
            ),
            map(str, range(2, 17)),
            strict=True,
        )
    ),
    "vingt": "20",
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "hundred": "100",
    "trente": "30",
    "quarante": "40",
    "cinquante": "50",
    "cent": "100",
}

# Localities in the news (normalize() form) mapped to one spelling: French and English names
# (Tombouctou / Timbuktu) and the transliterations of Tinzaouaten seen in Sahel outlets.
_PLACE_ALIASES: dict[str, str] = {
    "tombouctou": "timbuktu",
    "tinzaouatene": "tinzaouaten",
    "tinzaouatine": "tinzaouaten",
    "moscou": "moscow",
    "alger": "algiers",
}
_GAZETTEER = frozenset(
    _w("""
    kidal gao timbuktu menaka mopti segou kayes nioro kati tessalit aguelhok boulkessi lere
    tinzaouaten bamako djenne douentza bandiagara niono sevare ansongo bourem anefis hombori
    koulikoro sikasso diboli faladie senou intahaka dioura farabougou nara diafarabe macina
    ouagadougou niamey djibo tillaberi abuja moscow algiers dakar abidjan loulo gounkoto
    """)
) | frozenset(_PLACE_ALIASES)
_COUNTRIES = frozenset(
    _w(
        "mali burkina niger algeria algerie mauritania mauritanie senegal guinea guinee chad "
        "tchad nigeria"
    )
)
# Capitalised words after these are taken as places ("in Léré", "à Nioro", "near Gao").
_LOCATIVE = frozenset(_w("in near at a dans vers"))
_NOT_PLACES = frozenset(
    _w(
        "africa afrique sahel west ouest north nord south sud east est central centre the le "
        "la les l un une least moins"
    )
)
# Shared with bot.core.story_model (names are what is neither a function word, a concept nor
# a country).
STOPWORDS = _STOPWORDS
LEXICON = _LEXICON
COUNTRIES = _COUNTRIES
_YEAR_RE = re.compile(r"^(19|20)\d\d$")


def _stem(word: str) -> str:
    """Light plural folding for words outside the lexicon (``ministers`` -> ``minister``)."""
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What story clustering needs from one item, in a compact serialisable form.

    ``tokens`` are the normalised content words of title and summary (concepts, numbers as
    ``#n``, places), ``headline`` those of the title alone; ``headline``, ``numbers``,
    ``places`` and ``countries`` feed the precision guard (``same_event``).
    """

    tokens: frozenset[str]
    headline: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()

    def to_json(self) -> str:
        """Compact JSON (sorted lists), stable across runs, with the fingerprint version."""
        return json.dumps(
            {
                "v": FINGERPRINT_VERSION,
                "t": sorted(self.tokens),
                "h": sorted(self.headline),
                "n": sorted(self.numbers),
                "p": sorted(self.places),
                "c": sorted(self.countries),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Fingerprint:
        """Inverse of ``to_json``. Raises ValueError for another FINGERPRINT_VERSION."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != FINGERPRINT_VERSION:
            raise ValueError("fingerprint version mismatch: recompute it from title and summary")
        return cls(
            frozenset(data["t"]),
            frozenset(data["h"]),
            frozenset(data["n"]),
            frozenset(data["p"]),
            frozenset(data["c"]),
        )


def _places_after_locatives(text: str) -> set[str]:
    words = fold(text).split()
    found: set[str] = set()
    for prev, word in itertools.pairwise(words):
        if prev.casefold() in _LOCATIVE and word[:1].isupper():
            w = word.casefold()
            if w not in _NOT_PLACES and w not in _COUNTRIES and w not in _LEXICON:
                found.add(_PLACE_ALIASES.get(w, w))
    return found


def _scan(
    text: str, tokens: set[str], numbers: set[str], places: set[str], countries: set[str]
) -> None:
    words = normalize(text).split()
    for prev, word in zip(["", *words], words, strict=False):
        if word.isdecimal():  # isdigit() also takes "❶", which int() refuses
            n = str(int(word))
            tokens.add("#" + n)
            if not _YEAR_RE.match(word) and prev != "france":  # "France 24" is an outlet
                numbers.add(n)
            continue
        if word in _NUMBER_WORDS:
            n = _NUMBER_WORDS[word]
            tokens.add("#" + n)
            numbers.add(n)
            continue
        if word in _STOPWORDS or len(word) < 2:
            continue
        if word in _GAZETTEER:
            place = _PLACE_ALIASES.get(word, word)
            places.add(place)
            tokens.add(place)
            continue
        concept = _LEXICON.get(word)
        if concept is None:
            concept = _LEXICON.get(_stem(word), _stem(word))
        if concept in _COUNTRIES:
            countries.add(concept)
        tokens.add(concept)
    for place in _places_after_locatives(text):
        places.add(place)
        tokens.add(place)


def fingerprint(title: str, summary: str) -> Fingerprint:
    """Fingerprint of one item from its title and summary (plain text)."""
    headline: set[str] = set()
    numbers: set[str] = set()
    places: set[str] = set()
    countries: set[str] = set()
    _scan(title, headline, numbers, places, countries)
    tokens = set(headline)
    _scan(summary, tokens, numbers, places, countries)
    return Fingerprint(
        frozenset(tokens),
        frozenset(headline),
        frozenset(numbers),
        frozenset(places),
        frozenset(countries),
    )


def story_tokens(title: str, summary: str) -> frozenset[str]:
    """The normalised token set compared between items (``fingerprint(...).tokens``)."""
    return fingerprint(title, summary).tokens


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two token sets (0.0 when both are empty)."""
    if not a and not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def _conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a) and bool(b) and a.isdisjoint(b)


def same_event(a: Fingerprint, b: Fingerprint) -> bool:
    """Precision guard, on top of token similarity. False when:

    - both items give numbers, localities or countries and share none of them (two attacks
      in two towns, or with two death tolls, stay apart);
    - their headlines share no content word other than country names (two stories about
      the same countries whose summaries overlap);
    - one headline names a locality and the other item names none at all (a summit in
      Abuja is not the story of the bloc it discusses).
    """
    if a.headline and b.headline and (a.headline & b.headline) <= _COUNTRIES:
        return False
    if (a.headline & a.places and not b.places) or (b.headline & b.places and not a.places):
        return False
    return not (
        _conflict(a.numbers, b.numbers)
        or _conflict(a.places, b.places)
        or _conflict(a.countries, b.countries)
    )


@dataclass(frozen=True, slots=True)
class StoryMatch:
    """The best story for an item and how similar its closest member is."""

    story_id: int
    similarity: float


def _ts(at: datetime) -> float:
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()


def _prefix_len(n: int, threshold: float) -> int:
    """How many of a set's first tokens (in index order) any set with Jaccard >= t must hit.

    J(x, y) >= t implies |x & y| >= t * |x|, so at most ``n - ceil(t * n)`` of x's tokens can
    be missed: the first ``n - ceil(t * n) + 1`` hold at least one shared token. The epsilon
    keeps float rounding (0.3 * 10 = 3.0000000000000004) from shortening the prefix.
    """
    return n - max(1, math.ceil(threshold * n - 1e-9)) + 1


# A member: (token ids, headline, numbers, places, countries, story id). Token ids index the
# vocabulary; the guard fields are interned strings, so members share them.
_Member = tuple[
    tuple[int, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], int
]

_REINDEX_MIN = 1024


class StoryIndex:
    """Stories of the last ``window``: find the story an item belongs to, add items to stories.

    ``match`` returns what comparing the item with every member would return (highest
    Jaccard >= threshold passing ``same_event``, ties to the earliest member). Candidates come
    from an inverted index with prefix filtering on both sides (AllPairs): tokens are put in
    one global order, rarest first (document frequencies of the last re-index; tokens first
    seen since then count as rarest). A member y with Jaccard >= t against any x shares at
    least ceil(t*|y|) tokens with it, so only y's first |y| - ceil(t*|y|) + 1 tokens are
    indexed; the query probes only its own first |x| - ceil(t*|x|) + 1. When two sets share
    enough tokens, their prefixes in one order intersect, so no match is missed. Frequent
    tokens ("mali", "attack") sit in the unindexed tails, which is what makes lookups cheap.
    Exact while the probed postings hold at most ``scan_budget`` slots (None: always). Beyond
    that, every probed token still contributes, but a long posting list only its newest slots
    (at least ``min_share``; rarer tokens first, each taking an equal share of what is left):
    verifying a candidate costs about 0.5 us, so the budget bounds the cost of a lookup on a
    very large index. What it can miss is an old member reachable only through frequent
    tokens; other reports of one story are mostly recent (bench/dedup.py measures both).
    The index re-orders itself when it has doubled since the last re-index (amortised O(1)
    per add), and compacts when ``prune`` has dropped most members.
    Members keep token ids and interned guard fields, not the Fingerprint objects.
    An item joins a story only within ``window`` of the story's first item.
    Index only what belongs to a story (matched items); naive datetimes are taken as UTC.
    """

    def __init__(
        self,
        window: timedelta = DEFAULT_WINDOW,
        threshold: float = DEFAULT_THRESHOLD,
        scan_budget: int | None = 64,
        min_share: int = 4,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.window = window
        self.threshold = threshold
        self.scan_budget = scan_budget
        self.min_share = min_share
        self._vocab: dict[str, int] = {}
        self._tokens: list[str] = []  # token id -> token
        self._rank = array("q")  # token id -> position in the global order (lower: rarer)
        self._next_rank = -1  # tokens new since the last re-index rank first, newest first
        self._postings: list[list[int]] = []  # token id -> slots whose prefix holds it
        self._members: list[_Member | None] = []  # by slot; None once pruned
        self._ids: list[tuple[int, ...]] = []  # by slot: the member's token ids; () once pruned
        self._story_start: dict[int, float] = {}
        # No story started before this: prune (called for every grouped item) returns at
        # once until something can have expired.
        self._min_start = math.inf
        self._story_slots: dict[int, list[int]] = {}
        self._live = 0
        self._reindex_at = _REINDEX_MIN

    def __len__(self) -> int:
        """Number of live members (indexed items)."""
        return self._live

    @property
    def story_count(self) -> int:
        """Number of stories with at least one live member."""
        return len(self._story_start)

    def _token_id(self, tok: str) -> int:
        tid = self._vocab.get(tok)
        if tid is None:
            tok = sys.intern(tok)
            tid = self._vocab[tok] = len(self._tokens)
            self._tokens.append(tok)
            self._rank.append(self._next_rank)
            self._next_rank -= 1
            self._postings.append([])
        return tid

    def add(self, story_id: int, fp: Fingerprint, at: datetime) -> None:
        """Index an item as a member of ``story_id`` (the story starts at its earliest member)."""
        if len(self._members) >= self._reindex_at:
            self._reindex()
        slot = len(self._members)
        ids = sorted(map(self._token_id, fp.tokens), key=self._rank.__getitem__)
        postings = self._postings
        for tid in ids[: _prefix_len(len(ids), self.threshold)]:
            postings[tid].append(slot)
        self._ids.append(tuple(ids))
        self._members.append(
            (
                self._ids[-1],
                tuple(map(sys.intern, fp.headline)),
                tuple(map(sys.intern, fp.numbers)),
                tuple(map(sys.intern, fp.places)),
                tuple(map(sys.intern, fp.countries)),
                story_id,
            )
        )
        t = _ts(at)
        start = self._story_start.get(story_id)
        if start is None or t < start:
            self._story_start[story_id] = t
            self._min_start = min(self._min_start, t)
        self._story_slots.setdefault(story_id, []).append(slot)
        self._live += 1

    def _fingerprint(self, member: _Member) -> Fingerprint:
        tokens = self._tokens
        ids, headline, numbers, places, countries, _sid = member
        return Fingerprint(
            frozenset(tokens[i] for i in ids),
            frozenset(headline),
            frozenset(numbers),
            frozenset(places),
            frozenset(countries),
        )

    def match(self, fp: Fingerprint, at: datetime) -> StoryMatch | None:
        """Best story for ``fp`` at time ``at``: highest Jaccard >= threshold among members of
        stories started within ``window`` before ``at`` (or after it), passing ``same_event``."""
        n = len(fp.tokens)
        if not n or not self._live:
            return None
        vocab = self._vocab
        known = [tid for tid in map(vocab.get, fp.tokens) if tid is not None]
        # Tokens the index has never seen come first in the order and hit nothing.
        probe = _prefix_len(n, self.threshold) - (n - len(known))
        if probe <= 0:
            return None
        known.sort(key=self._rank.__getitem__)
        postings = self._postings
        candidates: set[int] = set()
        budget = self.scan_budget
        probed = known[:probe]
        if budget is None or sum(len(postings[tid]) for tid in probed) <= budget:
            for tid in probed:
                candidates.update(postings[tid])
        else:
            # Over budget: every probed token still contributes, rarest first, but a long
            # posting list gives only its newest slots (slots ascend with time: a story's
            # other reports are mostly recent). Each token gets an equal share of what the
            # rarer tokens left unused.
            left = budget
            for i, tid in enumerate(probed):
                share = max(left // (len(probed) - i), self.min_share)
                slots = postings[tid]
                candidates.update(slots if len(slots) <= share else slots[-share:])
                left -= min(len(slots), share)
        if not candidates:
            return None
        # Overlaps of all candidates at C speed; only those that can reach the threshold
        # (|x & y| >= t * |x|) go through the Python-level checks.
        qids = set(known)
        slots = list(candidates)
        overlaps = map(len, map(qids.intersection, map(self._ids.__getitem__, slots)))
        need = math.ceil(self.threshold * n - 1e-9)
        threshold = self.threshold
        members = self._members
        starts = self._story_start
        t_at = _ts(at)
        window = self.window.total_seconds()
        best_sim, best_slot, best_story = 0.0, -1, -1
        for slot in itertools.compress(slots, map(need.__le__, overlaps)):
            member = members[slot]
            if member is None:
                continue
            ids = member[0]
            inter = len(qids.intersection(ids))
            sim = inter / (n + len(ids) - inter)
            if sim < threshold or sim < best_sim or (sim == best_sim and slot > best_slot):
                continue  # ties go to the earliest member
            story_id = member[5]
            if not -window <= t_at - starts[story_id] <= window:
                continue
            if same_event(fp, self._fingerprint(member)):
                best_sim, best_slot, best_story = sim, slot, story_id
        return None if best_slot < 0 else StoryMatch(best_story, best_sim)

    def find(self, fp: Fingerprint, at: datetime) -> int | None:
        """Story id for ``fp`` at ``at`` (see ``match``), or None for a new story."""
        m = self.match(fp, at)
        return None if m is None else m.story_id

    def prune(self, now: datetime) -> int:
        """Forget stories that started more than ``window`` before ``now``; return how many
        members were dropped. Compacts the index when most slots are dead."""
        cutoff = _ts(now) - self.window.total_seconds()
        if cutoff <= self._min_start:
            return 0
        old = [sid for sid, start in self._story_start.items() if start < cutoff]
        self._min_start = min(
            (start for start in self._story_start.values() if start >= cutoff), default=math.inf
        )
        dropped = 0
        for sid in old:
            del self._story_start[sid]
            for slot in self._story_slots.pop(sid):
                self._members[slot] = None
                self._ids[slot] = ()
                dropped += 1
        self._live -= dropped
        if dropped and self._live < len(self._members) // 2:
            self._reindex()
        return dropped

    def _reindex(self) -> None:
        """Drop dead slots and unused tokens, re-rank tokens by document frequency, re-index."""
        live = [m for m in self._members if m is not None]
        df = Counter(tid for m in live for tid in m[0])
        order = sorted(df, key=lambda tid: (df[tid], tid))  # rarest first
        new_id = {old: new for new, old in enumerate(order)}
        self._tokens = [self._tokens[old] for old in order]
        self._vocab = {tok: tid for tid, tok in enumerate(self._tokens)}
        self._rank = array("q", range(len(order)))  # token ids are now in rank order
        self._next_rank = -1
        postings: list[list[int]] = [[] for _ in order]
        slots_by_story: dict[int, list[int]] = {}
        self._postings = postings
        self._members = []
        self._ids = []
        self._story_slots = slots_by_story
        threshold = self.threshold
        for slot, (ids, headline, numbers, places, countries, story_id) in enumerate(live):
            new_ids = tuple(sorted(new_id[tid] for tid in ids))
            for tid in new_ids[: _prefix_len(len(new_ids), threshold)]:
                postings[tid].append(slot)
            self._ids.append(new_ids)
            self._members.append((new_ids, headline, numbers, places, countries, story_id))
            slots_by_story.setdefault(story_id, []).append(slot)
        self._reindex_at = max(_REINDEX_MIN, 2 * len(live))

    def rebuild(self, rows: Iterable[tuple[int, Fingerprint, datetime]]) -> None:
        """Add ``(story_id, fingerprint, at)`` rows, e.g. loaded from storage at start-up."""
        for story_id, fp, at in rows:
            self.add(story_id, fp, at)
