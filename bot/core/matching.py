"""Decide which watched entities a news item mentions, with one Aho-Corasick pass per field."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import ahocorasick

from bot.core.normalize import fold, normalize
from bot.core.text import TAG
from bot.core.watchlist import FIELDS, PRIORITIES, ChatRoute, Entity

# Arabic proclitics allowed glued to the front of an Arabic phrase: the conjunctions و (and)
# and ف (so), the prepositions ب (in/with) and ل (for/to), and a conjunction followed by a
# preposition (وب, ول, فب, فل). ل before the article ال contracts to لل. The article ال itself
# is never added: "المالي" means "the Malian" or "the financial" and is not "Mali".
# ك (like) is left out on purpose: ك + مالي is كمالي ("luxury", and a surname).
ARABIC_PROCLITICS = ("و", "ف", "ب", "ل", "وب", "ول", "فب", "فل")
_ARABIC_START = re.compile("^[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")
_APOSTROPHES = re.compile("['’ʼ`´]")
_HYPHENS = re.compile("[‐‑-]")

_ALIAS, _EXCLUDE, _IGNORE, _CONTEXT = range(4)
_RANK = {p: i for i, p in enumerate(PRIORITIES)}


@dataclass(frozen=True, slots=True)
class Hit:
    """An entity found in an item: which alias (as written in the watchlist), in which field."""

    entity: str
    alias: str
    field: str


@dataclass(frozen=True, slots=True)
class Exclusion:
    """An entity whose alias was found but which does not alert, and why."""

    entity: str
    reason: str


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What the matcher decided for one item. Truthy when at least one entity alerts."""

    entities: tuple[str, ...] = ()
    hits: tuple[Hit, ...] = ()
    excluded: tuple[Exclusion, ...] = ()
    priority: str = "normal"  # highest priority among matched entities ("normal" if none)
    chats: tuple[ChatRoute, ...] = ()  # union of explicit routes; empty: the default chats
    to_default: bool = False  # a matched entity has no explicit route: send to default chats

    def __bool__(self) -> bool:
        return bool(self.entities)


NO_MATCH = MatchResult()


@dataclass(slots=True)
class _Ent:
    entity: Entity
    fields_mask: int
    context_group: int  # -1 when the entity has no context rule
    rank: int


@dataclass(slots=True)
class _AliasRef:
    entity: int
    text: str
    context_group: int  # -1 when the alias has no context of its own


@dataclass(slots=True)
class _Found:
    aliases: list[tuple[int, int, int, int]] = field(default_factory=list)  # alias, field, s, e
    excludes: dict[int, tuple[str, int]] = field(default_factory=dict)  # entity -> phrase, field
    ignores: dict[tuple[int, int], list[tuple[int, int]]] = field(default_factory=dict)
    contexts: set[int] = field(default_factory=set)


def phrase_keys(text: str, *, case_sensitive: bool = False) -> list[str]:
    """The space-padded normalised keys under which a phrase is searched.

    The phrase itself; the phrase with apostrophes and/or hyphens removed (so "Jama'at" also
    finds "Jamaat", "al-Islam" also finds "alIslam"); and for Arabic phrases the same with each
    proclitic of ``ARABIC_PROCLITICS``.
    """
    norm = fold if case_sensitive else normalize
    variants = (text, _APOSTROPHES.sub("", text), _HYPHENS.sub("", text))
    bases = dict.fromkeys(norm(v) for v in (*variants, _HYPHENS.sub("", variants[1])))
    keys: list[str] = []
    for base in bases:
        if not base:
            continue
        keys.append(base)
        if _ARABIC_START.match(base):
            keys.extend(p + base for p in ARABIC_PROCLITICS)
            if base.startswith("ال"):
                keys.extend(p + "لل" + base[2:] for p in ("", "و", "ف"))
    return [f" {k} " for k in dict.fromkeys(keys)]


def _plain(text: str) -> str:
    if "<" in text:
        text = TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    return text


class Matcher:
    """A compiled watchlist. Build it once per watchlist version with ``Matcher.compile``."""

    def __init__(self) -> None:
        self._ents: list[_Ent] = []
        self._aliases: list[_AliasRef] = []
        self._groups: list[tuple[str, ...]] = []
        self._excludes: list[str] = []
        self._ignores: list[str] = []
        self._folded = ahocorasick.Automaton()
        self._cased: ahocorasick.Automaton | None = None
        self._regexes: list[tuple[re.Pattern[str], int, bool]] = []  # pattern, alias, cased
        self._exclude_owner: list[int] = []
        self._ignore_owner: list[int] = []
        self._has_folded = False
        self._empty = True

    @property
    def entities(self) -> tuple[Entity, ...]:
        return tuple(e.entity for e in self._ents)

    @classmethod
    def compile(cls, entities: Iterable[Entity]) -> Matcher:
        """Compile entities into two automata (folded and case-kept) and the regex aliases.

        Raises ``ValueError`` on an invalid regex alias (``parse_watchlist`` reports those).
        """
        m = cls()
        folded: dict[str, list[tuple[int, int]]] = {}
        cased: dict[str, list[tuple[int, int]]] = {}

        def add(table: dict[str, list[tuple[int, int]]], key: str, payload: tuple[int, int]):
            slot = table.setdefault(key, [])
            if payload not in slot:
                slot.append(payload)

        def group(terms: tuple[str, ...]) -> int:
            if not terms:
                return -1
            gid = len(m._groups)
            m._groups.append(terms)
            for term in terms:
                for key in phrase_keys(term):
                    add(folded, key, (_CONTEXT, gid))
            return gid

        for ei, entity in enumerate(entities):
            mask = sum(1 << FIELDS.index(f) for f in entity.fields if f in FIELDS)
            m._ents.append(_Ent(entity, mask, group(entity.context), _RANK[entity.priority]))
            seen_keys: set[tuple[bool, str]] = set()
            for alias in entity.aliases:
                ai = len(m._aliases)
                m._aliases.append(_AliasRef(ei, alias.text, group(alias.context)))
                if alias.regex:
                    flags = 0 if alias.case_sensitive else re.IGNORECASE
                    pattern = re.compile(rf"(?<!\w)(?:{alias.text})(?!\w)", flags)
                    m._regexes.append((pattern, ai, alias.case_sensitive))
                    continue
                for key in phrase_keys(alias.text, case_sensitive=alias.case_sensitive):
                    if (alias.case_sensitive, key) in seen_keys:
                        continue  # an earlier alias of this entity already has this key
                    seen_keys.add((alias.case_sensitive, key))
                    add(cased if alias.case_sensitive else folded, key, (_ALIAS, ai))
            for phrase in entity.exclude:
                m._excludes.append(phrase)
                for key in phrase_keys(phrase):
                    add(folded, key, (_EXCLUDE, len(m._excludes) - 1))
            for phrase in entity.ignore:
                m._ignores.append(phrase)
                for key in phrase_keys(phrase):
                    add(folded, key, (_IGNORE, len(m._ignores) - 1))
        m._exclude_owner = _owners(m, "exclude")
        m._ignore_owner = _owners(m, "ignore")
        for key, payloads in folded.items():
            has_alias = any(kind == _ALIAS for kind, _ref in payloads)
            m._folded.add_word(key, (len(key), tuple(payloads), has_alias))
        if folded:
            m._folded.make_automaton()
            m._has_folded = True
        if cased:
            m._cased = ahocorasick.Automaton()
            for key, payloads in cased.items():
                m._cased.add_word(key, (len(key), tuple(payloads), True))
            m._cased.make_automaton()
        m._empty = not m._aliases
        return m

    # ----------------------------------------------------------------- matching

    def match(self, title: str, summary: str = "") -> MatchResult:
        """Match one item's title and summary (plain text; stray tags/entities are stripped)."""
        if self._empty:
            return NO_MATCH
        scans = []
        alias_seen = False
        for fi, text in enumerate((title, summary)):
            if not text:
                continue
            if "<" in text or "&" in text:
                text = _plain(text)
            kept = fold(text)
            padded = f" {kept.casefold()} "
            folded = list(self._folded.iter(padded)) if self._has_folded else []
            cased = list(self._cased.iter(f" {kept} ")) if self._cased is not None else []
            regex = [
                (ai, mo.start() - 1, mo.end())
                for pattern, ai, case_sensitive in self._regexes
                for mo in pattern.finditer(f" {kept} " if case_sensitive else padded)
            ]
            if cased or regex or any(value[2] for _end, value in folded):
                alias_seen = True
            scans.append((fi, folded, cased, regex))
        if not alias_seen:  # the common case: nothing watched in this item
            return NO_MATCH
        found = _Found()
        for fi, folded, cased, regex in scans:
            for end, (length, payloads, _has_alias) in folded:
                for kind, ref in payloads:
                    self._record(found, kind, ref, fi, end - length + 1, end)
            for end, (length, payloads, _has_alias) in cased:
                for _kind, ref in payloads:
                    found.aliases.append((ref, fi, end - length + 1, end))
            for ai, start, end in regex:
                found.aliases.append((ai, fi, start, end))
        return self._decide(found)

    def _record(self, found: _Found, kind: int, ref: int, fi: int, start: int, end: int) -> None:
        if kind == _ALIAS:
            found.aliases.append((ref, fi, start, end))
        elif kind == _CONTEXT:
            found.contexts.add(ref)
        elif kind == _EXCLUDE:
            found.excludes.setdefault(self._exclude_owner[ref], (self._excludes[ref], fi))
        else:
            found.ignores.setdefault((self._ignore_owner[ref], fi), []).append((start, end))

    def _decide(self, found: _Found) -> MatchResult:
        per_entity: dict[int, list[tuple[int, int, int, int]]] = {}
        for event in found.aliases:
            per_entity.setdefault(self._aliases[event[0]].entity, []).append(event)
        names: list[str] = []
        hits: list[Hit] = []
        excluded: list[Exclusion] = []
        chats: dict[ChatRoute, None] = {}
        to_default = False
        rank = len(PRIORITIES)
        for ei in sorted(per_entity):
            ent = self._ents[ei]
            name = ent.entity.name
            if ei in found.excludes:
                phrase, fi = found.excludes[ei]
                excluded.append(Exclusion(name, f"exclusion phrase {phrase!r} in {FIELDS[fi]}"))
                continue
            kept: dict[tuple[str, str], None] = {}
            reasons: list[str] = []
            for ai, fi, start, end in sorted(per_entity[ei], key=lambda ev: (ev[1], ev[2])):
                ref = self._aliases[ai]
                if not ent.fields_mask & (1 << fi):
                    reasons.append(f"{ref.text!r} only in {FIELDS[fi]}, which is not searched")
                elif any(s <= start and end <= e for s, e in found.ignores.get((ei, fi), ())):
                    reasons.append(f"{ref.text!r} in {FIELDS[fi]} is inside an ignored phrase")
                elif ref.context_group >= 0 and ref.context_group not in found.contexts:
                    terms = _terms(self._groups[ref.context_group])
                    reasons.append(f"{ref.text!r} needs a context term (one of: {terms})")
                else:
                    kept[(ref.text, FIELDS[fi])] = None
            if not kept:
                excluded.append(Exclusion(name, "; ".join(dict.fromkeys(reasons))))
                continue
            if ent.context_group >= 0 and ent.context_group not in found.contexts:
                terms = _terms(self._groups[ent.context_group])
                excluded.append(Exclusion(name, f"no context term in the item (one of: {terms})"))
                continue
            names.append(name)
            hits.extend(Hit(name, alias, fname) for alias, fname in kept)
            rank = min(rank, ent.rank)
            if ent.entity.chats:
                chats.update(dict.fromkeys(ent.entity.chats))
            else:
                to_default = True
        if not names and not excluded:
            return NO_MATCH
        return MatchResult(
            entities=tuple(names),
            hits=tuple(hits),
            excluded=tuple(excluded),
            priority=PRIORITIES[rank] if names else "normal",
            chats=tuple(chats),
            to_default=to_default,
        )


def _owners(m: Matcher, attr: str) -> list[int]:
    owners: list[int] = []
    for ei, ent in enumerate(m._ents):
        owners.extend([ei] * len(getattr(ent.entity, attr)))
    return owners


def _terms(terms: tuple[str, ...], limit: int = 6) -> str:
    shown = ", ".join(terms[:limit])
    return shown + (", …" if len(terms) > limit else "")


def describe(result: MatchResult) -> str:
    """Explain a match result in plain text (for the /test command and the match CLI)."""
    lines: list[str] = []
    if result:
        lines.append(f"ALERT ({result.priority}): {', '.join(result.entities)}")
        for name in result.entities:
            where = ", ".join(f"{h.alias!r} in {h.field}" for h in result.hits if h.entity == name)
            lines.append(f"  + {name}: {where}")
        if result.chats:
            routes = ", ".join(str(c) for c in result.chats)
            extra = " and the default chats" if result.to_default else ""
            lines.append(f"  -> routed to {routes}{extra}")
    else:
        lines.append("No alert: no watched entity matched.")
    for ex in result.excluded:
        lines.append(f"  - {ex.entity} not counted: {ex.reason}")
    return "\n".join(lines)
