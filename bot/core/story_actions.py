"""Action classes of a title (freed, arrives, quits, signs...) in EN/FR/AR, for story grouping.

Two reports of one event say the same kind of thing happened; the next step of a saga says
another ("hostage freed" / "ex-hostage arrives in Paris"). ``ActionLexicon`` finds the classes
a normalised text names, from word lists parsed out of ``bot/data/story_actions.toml`` (read by
the adapter ``bot/story_grouping.py``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.errors import ActionLexiconError
from bot.core.normalize import normalize

__all__ = ["ActionLexicon", "ActionLexiconError", "parse_actions"]

_LANGUAGES = ("en", "fr", "ar")
_PROCLITICS = "وفبلك"


def _arabic(word: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in word)


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
        norm = normalize(text)
        if not norm:
            return frozenset()
        found: set[str] = set()
        words, stems, lengths = self.words, self.stems, self.stem_lengths
        for token in norm.split():
            for form in _forms(token):
                hit = words.get(form)
                if hit:
                    found |= hit
                for n in lengths:
                    if n > len(form):
                        break
                    hit = stems.get(form[:n])
                    if hit:
                        found |= hit
        padded = f" {norm} "
        for phrase, classes in self.phrases:
            if phrase in padded:
                found |= classes
        return frozenset(found)


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
