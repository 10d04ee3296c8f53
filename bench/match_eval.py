"""Evaluate watchlist matching on a labelled JSONL file, per language and per entity.

Run from the repository root:

    python -m bench.match_eval ../shared/eval/sahel-news-dev.jsonl
    python -m bench.match_eval tests/data/headlines_labelled.jsonl --watchlists watchlists

Each line is one item: ``title``, ``summary`` (optional), ``entities`` (the labels: entity names
that truly apply), ``relevant`` (optional; default: any entity), ``lang``, ``id``, ``story_id``
and ``note`` (all optional). Labels are mapped to watchlist entities by name, then by ``--map
LABEL=ENTITY`` (the default map covers the Sahel dev set's labels); a label with no entity is
left out of the per-entity table.

For title + summary and for the title alone it prints:

* item level: an item alerts when at least one entity alerts (weak matches do not); precision
  and recall against ``relevant``, overall and per language; every false alert and miss, with
  the item's ``note``;
* entity level: precision and recall per label over (item, entity) pairs;
* the held-out view of the one tuned number, ``min_salience``: K folds grouped by story (the
  reports of one story are never split between fitting and testing), the threshold with the
  best F1 on the other folds applied to each fold, pooled.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import sys
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bot.core.matching import Matcher
from bot.core.watchlist import Entity
from bot.cycle.watchlist_files import load_watchlist_dir

ROOT = Path(__file__).resolve().parent.parent
# The Sahel dev set's labels that are not entity names of the default watchlist.
DEFAULT_MAP = {
    "Africa Corps": "Africa Corps (formerly Wagner Group)",
    "FLA": "Azawad Liberation Front (FLA)",
}
THRESHOLDS = (0.0, 0.3, 0.5, 0.6, 0.7, 1.0)
MODES = (("title + summary", True), ("title only", False))


@dataclass(frozen=True, slots=True)
class Labelled:
    """One labelled item."""

    id: str
    title: str
    summary: str
    lang: str
    entities: frozenset[str]
    relevant: bool
    story: str
    note: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the matcher made of one item: entities alerting, and every entity with its salience."""

    alerting: frozenset[str]
    weak: frozenset[str]
    salience: dict[str, float] = field(default_factory=dict)  # entity -> best mention, 0..1


@dataclass(slots=True)
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, predicted: bool, truth: bool) -> None:
        self.tp += predicted and truth
        self.fp += predicted and not truth
        self.fn += truth and not predicted

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def read_labelled(path: Path) -> list[Labelled]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return read_labelled_rows(json.loads(line) for line in lines if line.strip())


def read_labelled_rows(rows: Iterable[dict[str, Any]]) -> list[Labelled]:
    items = []
    for n, row in enumerate(rows, start=1):
        entities = frozenset(row.get("entities") or ())
        item_id = str(row.get("id") or f"line-{n}")
        items.append(
            Labelled(
                id=item_id,
                title=row.get("title") or "",
                summary=row.get("summary") or "",
                lang=row.get("lang") or "?",
                entities=entities,
                relevant=bool(row.get("relevant", bool(entities))),
                story=row.get("story_id") or item_id,
                note=row.get("note") or "",
            )
        )
    return items


def evaluate(matcher: Matcher, items: Sequence[Labelled], with_summary: bool) -> list[Outcome]:
    """Match every item once; salience is read from a twin matcher where nothing is salient."""
    probe = Matcher.compile(
        dataclasses.replace(e, min_salience=1.01) for e in matcher.entities
    )  # every entity that passes the other rules comes back weak, with its salience
    outcomes = []
    for it in items:
        summary = it.summary if with_summary else ""
        result = matcher.match(it.title, summary)
        scored = probe.match(it.title, summary)
        outcomes.append(
            Outcome(
                frozenset(result.entities),
                frozenset(result.weak_entities),
                {w.entity: w.salience for w in scored.weak},
            )
        )
    return outcomes


def entity_map(
    labels: Iterable[str], entities: Sequence[Entity], extra: dict[str, str]
) -> dict[str, str]:
    names = {e.name for e in entities}
    mapping: dict[str, str] = {}
    for label in labels:
        target = extra.get(label) or DEFAULT_MAP.get(label) or label
        if target in names:
            mapping[label] = target
    return mapping


def folds_of(items: Sequence[Labelled], k: int) -> list[int]:
    """A fold per item, the same for every report of one story (crc32 of the story id)."""
    return [zlib.crc32(it.story.encode()) % k for it in items]


def held_out(
    items: Sequence[Labelled], outcomes: Sequence[Outcome], k: int
) -> tuple[Score, list[float]]:
    """Grouped K-fold: the min_salience with the best F1 on K-1 folds, scored on the last."""
    folds = folds_of(items, k)
    pooled = Score()
    chosen: list[float] = []

    def alerts(o: Outcome, t: float) -> bool:
        return any(s >= t for s in o.salience.values())

    for fold in range(k):
        train = [(it, o) for it, o, f in zip(items, outcomes, folds, strict=True) if f != fold]
        best = max(
            THRESHOLDS,
            key=lambda t: (_score(((alerts(o, t), it.relevant) for it, o in train)).f1, t),
        )
        chosen.append(best)
        for it, o, f in zip(items, outcomes, folds, strict=True):
            if f == fold:
                pooled.add(alerts(o, best), it.relevant)
    return pooled, chosen


def _score(pairs: Iterable[tuple[bool, bool]]) -> Score:
    s = Score()
    for predicted, truth in pairs:
        s.add(predicted, truth)
    return s


def _row(name: str, s: Score, width: int = 18) -> str:
    return (
        f"| {name:<{width}} | {s.tp:>4} | {s.fp:>4} | {s.fn:>4} | "
        f"{s.precision:>9.3f} | {s.recall:>6.3f} |"
    )


def _header(first: str, width: int = 18) -> list[str]:
    return [
        f"| {first:<{width}} |   TP |   FP |   FN | precision | recall |",
        f"| {'-' * width} | ---: | ---: | ---: | --------: | -----: |",
    ]


def report(
    items: Sequence[Labelled],
    matcher: Matcher,
    mapping: dict[str, str],
    out: TextIO,
    *,
    folds: int = 5,
    list_errors: bool = True,
) -> dict[str, Score]:
    """Print the tables; return the item-level score per mode (for tests and CI)."""
    totals: dict[str, Score] = {}
    for mode, with_summary in MODES:
        outcomes = evaluate(matcher, items, with_summary)
        overall = Score()
        by_lang: dict[str, Score] = {}
        for it, o in zip(items, outcomes, strict=True):
            overall.add(bool(o.alerting), it.relevant)
            by_lang.setdefault(it.lang, Score()).add(bool(o.alerting), it.relevant)
        totals[mode] = overall
        print(
            f"\n## {mode}: {len(items)} items, {sum(i.relevant for i in items)} relevant\n",
            file=out,
        )
        print(
            "Item level (an item alerts when one entity alerts; weak matches do not):\n", file=out
        )
        print("\n".join(_header("language")), file=out)
        langs = sorted(by_lang, key=lambda lang: (-sum(1 for i in items if i.lang == lang), lang))
        for lang in langs:
            print(_row(lang, by_lang[lang]), file=out)
        print(_row("**all**", overall), file=out)

        print("\nEntity level ((item, entity) pairs; alerting entities only):\n", file=out)
        width = max([28, *(len(label) for label in mapping)])
        print("\n".join(_header("entity", width)), file=out)
        for label in sorted(mapping, key=lambda lb: -sum(lb in i.entities for i in items)):
            s = _score(
                (mapping[label] in o.alerting, label in it.entities)
                for it, o in zip(items, outcomes, strict=True)
            )
            print(_row(label, s, width), file=out)
        unmapped = sorted({lb for i in items for lb in i.entities} - set(mapping))
        if unmapped:
            print(f"\nLabels without an entity of their own: {', '.join(unmapped)}", file=out)

        weak_only = Counter(
            it.relevant for it, o in zip(items, outcomes, strict=True) if o.weak and not o.alerting
        )
        print(
            f"\nWeak matches only (stored, not alerted): {weak_only[False]} not relevant,"
            f" {weak_only[True]} relevant",
            file=out,
        )
        pooled, chosen = held_out(items, outcomes, folds)
        print(
            f"Held-out min_salience ({folds} folds grouped by story, thresholds"
            f" {', '.join(f'{t:g}' for t in THRESHOLDS)}): chosen per fold"
            f" {', '.join(f'{t:g}' for t in chosen)}; pooled precision {pooled.precision:.3f},"
            f" recall {pooled.recall:.3f}",
            file=out,
        )
        if list_errors:
            for it, o in zip(items, outcomes, strict=True):
                if bool(o.alerting) != it.relevant:
                    kind = "FALSE ALERT" if o.alerting else "MISS"
                    got = ", ".join(sorted(o.alerting)) or "-"
                    weak = f" (weak: {', '.join(sorted(o.weak))})" if o.weak else ""
                    print(f"- {kind} {it.id} [{it.lang}] {it.title!r}: {got}{weak}", file=out)
                    if it.note:
                        print(f"    note: {it.note}", file=out)
    return totals


def main_scores(labelled: Path, watchlists: Path = ROOT / "watchlists") -> dict[str, Score]:
    """Item-level scores per mode for a labelled file and a watchlist folder (no output)."""
    wset, problems = load_watchlist_dir(watchlists)
    if wset is None:
        raise ValueError("; ".join(str(p) for p in problems))
    items = read_labelled(labelled)
    mapping = entity_map({lb for i in items for lb in i.entities}, wset.entities, {})
    return report(items, Matcher.compile(wset.entities), mapping, io.StringIO())


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("labelled", type=Path, help="labelled JSONL file")
    parser.add_argument("--watchlists", type=Path, default=ROOT / "watchlists")
    parser.add_argument("--map", action="append", default=[], metavar="LABEL=ENTITY")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-errors", action="store_true", help="do not list errors")
    parser.add_argument(
        "--min-salience", type=float, help="override every entity's min_salience (compare choices)"
    )
    args = parser.parse_args(argv)
    out = out or sys.stdout
    wset, problems = load_watchlist_dir(args.watchlists)
    if wset is None:
        for p in problems:
            print(p, file=sys.stderr)
        return 1
    entities = list(wset.entities)
    if args.min_salience is not None:
        entities = [dataclasses.replace(e, min_salience=args.min_salience) for e in entities]
    items = read_labelled(args.labelled)
    extra = dict(m.split("=", 1) for m in args.map)
    mapping = entity_map({lb for i in items for lb in i.entities}, wset.entities, extra)
    print(f"# Matching evaluation: {args.labelled.name}, watchlists {wset.version}", file=out)
    report(
        items,
        Matcher.compile(entities),
        mapping,
        out,
        folds=args.folds,
        list_errors=not args.no_errors,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
