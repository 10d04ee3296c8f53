"""Decide which watched entities a news item mentions, with one Aho-Corasick pass per field.

Each entity found is decided once: excluded (exclusion phrase, ignored phrase, unsearched field,
missing context term, out of scope), weak (found, but only in a list, an aside or a place below
its ``min_salience``: stored, not alerted) or alerting. Every decision names the rule that made
it (``Reason``), for ``/test``, ``match`` and ``match --json``.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import ahocorasick
import regex

from bot.core.normalize import fold, normalize
from bot.core.salience import FIELD_WEIGHT, Shape, may_be_aside, mention_salience, shape
from bot.core.text import TAG
from bot.core.watchlist import FIELDS, PRIORITIES, ChatRoute, Entity, Priority, Scope, TextField

# Arabic proclitics allowed glued to the front of an Arabic phrase: the conjunctions و (and)
# and ف (so), the prepositions ب (in/with) and ل (for/to), and a conjunction followed by a
# preposition (وب, ول, فب, فل). ل before the article ال contracts to لل. The article ال itself
# is never added: "المالي" means "the Malian" or "the financial" and is not "Mali".
# ك (like) is left out on purpose: ك + مالي is كمالي ("luxury", and a surname).
ARABIC_PROCLITICS = ("و", "ف", "ب", "ل", "وب", "ول", "فب", "فل")
# A regex alias gets this long per field of one item (a sane one takes microseconds);
# `main.py check` refuses nested quantifiers, this bounds what slips through.
REGEX_TIME_LIMIT = 0.05
_ARABIC_START = re.compile("^[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")
_APOSTROPHES = re.compile("['’ʼ`´]")
_HYPHENS = re.compile("[‐‑-]")

_ALIAS, _EXCLUDE, _IGNORE, _CONTEXT, _INSIDE, _OUTSIDE = range(6)
# What the folded automaton holds for a key: its length, its (kind, ref) payloads, and
# whether one of them is an alias.
_KeyValue = tuple[int, tuple[tuple[int, int], ...], bool]
# A year as an item dates itself: after a month, or after "in", "en", "since", "عام"...
_YEAR = re.compile(
    r"\b(?:in|en|of|de|since|depuis|from|until|year|annee|im|nel|del|ano|عام|سنه|january|february|march|april|may|june|july|"
    r"august|september|october|november|december|janvier|fevrier|mars|avril|mai|juin|juillet|"
    r"aout|septembre|octobre|novembre|decembre|januar|februar|marz|juni|juli|oktober|dezember|"
    r"gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|dicembre)"
    r" (1[89]\d\d|20\d\d)\b"
)


class Rule(StrEnum):
    """The watchlist rule behind a decision."""

    ALIAS = "alias"  # an alias was found (and nothing else applied)
    FIELDS = "fields"  # the alias is in a field the entity does not search
    IGNORE = "ignore"  # the alias is inside an ignored phrase
    CONTEXT = "context"  # a context term was found, or is missing
    EXCLUDE = "exclude"  # an exclusion phrase is in the item
    SCOPE = "scope"  # the item is inside, or outside, the entity's scope
    SALIENCE = "salience"  # how prominent the best mention is, against min_salience


class Decision(StrEnum):
    """What became of an entity found in an item."""

    ALERT = "alert"
    WEAK = "weak"  # stored and searchable, never alerted on its own
    EXCLUDED = "excluded"


_RANK = {p: i for i, p in enumerate(PRIORITIES)}
_SALIENCE_SPANS = 48  # mentions of one alias in one field whose salience is computed


@dataclass(frozen=True, slots=True)
class Hit:
    """An entity found in an item: which alias (as written in the watchlist), in which field."""

    entity: str
    alias: str
    field: TextField


@dataclass(frozen=True, slots=True)
class Exclusion:
    """An entity whose alias was found but which does not alert, and why."""

    entity: str
    reason: str
    rule: Rule = Rule.EXCLUDE


@dataclass(frozen=True, slots=True)
class WeakMatch:
    """An entity found, in scope and in context, but not prominently enough to alert."""

    entity: str
    salience: float
    reason: str


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule that weighed in the decision on one entity, in plain words."""

    entity: str
    decision: Decision
    rule: Rule
    detail: str


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What the matcher decided for one item. Truthy when at least one entity alerts."""

    entities: tuple[str, ...] = ()
    hits: tuple[Hit, ...] = ()
    excluded: tuple[Exclusion, ...] = ()
    priority: Priority = Priority.NORMAL  # the highest among matched entities (normal if none)
    chats: tuple[ChatRoute, ...] = ()  # union of explicit routes; empty: the default chats
    to_default: bool = False  # a matched entity has no explicit route: send to default chats
    weak: tuple[WeakMatch, ...] = ()  # found but not salient: stored, searchable, not alerted
    reasons: tuple[Reason, ...] = ()  # every rule that decided, per entity, in order

    @property
    def weak_entities(self) -> tuple[str, ...]:
        return tuple(w.entity for w in self.weak)

    def __bool__(self) -> bool:
        return bool(self.entities)


NO_MATCH = MatchResult()


@dataclass(slots=True)
class _Ent:
    entity: Entity
    fields_mask: int
    context_group: int  # -1 when the entity has no context rule
    rank: int
    scope: int = -1  # index in Matcher._scopes, -1 when the entity has no scope


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
    contexts: dict[int, str] = field(default_factory=dict)  # group -> first term found
    inside: dict[int, list[tuple[int, int, int, str]]] = field(default_factory=dict)
    outside: dict[int, str] = field(default_factory=dict)  # scope -> first outside place
    padded: list[str] = field(default_factory=lambda: ["", ""])  # per field: " folded text "


def phrase_keys(text: str, *, case_sensitive: bool = False) -> list[str]:
    """The space-padded normalised keys under which a phrase is searched.

    The phrase itself; the phrase with apostrophes and/or hyphens removed (so "Jama'at" also
    finds "Jamaat", "al-Islam" also finds "alIslam"); and for Arabic phrases the same with each
    proclitic of ``ARABIC_PROCLITICS``.
    """
    norm = fold if case_sensitive else normalize
    variants = (text, _APOSTROPHES.sub("", text), _HYPHENS.sub("", text))
    bases = dict.fromkeys(norm(v) for v in (*variants, _HYPHENS.sub("", variants[1])))
    for base in list(bases):
        bases.update(dict.fromkeys(arabic_g_spellings(base)))
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


# A foreign name's hard G is written غ in most Arabic press and ج in Egypt's (فاغنر / فاجنر
# for Wagner, غويتا / جويتا for Goïta): an alias written with غ also finds the ج spellings.
_MAX_G_LETTERS = 3


def arabic_g_spellings(phrase: str) -> list[str]:
    """The Egyptian spellings of an Arabic alias's غ (as ج), every mix of them for up to
    three غ; none for a phrase without غ. ج is never turned into غ: it is also a native letter
    (جماعة), and a name spelt with ج already is the Egyptian form."""
    spots = [i for i, ch in enumerate(phrase) if ch == "غ"][:_MAX_G_LETTERS]
    out: list[str] = []
    for mask in range(1, 1 << len(spots)):
        chars = list(phrase)
        for bit, i in enumerate(spots):
            if mask >> bit & 1:
                chars[i] = "ج"
        out.append("".join(chars))
    return out


def match_text(text: str) -> str:
    """``text`` as ``Matcher.match`` scans it (stray tags and entities off, then ``fold``):
    computed ahead, in a parse worker, it is handed to ``match`` as ``prefolded``."""
    if "<" in text or "&" in text:
        text = _plain(text)
    return fold(text)


def _found_any(automaton: ahocorasick.Automaton, text: str) -> bool:
    """Whether any key of ``automaton`` occurs in ``text`` (the scan stops at the first)."""
    return next(automaton.iter(text), None) is not None


def _plain(text: str) -> str:
    if "<" in text:
        text = TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    return text


class MatcherLike(Protocol):
    """What the pipeline and the bot's /test need of a matcher: the current ``Matcher`` (it is
    rebuilt on each watchlist reload), or a test's stand-in."""

    def match(
        self, title: str, summary: str, prefolded: tuple[str, str] | None = None
    ) -> MatchResult: ...


class Matcher:
    """A compiled watchlist. Build it once per watchlist version with ``Matcher.compile``."""

    def __init__(self) -> None:
        self._ents: list[_Ent] = []
        self._aliases: list[_AliasRef] = []
        self._groups: list[tuple[str, ...]] = []
        self._scopes: list[Scope] = []
        self._excludes: list[str] = []
        self._ignores: list[str] = []
        self._folded = ahocorasick.Automaton()
        self._cased: ahocorasick.Automaton | None = None
        self._regexes: list[tuple[regex.Pattern[str], int, bool]] = []  # pattern, alias, cased
        self.regex_timeouts = 0  # regex aliases stopped at REGEX_TIME_LIMIT (never expected)
        self._exclude_owner: list[int] = []
        self._ignore_owner: list[int] = []
        self._has_folded = False
        # Every alias key, casefolded: the folded keys that belong to an alias (not only to a
        # context, scope, exclude or ignore phrase) and the case-kept ones. Most items hold
        # none, and one scan of this automaton says so.
        self._alias_keys: ahocorasick.Automaton | None = None
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

        def add(
            table: dict[str, list[tuple[int, int]]], key: str, payload: tuple[int, int]
        ) -> None:
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

        scope_ids: dict[Scope, int] = {}

        def scope(sc: Scope | None) -> int:
            if sc is None:
                return -1
            if sc not in scope_ids:
                sid = scope_ids[sc] = len(m._scopes)
                m._scopes.append(sc)
                for kind, phrases in ((_INSIDE, sc.places), (_OUTSIDE, sc.outside)):
                    for phrase in phrases:
                        for key in phrase_keys(phrase):
                            add(folded, key, (kind, sid))
            return scope_ids[sc]

        for ei, entity in enumerate(entities):
            mask = sum(1 << FIELDS.index(f) for f in entity.fields if f in FIELDS)
            m._ents.append(
                _Ent(
                    entity, mask, group(entity.context), _RANK[entity.priority], scope(entity.scope)
                )
            )
            seen_keys: set[tuple[bool, str]] = set()
            for alias in entity.aliases:
                ai = len(m._aliases)
                m._aliases.append(_AliasRef(ei, alias.text, group(alias.context)))
                if alias.regex:
                    # The `regex` engine, for its time limit (REGEX_TIME_LIMIT): a pattern that
                    # backtracks badly cannot freeze the event loop.
                    flags = regex.V0 if alias.case_sensitive else regex.V0 | regex.IGNORECASE
                    pattern = regex.compile(rf"(?<!\w)(?:{alias.text})(?!\w)", flags)
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
        alias_keys = ahocorasick.Automaton()
        for key, payloads in folded.items():
            has_alias = any(kind == _ALIAS for kind, _ref in payloads)
            m._folded.add_word(key, (len(key), tuple(payloads), has_alias))
            if has_alias:
                alias_keys.add_word(key, True)
        if folded:
            m._folded.make_automaton()
            m._has_folded = True
        if cased:
            m._cased = ahocorasick.Automaton()
            for key, payloads in cased.items():
                m._cased.add_word(key, (len(key), tuple(payloads), True))
                # A case-kept key found in a text is found casefolded in the casefolded text.
                alias_keys.add_word(key.casefold(), True)
            m._cased.make_automaton()
        if len(alias_keys):
            alias_keys.make_automaton()
            m._alias_keys = alias_keys
        m._empty = not m._aliases
        return m

    # ----------------------------------------------------------------- matching

    def match(
        self, title: str, summary: str = "", prefolded: tuple[str, str] | None = None
    ) -> MatchResult:
        """Match one item's title and summary (plain text; stray tags/entities are stripped).

        ``prefolded``: ``(match_text(title), match_text(summary))`` when the caller has them
        already (the cycle's parse jobs make them), so they are not folded again here.
        """
        if self._empty:
            return NO_MATCH
        alias_keys = self._alias_keys
        if prefolded is not None and alias_keys is not None and not self._regexes:
            # The common case of a cycle, in one scan: folded by the parse job, and no alias
            # key in either field. Whatever occurs in one field occurs in the two joined, so
            # nothing is missed; a key across the join only sends the item down the full path.
            title_kept, summary_kept = prefolded
            joined = f" {title_kept.casefold()} {summary_kept.casefold()} "
            if not _found_any(alias_keys, joined):
                return NO_MATCH
        scans = []
        plains = ["", ""]
        alias_seen = False
        for fi, text in enumerate((title, summary)):
            if not text:
                continue
            if "<" in text or "&" in text:
                text = _plain(text)
            plains[fi] = text
            kept = prefolded[fi] if prefolded is not None else fold(text)
            padded = f" {kept.casefold()} "
            # Every key is looked for only in a field that holds some alias (or, below, when
            # the other field does): most items hold none, and one scan of alias_keys says so.
            folded = None
            cased = []
            if alias_keys is not None and _found_any(alias_keys, padded):
                folded = self._scan_folded(padded)
                cased = list(self._cased.iter(f" {kept} ")) if self._cased is not None else []
                if cased or any(value[2] for _end, value in folded):
                    alias_seen = True
            regex_hits = [
                (ai, start - 1, end)
                for pattern, ai, case_sensitive in self._regexes
                for start, end in self._regex_spans(
                    pattern, f" {kept} " if case_sensitive else padded
                )
            ]
            if regex_hits:
                alias_seen = True
            scans.append((fi, folded, cased, regex_hits, padded))
        if not alias_seen:  # the common case: nothing watched in this item
            return NO_MATCH
        found = _Found()
        for fi, scanned, cased, regex_hits, padded in scans:
            # A field without an alias is scanned now: its contexts count for the other field.
            folded = scanned if scanned is not None else self._scan_folded(padded)
            found.padded[fi] = padded
            aliases, contexts = found.aliases, found.contexts
            for end, (length, payloads, _has_alias) in folded:
                start = end - length + 1
                for kind, ref in payloads:
                    # the two common kinds inline: a text can hold thousands of keys
                    if kind == _ALIAS:
                        aliases.append((ref, fi, start, end))
                    elif kind == _CONTEXT:
                        if ref not in contexts:
                            contexts[ref] = padded[start + 1 : end]
                    else:
                        self._record(found, kind, ref, fi, start, end, padded)
            for end, (length, payloads, _has_alias) in cased:
                for _kind, ref in payloads:
                    found.aliases.append((ref, fi, end - length + 1, end))
            for ai, start, end in regex_hits:
                found.aliases.append((ai, fi, start, end))
        return self._decide(found, plains)

    def _scan_folded(self, padded: str) -> list[tuple[int, _KeyValue]]:
        return list(self._folded.iter(padded)) if self._has_folded else []

    def _regex_spans(self, pattern: regex.Pattern[str], text: str) -> list[tuple[int, int]]:
        """Match spans of one regex alias, within REGEX_TIME_LIMIT (none when it runs out)."""
        try:
            return [mo.span() for mo in pattern.finditer(text, timeout=REGEX_TIME_LIMIT)]
        except TimeoutError:
            self.regex_timeouts += 1
            return []

    def _record(
        self, found: _Found, kind: int, ref: int, fi: int, start: int, end: int, padded: str
    ) -> None:
        if kind == _INSIDE:
            found.inside.setdefault(ref, []).append((fi, start, end, padded[start + 1 : end]))
        elif kind == _OUTSIDE:
            if ref not in found.outside:
                found.outside[ref] = padded[start + 1 : end]
        elif kind == _EXCLUDE:
            found.excludes.setdefault(self._exclude_owner[ref], (self._excludes[ref], fi))
        else:
            found.ignores.setdefault((self._ignore_owner[ref], fi), []).append((start, end))

    def _decide(self, found: _Found, plains: list[str]) -> MatchResult:
        per_entity: dict[int, list[tuple[int, int, int, int]]] = {}
        for event in found.aliases:
            per_entity.setdefault(self._aliases[event[0]].entity, []).append(event)
        names: list[str] = []
        hits: list[Hit] = []
        excluded: list[Exclusion] = []
        weak: list[WeakMatch] = []
        reasons: list[Reason] = []
        chats: dict[ChatRoute, None] = {}
        to_default = False
        rank = len(PRIORITIES)
        shapes: dict[int, Shape] = {}
        plain_shape = Shape((), (), (), analysed=1 << 62)  # no list, no aside: the field's weight
        for ei in sorted(per_entity):
            ent = self._ents[ei]
            name = ent.entity.name

            def exclude(rule: Rule, why: str, name: str = name) -> None:
                excluded.append(Exclusion(name, why, rule))
                reasons.append(Reason(name, Decision.EXCLUDED, rule, why))

            if ei in found.excludes:
                phrase, fi = found.excludes[ei]
                exclude(Rule.EXCLUDE, f"exclusion phrase {phrase!r} in {FIELDS[fi]}")
                continue
            kept: dict[tuple[str, TextField], list[tuple[int, int]]] = {}  # (alias, field) -> spans
            dropped: list[tuple[Rule, str]] = []
            found_context: list[str] = []
            for ai, fi, start, end in sorted(per_entity[ei], key=lambda ev: (ev[1], ev[2])):
                ref = self._aliases[ai]
                if not ent.fields_mask & (1 << fi):
                    why = f"{ref.text!r} only in {FIELDS[fi]}, which is not searched"
                    dropped.append((Rule.FIELDS, why))
                elif any(s <= start and end <= e for s, e in found.ignores.get((ei, fi), ())):
                    why = f"{ref.text!r} in {FIELDS[fi]} is inside an ignored phrase"
                    dropped.append((Rule.IGNORE, why))
                elif ref.context_group >= 0 and ref.context_group not in found.contexts:
                    terms = _terms(self._groups[ref.context_group])
                    why = f"{ref.text!r} needs a context term (one of: {terms}); none found"
                    dropped.append((Rule.CONTEXT, why))
                else:
                    if ref.context_group >= 0:
                        term = found.contexts[ref.context_group]
                        found_context.append(f"{ref.text!r} counts: context term {term!r} found")
                    kept.setdefault((ref.text, FIELDS[fi]), []).append((start, end - 1))
            if not kept:
                rules = dict.fromkeys(rule for rule, _why in dropped)
                exclude(next(iter(rules)), "; ".join(dict.fromkeys(why for _r, why in dropped)))
                continue
            if ent.context_group >= 0 and ent.context_group not in found.contexts:
                terms = _terms(self._groups[ent.context_group])
                exclude(Rule.CONTEXT, f"no context term in the item (one of: {terms})")
                continue
            if ent.context_group >= 0:
                term = found.contexts[ent.context_group]
                found_context.append(f"context term {term!r} found")
            scoped = self._scope(ent, found, per_entity[ei], plains)
            if scoped[0]:
                exclude(Rule.SCOPE, scoped[1])
                continue
            best, where = -1.0, ""
            for (alias, fname), spans in kept.items():
                fi = FIELDS.index(fname)
                if fi not in shapes:
                    aside = may_be_aside(plains[fi], found.padded[fi])
                    shapes[fi] = shape(plains[fi]) if aside else plain_shape
                # A name repeated a thousand times is read a few dozen times (the last mention
                # too: past the part of the field read for its shape, it has the full weight).
                for position, stop in spans[:_SALIENCE_SPANS] + spans[-1:]:
                    score, why = mention_salience(fname, shapes[fi], position, stop)
                    if score > best:
                        best, where = score, f"{alias!r} in {why}"
                    if best >= FIELD_WEIGHT["title"]:
                        break
            salient = best >= ent.entity.min_salience
            decision = Decision.ALERT if salient else Decision.WEAK
            reasons.extend(Reason(name, decision, Rule.CONTEXT, why) for why in found_context)
            if scoped[1]:
                reasons.append(Reason(name, decision, Rule.SCOPE, scoped[1]))
            sign = ">=" if salient else "<"
            salience = (
                f"salience {best:g} ({where}) {sign} min_salience {ent.entity.min_salience:g}"
            )
            reasons.append(Reason(name, decision, Rule.SALIENCE, salience))
            if not salient:
                weak.append(WeakMatch(name, best, salience))
                continue
            names.append(name)
            hits.extend(Hit(name, alias, fname) for alias, fname in kept)
            rank = min(rank, ent.rank)
            if ent.entity.chats:
                chats.update(dict.fromkeys(ent.entity.chats))
            else:
                to_default = True
        if not names and not excluded and not weak:
            return NO_MATCH
        return MatchResult(
            entities=tuple(names),
            hits=tuple(hits),
            excluded=tuple(excluded),
            priority=PRIORITIES[rank] if names else Priority.NORMAL,
            chats=tuple(chats),
            to_default=to_default,
            weak=tuple(weak),
            reasons=tuple(reasons),
        )

    def _scope(
        self,
        ent: _Ent,
        found: _Found,
        mentions: list[tuple[int, int, int, int]],
        plains: list[str],
    ) -> tuple[bool, str]:
        """(out of scope?, why) for an entity with a scope; (False, "") without one."""
        if ent.scope < 0:
            return False, ""
        sc = self._scopes[ent.scope]
        if sc.since is not None:
            years = [int(y) for text in plains for y in _YEAR.findall(normalize(text))]
            if years and max(years) < sc.since:
                return True, (
                    f"scope {sc.name!r}: the item dates itself to {max(years)}, "
                    f"before {sc.since} (history)"
                )
        if ent.scope in found.outside:
            place = found.outside[ent.scope]
            # The entity's own aliases are not places: "Africa Corps" does not mean Africa.
            covered = _Spans(mentions)
            for fi, start, end, text in found.inside.get(ent.scope, ()):
                if not covered.overlaps(fi, start, end):
                    return False, (
                        f"scope {sc.name!r}: {text!r} is inside it (and {place!r} is not)"
                    )
            return True, (
                f"scope {sc.name!r}: {place!r} is outside it and no place inside it is named"
            )
        return False, ""


class _Spans:
    """Alias occurrences per field, for "does this place overlap one?" in O(log n)."""

    def __init__(self, mentions: list[tuple[int, int, int, int]]) -> None:
        self._starts: dict[int, list[int]] = {}
        self._max_end: dict[int, list[int]] = {}  # running max of ends, in start order
        for _alias, fi, start, end in sorted(mentions, key=lambda m: (m[1], m[2])):
            ends = self._max_end.setdefault(fi, [])
            self._starts.setdefault(fi, []).append(start)
            ends.append(max(end, ends[-1]) if ends else end)

    def overlaps(self, fi: int, start: int, end: int) -> bool:
        starts = self._starts.get(fi)
        if not starts:
            return False
        before = bisect.bisect_left(starts, end)  # occurrences starting before this one ends
        return before > 0 and self._max_end[fi][before - 1] > start


def _owners(m: Matcher, attr: str) -> list[int]:
    owners: list[int] = []
    for ei, ent in enumerate(m._ents):
        owners.extend([ei] * len(getattr(ent.entity, attr)))
    return owners


def _terms(terms: tuple[str, ...], limit: int = 6) -> str:
    shown = ", ".join(terms[:limit])
    return shown + (", …" if len(terms) > limit else "")


def describe(result: MatchResult) -> str:
    """Explain a match result in plain text (for the /test command and the match CLI).

    One line per entity found, naming its decision, then one line per rule that decided it:
    ``[context]``, ``[scope]``, ``[salience]``, ``[exclude]``, ``[ignore]``, ``[fields]``.
    """
    lines: list[str] = []
    if result:
        lines.append(f"ALERT ({result.priority}): {', '.join(result.entities)}")
    elif result.weak:
        lines.append(
            f"No alert: weak match only ({', '.join(result.weak_entities)}): stored and"
            " searchable, not alerted."
        )
    elif result.excluded:
        lines.append("No alert: the watched names found do not count here (rules below).")
    else:
        lines.append("No alert: no watched entity matched.")
    for name in result.entities:
        where = ", ".join(f"{h.alias!r} in {h.field}" for h in result.hits if h.entity == name)
        lines.append(f"  + {name}: {where}")
        lines.extend(_rule_lines(result, name))
    if result.chats:
        routes = ", ".join(str(c) for c in result.chats)
        extra = " and the default chats" if result.to_default else ""
        lines.append(f"  -> routed to {routes}{extra}")
    for w in result.weak:
        lines.append(f"  ~ {w.entity}: weak match, not alerted")
        lines.extend(_rule_lines(result, w.entity))
    for ex in result.excluded:
        lines.append(f"  - {ex.entity} not counted [{ex.rule}]: {ex.reason}")
    return "\n".join(lines)


def _rule_lines(result: MatchResult, name: str) -> list[str]:
    return [f"      [{r.rule}] {r.detail}" for r in result.reasons if r.entity == name]
