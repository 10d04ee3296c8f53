"""Story fingerprints: the concept tokens, headline words, numbers, places and countries of an
item (a small EN/FR lexicon), one of the story model's signals (bot.core.story_model).

The token-Jaccard index that once grouped stories with them is bench/jaccard_index.py now.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass

from bot.core.normalize import fold, normalize

__all__ = [
    "COUNTRIES",
    "FINGERPRINT_VERSION",
    "LEXICON",
    "STOPWORDS",
    "Fingerprint",
    "fingerprint",
    "story_tokens",
]

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
