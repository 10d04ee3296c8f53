"""Incident typing: ACLED event type, sub-event, fatalities, places and severity of a news item.

Pure. The trigger lexicon (``bot/data/incident_lexicon.toml``) is read by
``bot.data.incident_data`` and parsed here by ``parse_lexicon``; the places come from the Sahel
gazetteer. Triggers are compiled into one Aho-Corasick automaton (the watchlist matcher's
keys, so accents, case and Arabic proclitics are folded the same way). Every decision keeps
its reasons, for ``/test`` and ``match --json``.
"""

from __future__ import annotations

import html
import math
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar

import ahocorasick

from bot.core.errors import LexiconError
from bot.core.gazetteer import SPECIFICITY, Gazetteer, Place, PlaceKind
from bot.core.matching import phrase_keys
from bot.core.normalize import normalize
from bot.core.table_keys import unknown_key, unknown_keys
from bot.core.text import TAG
from bot.core.watchlist import Priority

_E = TypeVar("_E", bound=StrEnum)


class EventType(StrEnum):
    """ACLED top-level event types."""

    BATTLES = "battles"
    EXPLOSIONS = "explosions_remote_violence"
    VIOLENCE_AGAINST_CIVILIANS = "violence_against_civilians"
    PROTESTS = "protests"
    RIOTS = "riots"
    STRATEGIC = "strategic_developments"


class Severity(StrEnum):
    """How serious an incident is (README-events.md's rule)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return {"high": 2, "medium": 1, "low": 0}[self.value]


VIOLENT = frozenset(
    {EventType.BATTLES, EventType.EXPLOSIONS, EventType.VIOLENCE_AGAINST_CIVILIANS, EventType.RIOTS}
)
# An attack in a capital is high (README-events.md); a riot there is not an attack: medium.
ATTACKS = VIOLENT - {EventType.RIOTS}

EVENT_ICONS = {
    EventType.BATTLES: ("⚔️", "Battle"),
    EventType.EXPLOSIONS: ("💥", "Explosion/remote violence"),
    EventType.VIOLENCE_AGAINST_CIVILIANS: ("🩸", "Violence against civilians"),
    EventType.PROTESTS: ("✊", "Protest"),
    EventType.RIOTS: ("🔥", "Riot"),
    EventType.STRATEGIC: ("♟️", "Strategic development"),
}
# Sub-events that read better than the type in the alert line.
SUB_EVENT_LABELS = {
    "air/drone strike": ("💥", "Drone/air strike"),
    "remote explosive/landmine/IED": ("💥", "IED/landmine"),
    "suicide bomb": ("💥", "Suicide bombing"),
    "abduction/forced disappearance": ("🩸", "Abduction"),
    "arrests": ("♟️", "Arrests"),
    "non-violent transfer of territory": ("♟️", "Base handover"),
    "agreement": ("♟️", "Agreement"),
}


@dataclass(frozen=True, slots=True)
class Trigger:
    """Words that vote for an event type (``None``: for "not an incident")."""

    event_type: EventType | None
    sub_event: str | None
    weight: float
    reason: str
    phrases: tuple[str, ...] = ()
    near: tuple[tuple[str, ...], ...] = ()
    window: int = 8


@dataclass(frozen=True, slots=True)
class FatalityWords:
    """The vocabulary of the fatality reader (all normalised)."""

    death_words: tuple[str, ...]
    kill_verbs: tuple[str, ...]
    toll_words: tuple[str, ...]
    toll_links: tuple[str, ...]
    qualifiers: tuple[str, ...]
    not_death: tuple[str, ...]
    inclusion: tuple[str, ...]
    superseded: tuple[str, ...]
    attackers: tuple[str, ...]
    civilians: tuple[str, ...]
    soldiers: tuple[str, ...]
    fillers: tuple[str, ...]
    numbers: Mapping[str, int]
    # Earlier in the clause: the toll is that of several earlier, separate attacks
    # ("after two deadly attacks in a week, which killed over 100"), not this incident's.
    earlier: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SeverityRules:
    high_fatalities: int
    mass_abduction: int
    capitals: frozenset[str]
    major_bases: frozenset[str]
    base_words: tuple[str, ...]
    overrun_words: tuple[str, ...]
    coup_words: tuple[str, ...]
    head_of_state_words: tuple[str, ...]
    violent_context: tuple[str, ...]


class PlaceEffect(StrEnum):
    """What a place rule does to a mention: never kept, or kept only when nothing better is."""

    DROP = "drop"  # a destination, venue of a visit, earlier event: never an incident place
    REFERENCE = "reference"  # a reference point: kept only when no place is named plainly
    DIRECTION = "direction"  # an origin, destination or venue: kept only when nothing else is


@dataclass(frozen=True, slots=True)
class PlaceRule:
    """One ``[[place_rule]]``: a mention with one of ``before`` ending within ``window`` words
    before it (0: just before) and, when ``after`` is given too, one of ``after`` starting
    right after it, gets ``effect``. ``before`` or ``after`` alone suffices when the other is
    empty. With ``sub_events``, only in an item of one of those sub-events (a release's
    "detained in Bamako" is background; an arrest's is the place)."""

    effect: PlaceEffect
    before: tuple[str, ...]
    after: tuple[str, ...]
    window: int
    reason: str
    sub_events: frozenset[str] = frozenset()

    def applies(
        self, before: Sequence[str], after: Sequence[str], sub_event: str | None = None
    ) -> bool:
        if self.sub_events and sub_event not in self.sub_events:
            return False
        n = len(before)
        hit_before = not self.before or any(
            _ends(before, n - k, p) for p in self.before for k in range(self.window + 1)
        )
        hit_after = not self.after or any(_starts(after, 0, p) for p in self.after)
        return hit_before and hit_after


@dataclass(frozen=True, slots=True)
class PlaceRules:
    drop_before: tuple[str, ...]
    reference_before: tuple[str, ...]
    direction_before: tuple[str, ...]
    drop_after: tuple[str, ...]
    year_window: int
    rules: tuple[PlaceRule, ...] = ()


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Parsed ``incident_lexicon.toml``."""

    triggers: tuple[Trigger, ...]
    min_score: float
    fatalities: FatalityWords
    severity: SeverityRules
    places: PlaceRules


def _severity_rank(severity: Severity | None) -> int:
    return -1 if severity is None else severity.rank


def _known(kind: type[_E], value: object) -> tuple[_E | None, str | None]:
    """A stored text as a member of ``kind``, or None and the text itself when this version
    does not know it (written by a newer version, or by hand); (None, None) for NULL or ""."""
    if value is None or value == "":
        return None, None
    text = str(value)
    try:
        return kind(text), None
    except ValueError:
        return None, text


def _coordinate(value: object, bound: float) -> float | None:
    """A stored latitude or longitude, None unless a finite number within ``bound``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) and -bound <= number <= bound else None


def _text_or_none(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


@dataclass(frozen=True, slots=True)
class PlaceRecord:
    """A place of an incident as stored with its alert (one JSON object of ``alerts.places``):
    what the alert line, the map and the export read. Built from a gazetteer
    ``Place`` by ``of`` and read back by ``from_json``, which never fails: a stored value that
    is not an object is no place (None), a coordinate that is not a finite number in range is
    None (the map then skips the place), a kind this version does not know is None (ranked as
    a town) and kept as text in ``other_kind``, so writing the place back keeps it."""

    id: str
    name: str
    country: str | None = None  # ISO 3166-1 alpha-2
    lat: float | None = None
    lon: float | None = None
    admin1: str | None = None
    label: str | None = None  # "Boulkessi (Mopti)"
    arabic: str | None = None
    kind: PlaceKind | None = None
    other_kind: str | None = None  # a stored kind this version does not know, as stored
    # Only a reference point, origin, destination or venue: a story drops it once another
    # report names a place plainly (story_places).
    fallback: bool = False

    @classmethod
    def of(cls, place: Place, *, fallback: bool = False) -> PlaceRecord:
        return cls(
            id=place.id,
            name=place.name,
            country=place.country,
            lat=place.lat,
            lon=place.lon,
            admin1=place.admin1,
            label=place.label,
            arabic=place.arabic_name,
            kind=place.kind,
            fallback=fallback,
        )

    @classmethod
    def from_json(cls, value: object) -> PlaceRecord | None:
        """A stored place object as its record; None when ``value`` is not an object."""
        if not isinstance(value, Mapping):
            return None
        kind, other_kind = _known(PlaceKind, value.get("kind"))
        return cls(
            id=str(value.get("id") or ""),
            name=str(value.get("name") or ""),
            country=_text_or_none(value.get("country")),
            lat=_coordinate(value.get("lat"), 90.0),
            lon=_coordinate(value.get("lon"), 180.0),
            admin1=_text_or_none(value.get("admin1")),
            label=_text_or_none(value.get("label")),
            arabic=_text_or_none(value.get("arabic")),
            kind=kind,
            other_kind=other_kind,
            fallback=value.get("fallback") is True,
        )

    def to_json(self) -> dict[str, Any]:
        """The stored JSON object (``fallback`` only when set, as it has always been stored)."""
        return {
            "id": self.id,
            "name": self.name,
            "country": self.country,
            "lat": self.lat,
            "lon": self.lon,
            "admin1": self.admin1,
            "label": self.label,
            "arabic": self.arabic,
            "kind": self.kind.value if self.kind else self.other_kind,
            **({"fallback": True} if self.fallback else {}),
        }

    @property
    def point(self) -> tuple[float, float] | None:
        """(lat, lon) when both are known: where the map draws it."""
        return None if self.lat is None or self.lon is None else (self.lat, self.lon)

    @property
    def shown(self) -> str:
        """The name an alert line shows: the label, else the name ("" when neither)."""
        return self.label or self.name


@dataclass(frozen=True, slots=True)
class IncidentFields:
    """An alert's incident as stored (the ``alerts`` columns of incident tagging): what storage
    writes, a story's first alert merges (``merge_story_incident``), the alert line, the map
    and the export read. Tagged by ``Incident.fields``; read back by ``stored``.

    ``event_type`` and ``severity`` are None when nothing is stored and also when the stored
    text is one this version does not know; that text is then kept in ``other_event_type`` /
    ``other_severity``, so such an alert still counts as an incident, is drawn on the map (in
    the colour of unknown types) and exported as stored."""

    event_type: EventType | None = None
    sub_event: str | None = None
    fatalities: int | None = None
    places: tuple[PlaceRecord, ...] = ()
    severity: Severity | None = None
    other_event_type: str | None = None
    other_severity: str | None = None

    @classmethod
    def stored(
        cls,
        event_type: object,
        sub_event: object,
        fatalities: object,
        places: Iterable[PlaceRecord],
        severity: object,
    ) -> IncidentFields:
        """The record of stored column values (a toll that is not a whole number: None)."""
        kind, other_kind = _known(EventType, event_type)
        level, other_level = _known(Severity, severity)
        toll: int | None = None
        if isinstance(fatalities, int) and not isinstance(fatalities, bool):
            toll = fatalities
        elif isinstance(fatalities, str) and fatalities.strip().isdecimal():
            toll = int(fatalities)
        return cls(
            event_type=kind,
            sub_event=_text_or_none(sub_event),
            fatalities=toll,
            places=tuple(places),
            severity=level,
            other_event_type=other_kind,
            other_severity=other_level,
        )

    @property
    def event_type_text(self) -> str | None:
        """The event type as stored (a known member's value, or the unknown text)."""
        return self.event_type.value if self.event_type else self.other_event_type

    @property
    def severity_text(self) -> str | None:
        """The severity as stored (a known member's value, or the unknown text)."""
        return self.severity.value if self.severity else self.other_severity

    @property
    def is_incident(self) -> bool:
        """An event type is stored (known to this version or not)."""
        return self.event_type_text is not None

    def line(self) -> str:
        """``⚔️ Battle · 12 killed · Boulkessi (Mopti)`` ("" unless the type is known)."""
        labels = [p.shown for p in self.places if p.shown]
        return incident_line(self.event_type, self.sub_event, self.fatalities, labels)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields (``match --json``, ``/test``): the stored texts."""
        return {
            "event_type": self.event_type_text,
            "sub_event": self.sub_event,
            "fatalities": self.fatalities,
            "places": [p.to_json() for p in self.places],
            "severity": self.severity_text,
        }

    def _key(self) -> tuple[object, ...]:
        """What a change of the stored incident is judged on (an empty value is no value)."""
        return (
            self.event_type_text,
            self.sub_event or None,
            self.fatalities or None,
            self.places,
            self.severity_text,
        )


@dataclass(frozen=True, slots=True)
class Incident:
    """What the tagger decided for one item. ``event_type`` None: not an incident."""

    event_type: EventType | None = None
    sub_event: str | None = None
    fatalities: int | None = None
    places: tuple[Place, ...] = ()
    severity: Severity | None = None
    reasons: tuple[str, ...] = field(default=(), compare=False)
    # the places are only reference points, origins, destinations or venues (nothing better
    # was named): a story drops them once another report names a place plainly
    places_fallback: bool = False

    @property
    def is_incident(self) -> bool:
        return self.event_type is not None

    def line(self) -> str:
        """One line for an alert: ``⚔️ Battle · 12 killed · Boulkessi (Mopti)`` ("" if none)."""
        return incident_line(
            self.event_type, self.sub_event, self.fatalities, [p.label for p in self.places]
        )

    def fields(self) -> IncidentFields:
        """The fields stored with the alert (places as stored records)."""
        return IncidentFields(
            event_type=self.event_type,
            sub_event=self.sub_event,
            fatalities=self.fatalities,
            places=tuple(PlaceRecord.of(p, fallback=self.places_fallback) for p in self.places),
            severity=self.severity,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``match --json``, ``/test``): the stored fields as JSON."""
        return self.fields().to_json()


NO_INCIDENT = Incident()
NO_INCIDENT_FIELDS = IncidentFields()  # what a stored alert that is no incident has


def incident_line(
    event_type: EventType | None,
    sub_event: str | None,
    fatalities: int | None,
    place_labels: Sequence[str],
) -> str:
    """``⚔️ Battle · 12 killed · Boulkessi (Mopti)`` from stored fields ("" if no incident)."""
    if event_type is None:
        return ""
    icon, label = SUB_EVENT_LABELS.get(sub_event or "", EVENT_ICONS[event_type])
    parts = [f"{icon} {label}"]
    if fatalities is not None:
        parts.append(f"{fatalities} killed")
    if place_labels:
        parts.append(", ".join(place_labels[:3]))
    return " · ".join(parts)


def priority_for(incident: Incident, entity_priority: Priority) -> Priority:
    """Alert priority from severity: a high-severity incident is urgent (with sound), any other
    incident is normal; news that is no incident keeps its watchlist priority (an entity set to
    ``digest`` sends it to the digest)."""
    if incident.event_type is None:
        return entity_priority
    return Priority.URGENT if incident.severity is Severity.HIGH else Priority.NORMAL


def merge_story_incident(
    first: IncidentFields | None, later: IncidentFields | None
) -> IncidentFields | None:
    """The incident shown on a story's first message once a later report joins it: the type
    of the first report (else the later one's), the highest toll reported, the places of both
    (first report's first, at most 5) and the higher severity. None when nothing changes."""
    if later is None:
        return None
    old = first or IncidentFields()
    merged = old
    if not merged.is_incident and later.is_incident:
        merged = replace(
            merged,
            event_type=later.event_type,
            other_event_type=later.other_event_type,
            sub_event=later.sub_event,
        )
    tolls = [t for t in (old.fatalities, later.fatalities) if t is not None]
    if tolls and merged.is_incident:
        merged = replace(merged, fatalities=max(tolls))
    merged = replace(merged, places=story_places(old.places, later.places))
    levels = [v for v in (old.severity, later.severity) if v is not None]
    if levels and merged.is_incident:
        merged = replace(merged, severity=max(levels, key=_severity_rank), other_severity=None)
    if merged._key() == old._key():
        return None
    return merged


def story_places(
    first: Sequence[PlaceRecord], later: Sequence[PlaceRecord], limit: int = 5
) -> tuple[PlaceRecord, ...]:
    """A story's places from two reports' places: each once; a reference point, origin,
    destination or venue (``fallback``) only while no report names a place plainly; the most
    specific first (camp, village, town, area, region), in report order within a kind; at
    most ``limit``."""
    places = list(first)
    seen = {p.id for p in places}
    places += [p for p in later if p.id not in seen]
    if any(not p.fallback for p in places):
        places = [p for p in places if not p.fallback]
    middle = SPECIFICITY[PlaceKind.TOWN]

    def rank(place: PlaceRecord) -> int:  # no kind: stored before kinds were recorded
        return SPECIFICITY[place.kind] if place.kind is not None else middle

    return tuple(sorted(places, key=rank)[:limit])


def below_minimum(
    severity: Severity | None, entities: Sequence[str], minimums: Mapping[str, Severity]
) -> str | None:
    """Why an alert is below a chat's minimum severity (it then waits for the digest), or None.

    ``minimums`` maps an entity name (casefolded) or ``"*"`` (every entity) to a ``Severity``
    (``/priority``). Non-incident news (and a stored severity this version does not know:
    None) counts as below any minimum. An alert that matched several entities passes when
    one of them lets it through.
    """
    if not minimums:
        return None
    rank = _severity_rank(severity)
    names = [e.casefold() for e in entities if e] or [""]
    reasons = []
    for name in names:
        floor = minimums.get(name, minimums.get("*"))
        if floor is None or rank >= floor.rank:
            return None
        reasons.append(f"{name or 'alert'} below {floor.value}")
    return "; ".join(reasons)


# --------------------------------------------------------------------------- parsing


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise LexiconError(f"{where}: must be a list of non-empty strings")
    return tuple(v for v in value)


def _norms(value: Any, where: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n in (normalize(v) for v in _strings(value, where)) if n))


_TRIGGER_KEYS = {"type", "sub_event", "weight", "reason", "phrases", "near", "window"}


def _parse_trigger(entry: Any, i: int) -> Trigger:
    where = f"trigger[{i}]"
    if not isinstance(entry, Mapping):
        raise LexiconError(f"{where}: must be a table")
    unknown = unknown_keys(entry, _TRIGGER_KEYS)
    if unknown:
        raise LexiconError(f"{where}: {unknown_key(unknown[0], _TRIGGER_KEYS)}")
    type_text = entry.get("type")
    try:
        event_type = None if type_text == "none" else EventType(str(type_text))
    except ValueError:
        kinds = ", ".join(["none", *(t.value for t in EventType)])
        raise LexiconError(f"{where}: type {type_text!r} is not one of {kinds}") from None
    weight = entry.get("weight")
    if not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0:
        raise LexiconError(f"{where}: weight must be a positive number")
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise LexiconError(f"{where}: every trigger needs a reason")
    phrases = _strings(entry.get("phrases", []), f"{where}.phrases")
    near_raw = entry.get("near", [])
    if not isinstance(near_raw, list):
        raise LexiconError(f"{where}.near: must be a list of phrase lists")
    near = tuple(_strings(g, f"{where}.near[{j}]") for j, g in enumerate(near_raw))
    if not phrases and len(near) < 2:
        raise LexiconError(f"{where}: needs phrases, or at least two near groups")
    window = entry.get("window", 8)
    if not isinstance(window, int) or window < 1:
        raise LexiconError(f"{where}: window must be a positive integer")
    sub_event = entry.get("sub_event")
    if event_type is not None and not sub_event:
        raise LexiconError(f"{where}: a trigger of an event type needs a sub_event")
    return Trigger(event_type, sub_event, float(weight), reason, phrases, near, window)


def parse_lexicon(mapping: Mapping[str, Any]) -> Lexicon:
    """Validate the parsed TOML document; raises ``LexiconError`` naming the bad entry."""
    triggers_raw = mapping.get("trigger")
    if not isinstance(triggers_raw, list) or not triggers_raw:
        raise LexiconError("the lexicon needs [[trigger]] entries")
    triggers = tuple(_parse_trigger(t, i) for i, t in enumerate(triggers_raw))
    fat = mapping.get("fatalities")
    sev = mapping.get("severity")
    pl = mapping.get("places")
    nums = mapping.get("numbers")
    for name, value in (("fatalities", fat), ("severity", sev), ("places", pl), ("numbers", nums)):
        if not isinstance(value, Mapping):
            raise LexiconError(f"the lexicon needs a [{name}] table")
    assert isinstance(fat, Mapping) and isinstance(sev, Mapping)
    assert isinstance(pl, Mapping) and isinstance(nums, Mapping)
    numbers: dict[str, int] = {}
    for word, value in nums.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise LexiconError(f"numbers: {word!r} must be a non-negative integer")
        numbers[normalize(word)] = value

    def f(key: str) -> tuple[str, ...]:
        return _norms(fat.get(key, []), f"fatalities.{key}")

    def s(key: str) -> tuple[str, ...]:
        return _norms(sev.get(key, []), f"severity.{key}")

    fatalities = FatalityWords(
        death_words=f("death_words"),
        kill_verbs=f("kill_verbs"),
        toll_words=f("toll_words"),
        toll_links=f("toll_links"),
        qualifiers=f("qualifiers"),
        not_death=f("not_death"),
        inclusion=f("inclusion"),
        superseded=f("superseded"),
        attackers=f("attackers"),
        civilians=f("civilians"),
        soldiers=f("soldiers"),
        fillers=f("fillers"),
        numbers=numbers,
        earlier=f("earlier"),
    )
    severity = SeverityRules(
        high_fatalities=int(sev.get("high_fatalities", 10)),
        mass_abduction=int(sev.get("mass_abduction", 5)),
        capitals=frozenset(_strings(sev.get("capitals", []), "severity.capitals")),
        major_bases=frozenset(_strings(sev.get("major_bases", []), "severity.major_bases")),
        base_words=s("base_words"),
        overrun_words=s("overrun_words"),
        coup_words=s("coup_words"),
        head_of_state_words=s("head_of_state_words"),
        violent_context=s("violent_context"),
    )
    places = PlaceRules(
        drop_before=_norms(pl.get("drop_before", []), "places.drop_before"),
        reference_before=_norms(pl.get("reference_before", []), "places.reference_before"),
        direction_before=_norms(pl.get("direction_before", []), "places.direction_before"),
        drop_after=_norms(pl.get("drop_after", []), "places.drop_after"),
        year_window=int(pl.get("year_window", 4)),
        rules=tuple(_parse_place_rule(r, i) for i, r in enumerate(mapping.get("place_rule", []))),
    )
    min_score = mapping.get("min_score", 2.0)
    if not isinstance(min_score, int | float) or isinstance(min_score, bool):
        raise LexiconError("min_score must be a number")
    return Lexicon(triggers, float(min_score), fatalities, severity, places)


def _parse_place_rule(raw: Any, i: int) -> PlaceRule:
    where = f"place_rule #{i + 1}"
    if not isinstance(raw, Mapping):
        raise LexiconError(f"{where}: must be a table")
    try:
        effect = PlaceEffect(str(raw.get("effect")))
    except ValueError:
        raise LexiconError(
            f"{where}: effect must be one of {', '.join(e.value for e in PlaceEffect)}"
        ) from None
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise LexiconError(f"{where}: needs a reason")
    before = _norms(raw.get("before", []), f"{where}.before")
    after = _norms(raw.get("after", []), f"{where}.after")
    if not before and not after:
        raise LexiconError(f"{where}: needs before or after phrases")
    window = raw.get("window", 0)
    if not isinstance(window, int) or isinstance(window, bool) or not 0 <= window <= 12:
        raise LexiconError(f"{where}: window must be an integer from 0 to 12")
    sub_events = frozenset(_strings(raw.get("sub_events", []), f"{where}.sub_events"))
    return PlaceRule(effect, before, after, window, reason.strip(), sub_events)


# --------------------------------------------------------------------------- fatalities

_RAISED = frozenset({"raising", "raised", "rose", "revised", "up", "passe", "toll"})
_CONJUNCTIONS = frozenset({"and", "et", "e", "at", "و", "ja"})
_CLAUSE = re.compile(r"[.;:!?؟،؛\n]+|\s[–—-]\s")
_YEAR = re.compile(r"^(1[89]|20)\d\d$")
_UNITS = frozenset(
    {"km", "kilometres", "kilometers", "percent", "per", "cent", "million", "billion", "tonnes",
     "tonne", "years", "year", "ans", "an", "days", "jours", "hours", "heures", "minute",
     "minutes", "h", "kg", "january", "february", "march", "april", "may", "june", "july",
     "august", "september", "october", "november", "december", "janvier", "fevrier", "mars",
     "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre", "novembre", "decembre",
     "sept", "th", "st", "nd", "rd", "e", "er", "pm", "am"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Count:
    value: int
    group: str  # "attackers", "civilians", "soldiers" or "people"
    included: bool


def _starts(tokens: Sequence[str], i: int, phrase: str) -> bool:
    words = phrase.split()
    return list(tokens[i : i + len(words)]) == words


def _ends(tokens: Sequence[str], i: int, phrase: str) -> bool:
    """True when ``phrase`` ends just before token ``i``."""
    words = phrase.split()
    return i - len(words) >= 0 and list(tokens[i - len(words) : i]) == words


class _FatalityReader:
    def __init__(self, words: FatalityWords) -> None:
        self.w = words
        multi = sorted((k for k in words.numbers if " " in k), key=lambda k: -len(k.split()))
        self.multi_numbers = [(k.split(), words.numbers[k]) for k in multi]

    def number_at(self, tokens: Sequence[str], i: int) -> tuple[int, int] | None:
        """(value, number of tokens) of a number starting at token i."""
        tok = tokens[i]
        if tok.isdecimal():  # isdigit() also takes "❶" and "²", which int() refuses
            if _YEAR.match(tok) and len(tok) == 4:
                return None
            value, n = int(tok), 1
            # "1 000" (a normalised "1,000"): a digit group of three follows
            while i + n < len(tokens) and len(tokens[i + n]) == 3 and tokens[i + n].isdecimal():
                value = value * 1000 + int(tokens[i + n])
                n += 1
            return value, n
        for words, value in self.multi_numbers:
            if list(tokens[i : i + len(words)]) == words:
                return value, len(words)
        if tok in self.w.numbers:
            value, n = self.w.numbers[tok], 1
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            # "twenty five", "vingt cinq", "two hundred"
            if value % 10 == 0 and 20 <= value < 100 and self.w.numbers.get(nxt, 100) < 10:
                value, n = value + self.w.numbers[nxt], 2
            elif value < 10 and nxt in ("hundred", "cent", "cents"):
                value, n = value * 100, 2
            return value, n
        return None

    def _any(self, tokens: Sequence[str], i: int, phrases: Iterable[str]) -> str | None:
        return next((p for p in phrases if _starts(tokens, i, p)), None)

    def _group(self, tokens: Sequence[str], start: int, stop: int) -> str | None:
        for j in range(start, min(stop, len(tokens))):
            if tokens[j] in _CONJUNCTIONS or (j > start and self.number_at(tokens, j)):
                return None
            for name, nouns in (
                ("attackers", self.w.attackers),
                ("civilians", self.w.civilians),
                ("soldiers", self.w.soldiers),
            ):
                if self._any(tokens, j, nouns):
                    return name
        return None

    def counts(self, text: str) -> list[list[_Count]]:
        """The death counts of each clause of ``text``."""
        out: list[list[_Count]] = []
        for clause in _CLAUSE.split(text):
            found: list[_Count] = []
            out.append(found)
            tokens = normalize(clause).split()
            # a figure after earlier, separate attacks named in its clause is their toll
            earlier_end = next(
                (
                    k
                    for k in range(1, len(tokens) + 1)
                    if any(_ends(tokens, k, p) for p in self.w.earlier)
                ),
                len(tokens) + 1,
            )
            i = 0
            while i < len(tokens):
                parsed = self.number_at(tokens, i)
                if parsed is None:
                    i += 1
                    continue
                value, n = parsed
                count = self._read(tokens, i, n, value) if i < earlier_end else None
                if count is not None:
                    found.append(count)
                i += n
        return out

    def _read(self, tokens: Sequence[str], i: int, n: int, value: int) -> _Count | None:
        w = self.w
        j = i + n
        if j < len(tokens) and tokens[j] in _UNITS:
            return None
        if i > 0 and tokens[i - 1] in _UNITS:
            return None  # "on 7 September", "September 7"
        # superseded figures: "up from an initial 60", "first 98, then 81", "from 60 to 200"
        if any(_ends(tokens, i, p) for p in w.superseded):
            return None
        if (
            i > 0
            and tokens[i - 1] in ("from", "de")
            and j < len(tokens)
            and tokens[j] in ("to", "a")
        ):
            before = tokens[max(0, i - 6) : i - 1]
            if any(
                t in ("raising", "raised", "rose", "revised", "up", "passe", "toll") for t in before
            ):
                return None
        included = any(_ends(tokens, i, p) for p in w.inclusion) or any(
            _ends(tokens, i - 1, p) for p in w.inclusion
        )
        # forward: "12 soldiers were killed", "46 rebels and 10 soldiers were reported killed"
        dead_at = None
        for k in range(j, min(j + 8, len(tokens))):
            if self._any(tokens, k, w.not_death) or self._any(tokens, k, w.earlier):
                break  # "two deadly attacks in a week, which killed": the number counts attacks
            if k > j and self.number_at(tokens, k) and tokens[k - 1] not in _CONJUNCTIONS:
                break  # another figure starts: "deux attaques font au moins 64 morts"
            if self._any(tokens, k, w.death_words):
                dead_at = k
                break
        if dead_at is not None:
            if any(tokens[k] in ("among", "parmi") for k in range(j, dead_at)):
                return None
            group = self._group(tokens, j, dead_at) or "people"
            return _Count(value, group, included)
        # backward: "killing at least 32 people", "مقتل عشرة جنود", "toll rose to 50"
        k = i
        verb = next((p for p in w.kill_verbs if _ends(tokens, k, p)), None)
        while k > 0 and verb is None:
            q = next((p for p in w.qualifiers if _ends(tokens, k, p)), None)
            if q is None and tokens[k - 1] in ("of", "de", "d"):
                q = tokens[k - 1]
            if q is None:
                break
            k -= len(q.split())
            verb = next((p for p in w.kill_verbs if _ends(tokens, k, p)), None)
        if verb is not None:
            if j < len(tokens) and self._any(tokens, j, w.not_death):
                return None
            neutralised = verb.startswith("neutralis")
            group = self._group(tokens, j, j + 4) or ("attackers" if neutralised else "people")
            return _Count(value, group, included)
        link = next((p for p in w.toll_links if _ends(tokens, k, p)), None)
        if link is not None:
            start = k - len(link.split())
            window = tokens[max(0, start - 6) : start + 1]
            if any(t in w.toll_words for t in window) or any(
                " ".join(window).find(t) >= 0 for t in w.toll_words if " " in t
            ):
                group = self._group(tokens, j, j + 3) or "people"
                return _Count(value, group, included)
        return None

    def total(self, texts: Iterable[str]) -> int | None:
        by_group: dict[str, int] = {}
        for text in texts:
            for clause in self.counts(text) if text else []:
                # within a clause, figures of one group add up ("49 women and one man died");
                # across clauses the same group is reported again: the lowest figure wins
                summed: dict[str, int] = {}
                for c in clause:
                    if not c.included:
                        summed[c.group] = summed.get(c.group, 0) + c.value
                for group, value in summed.items():
                    by_group[group] = min(by_group.get(group, value), value)
        if not by_group:
            return None
        attackers = by_group.get("attackers")
        civ_sol = None
        if "civilians" in by_group or "soldiers" in by_group:
            civ_sol = by_group.get("civilians", 0) + by_group.get("soldiers", 0)
        people = by_group.get("people")
        if people is not None and attackers is not None and people == attackers:
            people = None  # "46 men it calls terrorists" and "46 'terrorists'": the same figure
        if people is not None and civ_sol is not None:
            victims: int | None = min(people, civ_sol)
        else:
            victims = people if people is not None else civ_sol
        if victims is None and attackers is None:
            return None
        return (victims or 0) + (attackers or 0)


# --------------------------------------------------------------------------- tagger

_TITLE_BOOST = 1.5
TITLE_LIMIT = 1_000  # characters of a title read by the tagger
SUMMARY_LIMIT = 4_000  # characters of a summary read by the tagger


def _plain(text: str) -> str:
    if "<" in text:
        text = TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    return text


_LIST_GLUE = frozenset({"and", "et", "or", "ou", "و", "as", "well"})


def _glue_only(tokens: Sequence[str]) -> bool:
    """True for the words that join the names of a list: "Gossi, Ménaka and Gao"."""
    return len(tokens) <= 3 and all(t in _LIST_GLUE or t.isdigit() or t in _UNITS for t in tokens)


class IncidentTagger:
    """Compiled lexicon + gazetteer. Build once; ``tag(title, summary)`` per item."""

    def __init__(self, gazetteer: Gazetteer, lexicon: Lexicon) -> None:
        self.gazetteer = gazetteer
        self.lexicon = lexicon
        self._fat = _FatalityReader(lexicon.fatalities)
        table: dict[str, list[tuple[int, int]]] = {}
        for ti, trig in enumerate(lexicon.triggers):
            groups = [trig.phrases] if trig.phrases else list(trig.near)
            for gi, group in enumerate(groups):
                for phrase in group:
                    for key in phrase_keys(phrase):
                        slot = table.setdefault(key, [])
                        if (ti, gi) not in slot:
                            slot.append((ti, gi))
        self._auto = ahocorasick.Automaton()
        for key, payload in table.items():
            self._auto.add_word(key, (len(key), tuple(payload)))
        self._auto.make_automaton()
        sev = lexicon.severity
        self._sev_keys = {
            name: tuple(normalize(p) for p in getattr(sev, name))
            for name in ("base_words", "overrun_words", "coup_words", "head_of_state_words",
                         "violent_context")
        }  # fmt: skip

    # -- triggers

    def _fired(self, text: str) -> dict[int, str]:
        """Trigger index -> the phrase that fired it, for one field."""
        padded = f" {normalize(text)} "
        spaces = [i for i, ch in enumerate(padded) if ch == " "]
        hits: dict[tuple[int, int], list[tuple[int, str]]] = {}
        for end, (length, payload) in self._auto.iter(padded):
            start = end - length + 1
            word = bisect_right(spaces, start) - 1
            phrase = padded[start + 1 : end]
            for ti, gi in payload:
                hits.setdefault((ti, gi), []).append((word, phrase))
        fired: dict[int, str] = {}
        for ti, trig in enumerate(self.lexicon.triggers):
            if trig.phrases:
                if (ti, 0) in hits:
                    fired[ti] = hits[(ti, 0)][0][1]
                continue
            first = hits.get((ti, 0), [])
            for pos, phrase in first:
                others = []
                for gi in range(1, len(trig.near)):
                    near = [p for p in hits.get((ti, gi), []) if abs(p[0] - pos) <= trig.window]
                    if not near:
                        break
                    others.append(near[0][1])
                else:
                    fired[ti] = " … ".join([phrase, *others])
                    break
        return fired

    def classify(
        self, title: str, summary: str
    ) -> tuple[EventType | None, str | None, list[str], bool]:
        """(event type, sub-event, reasons, accident?) from the triggers."""
        scores: dict[EventType | None, float] = {}
        best_trigger: dict[EventType | None, tuple[float, Trigger]] = {}
        reasons: list[str] = []
        per_trigger: dict[int, tuple[float, str, str]] = {}
        for field_name, text, boost in (("title", title, _TITLE_BOOST), ("summary", summary, 1.0)):
            if not text:
                continue
            for ti, phrase in self._fired(text).items():
                w = self.lexicon.triggers[ti].weight * boost
                if ti not in per_trigger or per_trigger[ti][0] < w:
                    per_trigger[ti] = (w, phrase, field_name)
        accident = False
        for ti, (w, phrase, field_name) in sorted(per_trigger.items()):
            trig = self.lexicon.triggers[ti]
            scores[trig.event_type] = scores.get(trig.event_type, 0.0) + w
            if trig.event_type is None and trig.sub_event == "accident":
                accident = True
            held = best_trigger.get(trig.event_type)
            if held is None or held[0] < w:
                best_trigger[trig.event_type] = (w, trig)
            kind = trig.event_type.value if trig.event_type else "no incident"
            reasons.append(f"{kind} +{w:g}: {phrase!r} in {field_name} ({trig.reason})")
        if not scores:
            return None, None, ["no trigger word"], False
        winner = max(scores, key=lambda k: (scores[k], k is None))
        if winner is None or scores[winner] < self.lexicon.min_score:
            if winner is not None:
                reasons.append(f"best score {scores[winner]:g} < {self.lexicon.min_score:g}")
            return None, None, reasons, accident
        reasons.insert(0, f"type {winner.value} (score {scores[winner]:g})")
        return winner, best_trigger[winner][1].sub_event, reasons, accident

    # -- places

    def places(self, title: str, summary: str, sub_event: str | None = None) -> tuple[Place, ...]:
        """Where the event happened: gazetteer finds minus destinations, names of other
        things and background mentions; reference points and origins/destinations only when
        nothing better is named. Most specific first. ``sub_event`` (the item's, from
        ``classify``) enables the place rules limited to some sub-events."""
        return self.place_finds(title, summary, sub_event)[0]

    def place_finds(
        self, title: str, summary: str, sub_event: str | None = None
    ) -> tuple[tuple[Place, ...], bool]:
        """``places`` and whether they are only a fallback (reference points, origins,
        destinations or venues, kept because nothing better is named)."""
        rules = self.lexicon.places
        text = f"{title}\n{summary}"
        norm = normalize(text)
        # (first token, last token + 1, level or None when dropped, place) per mention
        decided: list[tuple[int, int, int | None, Place]] = []
        dropped_end = -10  # token index where the last hard-dropped mention ended
        for mention in self.gazetteer.find(text):
            before = norm[: mention.start].split()
            after = norm[mention.end :].split()
            n = len(before)
            end = n + len(mention.surface.split())
            between = before[dropped_end:] if 0 <= dropped_end <= n else None
            chained = between is not None and _glue_only(between)
            by_after = any(_starts(after, 0, p) for p in rules.drop_after) or any(
                _YEAR.match(t) for t in after[: rules.year_window]
            )
            fired = [r for r in rules.rules if r.applies(before, after, sub_event)]
            effects = {r.effect for r in fired}
            by_after = by_after or any(r.after and r.effect is PlaceEffect.DROP for r in fired)
            hard = chained or by_after or any(_ends(before, n, p) for p in rules.drop_before)
            if hard or PlaceEffect.DROP in effects:
                dropped_end = end
                if by_after:
                    # What follows a list applies to all of it: "bases at Gossi, Ménaka and
                    # Gao would close" drops the three.
                    start = n
                    for k in range(len(decided) - 1, -1, -1):
                        first, last, level, place = decided[k]
                        if not _glue_only(before[last:start]):
                            break
                        decided[k] = (first, last, None, place)
                        start = first
                decided.append((n, end, None, mention.place))
                continue
            if PlaceEffect.REFERENCE in effects or any(
                _ends(before, n, p) for p in rules.reference_before
            ):
                decided.append((n, end, 1, mention.place))
            elif PlaceEffect.DIRECTION in effects or any(
                _ends(before, n, p) for p in rules.direction_before
            ):
                decided.append((n, end, 2, mention.place))
            else:
                decided.append((n, end, 0, mention.place))
        levels: list[list[Place]] = [[], [], []]  # kept, reference points, directions
        for _first, _last, level, place in decided:
            if level is not None:
                levels[level].append(place)
        at = next((k for k, level in enumerate(levels) if level), 0)
        unique = list(dict.fromkeys(levels[at]))
        order = {p.id: i for i, p in enumerate(unique)}
        unique.sort(key=lambda p: (SPECIFICITY[p.kind], order[p.id]))
        return tuple(unique), at > 0

    # -- severity

    def _has(self, text: str, key: str) -> bool:
        padded = f" {text} "
        return any(f" {p} " in padded for p in self._sev_keys[key])

    def severity(
        self,
        event_type: EventType | None,
        sub_event: str | None,
        fatalities: int | None,
        places: Sequence[Place],
        text: str,
    ) -> tuple[Severity | None, str]:
        if event_type is None:
            return None, "not an incident"
        rules = self.lexicon.severity
        norm = normalize(text)
        if event_type is EventType.STRATEGIC:
            if self._has(norm, "coup_words"):
                return Severity.HIGH, "a coup or mutiny"
            if self._has(norm, "violent_context"):
                return Severity.MEDIUM, "a strategic development tied to deadly violence"
            return Severity.LOW, "a strategic development without violence"
        if event_type is EventType.PROTESTS and not fatalities:
            return Severity.LOW, "a peaceful protest"
        if fatalities is not None and fatalities >= rules.high_fatalities:
            return Severity.HIGH, f"{fatalities} killed (>= {rules.high_fatalities})"
        ids = {p.id for p in places}
        if event_type in ATTACKS and ids & rules.capitals:
            return Severity.HIGH, "an attack in a capital"
        on_base = self._has(norm, "base_words")
        if on_base and ids & rules.major_bases:
            return Severity.HIGH, "an attack on a major military base"
        if on_base and self._has(norm, "overrun_words"):
            return Severity.HIGH, "a military base overrun or seized"
        if sub_event == "abduction/forced disappearance":
            tokens = norm.split()
            numbers = (self._fat.number_at(tokens, i) for i in range(len(tokens)))
            if any(n is not None and n[0] >= rules.mass_abduction for n in numbers):
                return Severity.HIGH, "a mass abduction"
        return Severity.MEDIUM, "a violent incident"

    # -- all together

    def tag(self, title: str, summary: str = "") -> Incident:
        """Type, toll, places and severity of one item (stray tags and entities are removed)."""
        # The facts of an incident are in the headline and the lead: reading a bounded prefix
        # keeps a hostile multi-megabyte summary from costing more than a normal one.
        title = _plain((title or "")[:TITLE_LIMIT])
        summary = _plain((summary or "")[:SUMMARY_LIMIT])
        event_type, sub_event, reasons, accident = self.classify(title, summary)
        if event_type is None and not accident:
            return Incident(reasons=tuple(reasons))
        fatalities = None
        if event_type is not EventType.STRATEGIC:
            fatalities = self._fat.total((title, summary))
        places, fallback = self.place_finds(title, summary, sub_event)
        severity, why = self.severity(
            event_type, sub_event, fatalities, places, f"{title}. {summary}"
        )
        if severity is not None:
            reasons.append(f"severity {severity.value}: {why}")
        return Incident(
            event_type=event_type,
            sub_event=sub_event,
            fatalities=fatalities,
            places=places,
            severity=severity,
            reasons=tuple(reasons),
            places_fallback=fallback and bool(places),
        )

    def read_fatalities(self, text: str) -> int | None:
        """The toll a text states (for tests and the bench)."""
        return self._fat.total((text,))


def describe_incident(incident: Incident) -> list[str]:
    """Plain-text lines explaining the incident fields (``/test`` and ``match``)."""
    if incident.event_type is None:
        head = "incident: none (no security incident)"
        if incident.fatalities is not None or incident.places:
            head += f"; toll {incident.fatalities}, places " + ", ".join(
                p.label for p in incident.places
            )
        return [head, *(f"  · {r}" for r in incident.reasons[:4])]
    places = "; ".join(f"{p.label} ({p.lat:.2f}, {p.lon:.2f})" for p in incident.places)
    lines = [
        f"incident: {incident.line()}",
        f"  type {incident.event_type.value} / {incident.sub_event or '-'}; "
        f"fatalities {incident.fatalities if incident.fatalities is not None else '-'}; "
        f"severity {incident.severity.value if incident.severity else '-'}",
        f"  places: {places or '-'}",
    ]
    lines.extend(f"  · {r}" for r in incident.reasons[:6])
    return lines
