"""Action classes of a title (freed, arrives, quits, signs...) in EN/FR/AR, for story grouping.

Two reports of one event say the same kind of thing happened; the next step of a saga says
another ("hostage freed" / "ex-hostage arrives in Paris"). ``ActionLexicon`` finds the classes
a normalised text names, from word lists parsed out of ``bot/data/story_actions.toml`` (read by
the adapter ``bot/story_grouping.py``). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.errors import ActionLexiconError
from bot.core.normalize import normalize

__all__ = ["ActionLexicon", "ActionLexiconError", "parse_actions"]

_LANGUAGES = ("en", "fr", "ar")
_PROCLITICS = "وفبلك"

# Negation (a NegEx-style rule): an action named within NEGATION_SCOPE words after a negation
# cue, in the same clause, did not happen: "ECOWAS says yet to receive any formal notification"
# names no notification, "n'a reçu aucune notification" neither. Cues are whole words of the
# normalised text ("hasn't" normalises to "hasn t"); "yet" only in "yet to" ("yet another
# attack" is an attack). A clause ends at punctuation or at a word that starts another one
# ("No casualties as army repels attack": the attack is not negated).
NEGATION_CUES = frozenset(
    [
        *("no", "not", "never", "without", "nor", "t", "awaits", "awaiting"),
        *("pas", "aucun", "aucune", "jamais", "sans", "ni", "attend", "attendent"),
        *("لم", "لن", "لا", "عدم", "بدون"),
    ]
)
NEGATION_BIGRAMS = frozenset([("yet", "to")])
NEGATION_SCOPE = 6
CLAUSE_ENDS = frozenset(
    [
        *("as", "but", "after", "while", "though", "although", "since", "because", "and"),
        *("when", "mais", "apres", "alors", "tandis", "car", "lorsque", "quand", "et", "puis"),
        *("بعد", "لكن", "ثم"),
    ]
)
# What comes after "after" is what happened before: the cause or background of the event the
# title reports, not its action. "Denmark to start pulling troops out of Mali after junta's
# demand" reports a withdrawal, not a demand; "army leaves camp after two attacks" a departure.
# Actions from such a word to the end of its clause are not the title's.
BACKGROUND_CUES = frozenset(["after", "following", "apres", "suite", "بعد"])
_CLAUSE = re.compile(r"[,:;.!?|()\[\]«»\"“”–—]|\s-\s")


def _arabic(word: str) -> bool:
    return not word.isascii() and any("\u0600" <= ch <= "\u06ff" for ch in word)


def _forms(word: str) -> tuple[str, ...]:
    """A word and, for Arabic, the word without its proclitics (و ف ب ل ك, then ال / لل)."""
    if not _arabic(word):
        return (word,)
    out = [word]
    w = word
    if len(w) > 3 and w[0] in _PROCLITICS:
        w = w[1:]
        out.append(w)
    if len(w) > 4 and w[:2] in ("ال", "لل"):
        out.append(w[2:])
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ActionLexicon:
    """Word, stem and phrase tables; calling it on a text gives the classes the text names."""

    words: Mapping[str, frozenset[str]]
    stems: Mapping[str, frozenset[str]]
    stem_lengths: tuple[int, ...]
    phrases: tuple[tuple[str, frozenset[str]], ...]
    reasons: Mapping[str, str]
    families: Mapping[str, str]  # class -> family (classes whose difference is not a new event)
    evidence: frozenset[str]  # classes that, shared with one anchor, are evidence of one event
    steps: frozenset[str] = frozenset()  # classes that, named by one title only, mark a later step

    def family_of(self, classes: frozenset[str]) -> frozenset[str]:
        """The families of a set of classes."""
        return frozenset(self.families.get(c, c) for c in classes)

    def __call__(self, text: str) -> frozenset[str]:
        """The classes the text names, clause by clause; negated mentions left out."""
        found: set[str] = set()
        for clause in _CLAUSE.split(text):
            norm = normalize(clause)
            if norm:
                self._clause(norm, found)
        return frozenset(found)

    def _clause(self, norm: str, found: set[str]) -> None:
        tokens = norm.split()
        forms = [_forms(token) for token in tokens]  # each token's forms, read three times
        hits: list[set[str]] = [set() for _ in tokens]
        words, stems, lengths = self.words, self.stems, self.stem_lengths
        for i, token_forms in enumerate(forms):
            for form in token_forms:
                hit = words.get(form)
                if hit:
                    hits[i] |= hit
                for n in lengths:
                    if n > len(form):
                        break
                    hit = stems.get(form[:n])
                    if hit:
                        hits[i] |= hit
        padded = f" {norm} "
        for phrase, classes in self.phrases:
            start = padded.find(phrase)
            while start >= 0:  # a phrase counts at the word it starts with
                hits[padded.count(" ", 0, start)] |= classes
                start = padded.find(phrase, start + 1)
        negated = _negated(tokens, hits, forms)
        background = len(tokens)
        for i, token_forms in enumerate(forms):
            if not BACKGROUND_CUES.isdisjoint(token_forms):
                background = i
                break
        for i, named in enumerate(hits[:background]):
            if named and not negated[i]:
                found |= named


def _negated(tokens: list[str], hits: list[set[str]], forms: list[tuple[str, ...]]) -> list[bool]:
    """For each token, whether its action is negated: the first action word within
    NEGATION_SCOPE words after a cue (up to a word that starts another clause), and the word
    after it ("not formally notified", "aucune notification officielle"). What follows is that
    action's object, not negated: "yet to receive any notification of withdrawal" names a
    withdrawal."""
    out = [False] * len(tokens)
    for i, token in enumerate(tokens):
        if not NEGATION_CUES.isdisjoint(forms[i]):
            first = i + 1
        elif (token, tokens[i + 1] if i + 1 < len(tokens) else "") in NEGATION_BIGRAMS:
            first = i + 2
        else:
            continue
        for j in range(first, min(len(tokens), first + NEGATION_SCOPE)):
            if tokens[j] in CLAUSE_ENDS:
                break
            if hits[j]:
                out[j] = True
                if j + 1 < len(tokens):
                    out[j + 1] = True
                break
    return out


def parse_actions(data: Mapping[str, Any]) -> ActionLexicon:
    """An ActionLexicon from the parsed TOML: one table per class with a ``reason`` and
    ``en`` / ``fr`` / ``ar`` word lists (``*`` at the end: a stem; several words: a phrase)."""
    if not isinstance(data, Mapping):
        raise ActionLexiconError("the action classes must be a table")
    words: dict[str, set[str]] = {}
    stems: dict[str, set[str]] = {}
    phrases: dict[str, set[str]] = {}
    reasons: dict[str, str] = {}
    families: dict[str, str] = {}
    evidence: set[str] = set()
    steps: set[str] = set()
    for name, table in data.items():
        if not isinstance(table, Mapping):
            raise ActionLexiconError(f"[{name}]: must be a table")
        reason = table.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ActionLexiconError(f"[{name}]: needs a reason")
        reasons[name] = reason
        family = table.get("family", name)
        if not isinstance(family, str) or not family.strip():
            raise ActionLexiconError(f"[{name}]: family must be a name")
        families[name] = family
        flag = table.get("evidence", True)
        if not isinstance(flag, bool):
            raise ActionLexiconError(f"[{name}]: evidence must be true or false")
        if flag:
            evidence.add(name)
        step = table.get("step", False)
        if not isinstance(step, bool):
            raise ActionLexiconError(f"[{name}]: step must be true or false")
        if step:
            steps.add(name)
        for lang in _LANGUAGES:
            entries = table.get(lang, [])
            if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
                raise ActionLexiconError(f"[{name}].{lang}: must be a list of strings")
            for entry in entries:
                stem = entry.rstrip().endswith("*")
                norm = normalize(entry.rstrip().rstrip("*"))
                if not norm:
                    raise ActionLexiconError(f"[{name}].{lang}: empty word {entry!r}")
                if " " in norm:
                    phrases.setdefault(f" {norm}" + ("" if stem else " "), set()).add(name)
                elif stem:
                    if len(norm) < 3:
                        raise ActionLexiconError(f"[{name}].{lang}: stem {entry!r} too short")
                    stems.setdefault(norm, set()).add(name)
                else:
                    words.setdefault(norm, set()).add(name)
        unknown = set(table) - {"reason", "family", "evidence", "step", *_LANGUAGES}
        if unknown:
            raise ActionLexiconError(f"[{name}]: unknown keys {', '.join(sorted(unknown))}")
    return ActionLexicon(
        words={w: frozenset(c) for w, c in words.items()},
        stems={s: frozenset(c) for s, c in stems.items()},
        stem_lengths=tuple(sorted({len(s) for s in stems})),
        phrases=tuple((p, frozenset(c)) for p, c in sorted(phrases.items())),
        reasons=reasons,
        families=families,
        evidence=frozenset(evidence),
        steps=frozenset(steps),
    )
