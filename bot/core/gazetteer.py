"""The Sahel gazetteer: parsed place records and a whole-word place finder over news text.

Pure: the adapter ``bot.data.gazetteer_file`` reads ``bot/data/gazetteer.json`` and hands the
mapping to ``parse_gazetteer``. ``Gazetteer.find`` returns the places a text names, using one
Aho-Corasick pass over the normalised text (the same keys as the watchlist matcher, so Arabic
proclitics and accent-free spellings are found too).

Ambiguous names (a place name that is also a common word, a surname or a place elsewhere:
"Say", "Kati", "Keïta", "Léré") are marked per name in the data. An ambiguous name counts only
when it is written with its capital letter(s) and the text also gives a Sahel context: the
place's country by name, another place of that country found by an unambiguous name, or one of
the place's own context words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import ahocorasick

from bot.core.errors import GazetteerError
from bot.core.matching import phrase_keys
from bot.core.normalize import fold, normalize
from bot.core.table_keys import unknown_key, unknown_keys

_ARABIC = re.compile("[\u0600-\u06ff]")


class PlaceKind(StrEnum):
    """What kind of place an entry is (drives map markers and the most-specific-first order)."""

    CAPITAL = "capital"
    CITY = "city"
    TOWN = "town"
    VILLAGE = "village"
    CAMP = "camp"
    BORDER_POST = "border_post"
    REGION = "region"
    AREA = "area"  # a park, forest or other area that is not an administrative unit


# Lower is more specific: a camp or village is listed before the town, the region last.
SPECIFICITY = {
    PlaceKind.CAMP: 0,
    PlaceKind.BORDER_POST: 0,
    PlaceKind.VILLAGE: 1,
    PlaceKind.TOWN: 2,
    PlaceKind.CITY: 2,
    PlaceKind.CAPITAL: 2,
    PlaceKind.AREA: 3,
    PlaceKind.REGION: 4,
}


# How sure the gazetteer is of a place, as in ../shared/eval/places.json.
Confidence = Literal["high", "medium", "low"]


@dataclass(frozen=True, slots=True)
class Place:
    """One place: names in EN/FR/AR (and variants), coordinates (WGS84) and their source.

    ``names`` holds every spelling searched for, ``name`` first. ``ambiguous`` holds the
    spellings that are also common words or other things (they need a Sahel context, see the
    module docstring). ``context`` holds extra words that vouch for an ambiguous name.
    """

    id: str
    name: str
    country: str  # ISO 3166-1 alpha-2, e.g. "ML", "BF", "NE"
    kind: PlaceKind
    admin1: str | None
    lat: float
    lon: float
    names: tuple[str, ...]
    source: str
    confidence: Confidence = "medium"
    ambiguous: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    note: str = ""

    @property
    def arabic_name(self) -> str | None:
        """The first Arabic spelling, for map labels in Arabic (None when there is none)."""
        return next((n for n in self.names if _ARABIC.search(n)), None)

    @property
    def label(self) -> str:
        """The name with its region, for one-line alerts: ``Boulkessi (Mopti)``."""
        if self.admin1 and self.kind is not PlaceKind.REGION and self.admin1 != self.name:
            return f"{self.name} ({self.admin1})"
        return self.name


@dataclass(frozen=True, slots=True)
class PlaceMention:
    """A place named in a text. ``start``/``end`` index ``normalize(text)``; ``surface`` is
    that normalised slice (the spelling as found, accents and case folded)."""

    place: Place
    start: int
    end: int
    surface: str


_KIND_ALIASES = {
    "protected area": PlaceKind.AREA,
    "department": PlaceKind.REGION,
    "admin1": PlaceKind.REGION,
    "military camp": PlaceKind.CAMP,
    "border post": PlaceKind.BORDER_POST,
}
_ISO2 = re.compile("^[A-Z]{2}$")
_PLACE_KEYS = {
    "id", "name", "country", "kind", "admin1", "lat", "lon", "names", "source", "confidence",
    "ambiguous", "context", "note",
}  # fmt: skip


class Gazetteer:
    """A set of places compiled for search. Build it once with ``Gazetteer(places)``."""

    def __init__(
        self,
        places: Iterable[Place],
        country_names: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self._places: dict[str, Place] = {}
        for place in places:
            if place.id in self._places:
                raise GazetteerError(f"place id {place.id!r} appears twice")
            self._places[place.id] = place
        self._country_names = {c: tuple(n) for c, n in (country_names or {}).items()}
        # key -> list of (place id, ambiguous?) ; ambiguous keys live in the cased automaton
        folded: dict[str, list[tuple[str, bool]]] = {}
        cased: dict[str, list[tuple[str, bool]]] = {}
        context: dict[str, list[str]] = {}  # key -> countries or place ids it vouches for
        for place in self._places.values():
            ambiguous = {normalize(a) for a in place.ambiguous}
            for spelling in place.names:
                amb = normalize(spelling) in ambiguous
                latin_amb = amb and not _ARABIC.search(spelling)
                for key in phrase_keys(spelling, case_sensitive=latin_amb):
                    table = cased if latin_amb else folded
                    slot = table.setdefault(key, [])
                    if (place.id, amb) not in slot:
                        slot.append((place.id, amb))
            for word in place.context:
                for key in phrase_keys(word):
                    context.setdefault(key, []).append(place.id)
        for country, names in self._country_names.items():
            for word in names:
                for key in phrase_keys(word):
                    context.setdefault(key, []).append(country)
        self._folded = _automaton({k: ("p", tuple(v)) for k, v in folded.items()}, context)
        self._cased = _automaton({k: ("p", tuple(v)) for k, v in cased.items()}, {})

    def __len__(self) -> int:
        return len(self._places)

    def __iter__(self) -> Iterator[Place]:
        return iter(self._places.values())

    def get(self, place_id: str) -> Place | None:
        """The place with this id, or None."""
        return self._places.get(place_id)

    def by_name(self, name: str) -> list[Place]:
        """Places any of whose spellings normalises like ``name`` (for ``place:`` filters)."""
        key = normalize(name)
        return [p for p in self._places.values() if any(normalize(n) == key for n in p.names)]

    def find(self, text: str) -> list[PlaceMention]:
        """Places named in ``text`` as whole words, in text order, without overlaps.

        Where spellings overlap ("Gao" inside "région de Gao") the longest wins. Where one
        spelling names several places (two towns called Tibiri), the one whose country the
        text names wins, then the first in the data. Ambiguous names need a context.
        """
        if not text or not self._places:
            return []
        kept = fold(text)
        padded = f" {kept.casefold()} "
        raw: list[tuple[int, int, tuple[tuple[str, bool], ...]]] = []
        vouched: set[str] = set()
        if self._folded is not None:
            for end, (length, kind, payload) in self._folded.iter(padded):
                if kind == "p":
                    raw.append((end - length + 1, end, payload))
                else:
                    vouched.update(payload)
        if self._cased is not None:
            for end, (length, _kind, payload) in self._cased.iter(f" {kept} "):
                raw.append((end - length + 1, end, payload))
        if not raw:
            return []
        # Unambiguous finds vouch for their country (another Malian place makes "Kati" Malian).
        for _s, _e, payload in raw:
            for pid, amb in payload:
                if not amb:
                    vouched.add(self._places[pid].country)
        raw.sort(key=lambda r: (r[0], -(r[1] - r[0])))
        out: list[PlaceMention] = []
        last_end = -1
        for start, end, payload in raw:
            # keys are padded with a space on both sides: the word is [start + 1, end - 1)
            if start + 1 < last_end:
                continue
            candidates = [
                self._places[pid]
                for pid, amb in payload
                if not amb or pid in vouched or self._places[pid].country in vouched
            ]
            if not candidates:
                continue
            best = min(
                candidates,
                key=lambda p: 0 if p.country in vouched else 1,
            )
            s, e = start, end - 1  # padded index -> unpadded: shift by one on each side
            out.append(PlaceMention(best, s, e, padded[start + 1 : end]))
            last_end = end
        return out


def _automaton(
    places: dict[str, tuple[str, tuple[tuple[str, bool], ...]]],
    context: dict[str, list[str]],
) -> Any:
    entries: dict[str, tuple[int, str, tuple[Any, ...]]] = {}
    for key, (kind, payload) in places.items():
        entries[key] = (len(key), kind, payload)
    for key, owners in context.items():
        if key not in entries:  # a place name is also context: handled as "unambiguous find"
            entries[key] = (len(key), "c", tuple(dict.fromkeys(owners)))
    if not entries:
        return None
    auto = ahocorasick.Automaton()
    for key, value in entries.items():
        auto.add_word(key, value)
    auto.make_automaton()
    return auto


def _text(entry: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = entry.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise GazetteerError(f"{where}: {key!r} must be a non-empty string")
    return value.strip()


def _texts(entry: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise GazetteerError(f"{where}: {key!r} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def parse_place(entry: Mapping[str, Any], where: str = "place") -> Place:
    """Validate one gazetteer entry; raises ``GazetteerError`` naming the bad field."""
    if not isinstance(entry, Mapping):
        raise GazetteerError(f"{where}: an entry must be an object")
    unknown = unknown_keys(entry, _PLACE_KEYS)
    if unknown:
        raise GazetteerError(f"{where}: {unknown_key(unknown[0], _PLACE_KEYS)}")
    pid = _text(entry, "id", where)
    where = f"place {pid!r}"
    name = _text(entry, "name", where)
    country = _text(entry, "country", where)
    if not _ISO2.match(country):
        raise GazetteerError(f"{where}: country {country!r} is not an ISO 3166 alpha-2 code")
    kind_text = _text(entry, "kind", where).lower()
    try:
        kind = PlaceKind(_KIND_ALIASES.get(kind_text, kind_text))
    except ValueError:
        kinds = ", ".join(k.value for k in PlaceKind)
        raise GazetteerError(f"{where}: kind {kind_text!r} is not one of {kinds}") from None
    lat, lon = entry.get("lat"), entry.get("lon")
    if not isinstance(lat, int | float) or isinstance(lat, bool) or not -90 <= lat <= 90:
        raise GazetteerError(f"{where}: lat must be a number in [-90, 90]")
    if not isinstance(lon, int | float) or isinstance(lon, bool) or not -180 <= lon <= 180:
        raise GazetteerError(f"{where}: lon must be a number in [-180, 180]")
    source = _text(entry, "source", where)
    names = tuple(dict.fromkeys((name, *_texts(entry, "names", where))))
    ambiguous = _texts(entry, "ambiguous", where)
    folded_names = {normalize(n) for n in names}
    stray = [a for a in ambiguous if normalize(a) not in folded_names]
    if stray:
        raise GazetteerError(f"{where}: ambiguous names {stray} are not among its names")
    if not any(normalize(n) for n in names):
        raise GazetteerError(f"{where}: no name survives normalisation")
    confidence: Confidence
    match _text(entry, "confidence", where, required=False) or "medium":
        case "high" | "medium" | "low" as known:
            confidence = known
        case _:
            raise GazetteerError(f"{where}: confidence must be high, medium or low")
    admin1 = _text(entry, "admin1", where, required=False) or None
    return Place(
        id=pid,
        name=name,
        country=country,
        kind=kind,
        admin1=admin1,
        lat=float(lat),
        lon=float(lon),
        names=names,
        source=source,
        confidence=confidence,
        ambiguous=ambiguous,
        context=_texts(entry, "context", where),
        note=_text(entry, "note", where, required=False),
    )


def parse_gazetteer(mapping: Mapping[str, Any]) -> Gazetteer:
    """Build a ``Gazetteer`` from the parsed JSON document ``{"countries": …, "places": […]}``.

    ``countries`` maps ISO2 codes to names of the country (EN/FR/AR, adjectives too) that
    vouch for ambiguous place names. Raises ``GazetteerError`` on the first bad entry.
    """
    places, country_names = parse_gazetteer_entries(mapping)
    return Gazetteer(places, country_names)


def parse_gazetteer_entries(
    mapping: Mapping[str, Any],
) -> tuple[list[Place], dict[str, tuple[str, ...]]]:
    """The places and country names of a gazetteer document, checked, without compiling the
    search automata (``Gazetteer(...)`` does that): for callers that only need the names."""
    if not isinstance(mapping, Mapping):
        raise GazetteerError("the gazetteer must be an object with a 'places' list")
    places_data = mapping.get("places")
    if not isinstance(places_data, list) or not places_data:
        raise GazetteerError("the gazetteer needs a non-empty 'places' list")
    countries = mapping.get("countries", {})
    if not isinstance(countries, Mapping):
        raise GazetteerError("'countries' must map ISO2 codes to lists of names")
    country_names: dict[str, tuple[str, ...]] = {}
    for code, names in countries.items():
        if not _ISO2.match(str(code)) or not isinstance(names, list):
            raise GazetteerError(f"countries: {code!r} must be an ISO2 code with a list of names")
        country_names[str(code)] = tuple(str(n) for n in names)
    places = [parse_place(entry, f"places[{i}]") for i, entry in enumerate(places_data)]
    return places, country_names
