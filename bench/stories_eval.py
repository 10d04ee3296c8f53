"""Evaluate story grouping on a labelled JSONL: the clusterer alone, cross-validated by story,
in two arrival modes and with two texts; the cost of a lookup; the end-to-end replay.

    python -m bench.stories_eval                       # clusterer table (dev set, 5 folds)
    python -m bench.stories_eval --cost                # + cost per item at 2,000 / 100,000
    python -m bench.stories_eval --e2e                 # + replay through the real pipeline
    python -m bench.stories_eval --limit 60 --folds 2 --cost --members 200 --big 1000 --e2e

Clusterer: items arrive one by one (``time order``: their own times, about 6 h of spread within
a published day; ``one hour``: all within one hour after the last publication, in date order,
the feeds giving no dates (dated by their links where those state a day); ``one hour, dated``:
the same, each dated by its feed; two undated modes on request, ``--modes "time order, undated"
"72 h bursts, undated"``, bench/story_data.py EXTRA_MODES, where an undated report whose feed
was polled shortly before it arrived is dated by its arrival as the pipeline does
(bot.core.arrival_bound; ``--no-arrival-bound``: as before, never), and an undated report whose
link states its day is dated by it (bot.core.link_dates; ``--no-link-dates``: as before,
never); ``--arrival-dates`` scores undated reports as before the model had undated variants,
their arrival taken as their date) and are grouped online by bot.core.story_index.StoryGroups,
as the pipeline does. Each item is scored with the model fitted on the other folds (folds group
whole stories), never on its own story.
Columns: pairwise precision/recall/F1 over all item pairs, the same split into same-language
and cross-language pairs, B-cubed P/R/F1, messages per relevant story (predicted clusters
among relevant items / true relevant stories; 1.00 is one message per story) and wrong merges
per 100 stories (true stories merged into another one's cluster; ``rel``: how many of them are
in clusters holding a relevant item, which users would see, ``other``: among non-relevant
items only, which the bot never alerts). ``--wrong`` lists every wrong merge with the
features and score of the pair that made it. ``in-sample`` rows use the
shipped model (fitted on everything): optimistic, for reference only. ``--undated-threshold``
sets the undated variants' threshold in the folds' models (bench/story_data.py
UNDATED_THRESHOLD; ``fitted``: their F1 threshold, as before it): the precision curve of
docs/dedup.md. Exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import TextIO

from bench.story_data import (
    ALL_MODES,
    DEV_SET,
    MODES,
    TEXTS,
    UNDATED_THRESHOLD,
    LabelledItem,
    Scores,
    cluster_online,
    default_actions,
    default_matcher,
    default_meanings,
    default_places,
    fit_model,
    grouping_dates,
    load_items,
    score_clusters,
    signatures,
    story_folds,
)
from bot.core.story_index import StoryGroups
from bot.core.story_model import (
    EVIDENCE_TITLE_SIMILARITY,
    FEATURES,
    Signature,
    StoryModel,
    _cosine,
    both_summaries,
    conflict,
    event_evidence,
    later_step,
    pair_features,
    parse_story_model,
    signature,
)
from bot.cycle.story_grouping import load_story_model


def cluster(
    items: Sequence[LabelledItem],
    sigs: Sequence[Signature],
    mode: str,
    models: Sequence[StoryModel],
    arrival_dates: bool = False,
    arrival_bound: bool = True,
    link_dates: bool = True,
) -> list[int]:
    """Online grouping in arrival order; ``models[i]`` scores item i's lookup."""
    return cluster_online(items, sigs, mode, models, arrival_dates, arrival_bound, link_dates)


HEADER = (
    f"{'text':<14}{'arrival':<22}{'scoring':<11}{'pair P':>7}{'R':>6}{'F1':>6}"
    f"{'same P':>8}{'R':>6}{'cross P':>9}{'R':>6}{'B3 P':>7}{'R':>6}{'F1':>6}"
    f"{'msg/story':>10}{'wrong/100':>10}{'rel':>5}{'other':>6}"
)


def row(text: str, mode: str, scoring: str, s: Scores) -> str:
    return (
        f"{text:<14}{mode:<22}{scoring:<11}{s.pair_p:>7.3f}{s.pair_r:>6.3f}{s.pair_f:>6.3f}"
        f"{s.same_p:>8.3f}{s.same_r:>6.3f}{s.cross_p:>9.3f}{s.cross_r:>6.3f}"
        f"{s.b3_p:>7.3f}{s.b3_r:>6.3f}{s.b3_f:>6.3f}"
        f"{s.messages_per_story:>10.2f}{s.wrong_per_100:>10.2f}"
        f"{s.wrong_relevant:>5}{s.wrong_other:>6}"
    )


def cross_language_misses(
    items: Sequence[LabelledItem], predicted: Sequence[int]
) -> list[tuple[str, int, int]]:
    """(language pair, true pairs, found) for true cross-language pairs."""
    total: Counter[str] = Counter()
    found: Counter[str] = Counter()
    for a in range(len(items)):
        for b in range(a + 1, len(items)):
            if items[a].story != items[b].story or items[a].lang == items[b].lang:
                continue
            key = "-".join(sorted((items[a].lang, items[b].lang)))
            total[key] += 1
            found[key] += predicted[a] == predicted[b]
    return [(k, total[k], found[k]) for k in sorted(total, key=lambda k: -total[k])]


def wrong_merges(
    items: Sequence[LabelledItem],
    sigs: Sequence[Signature],
    predicted: Sequence[int],
    mode: str,
    models: Sequence[StoryModel],
    arrival_dates: bool = False,
    arrival_bound: bool = True,
    link_dates: bool = True,
) -> list[str]:
    """Lines describing every predicted cluster that holds two or more true stories: its items
    (story, relevance, language, arrival time, title), then for each item that joined another
    true story's cluster, the pair with the earlier member it scores best against (margin,
    evidence, later step, guard, non-zero features)."""
    times, dated = grouping_dates(items, mode, arrival_dates, arrival_bound, link_dates)
    clusters: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(predicted):
        clusters[p].append(i)
    lines: list[str] = []
    for members in clusters.values():
        stories = {items[i].story for i in members}
        if len(stories) < 2:
            continue
        relevant = any(items[i].relevant for i in members)
        lines.append(
            f"  cluster of {len(stories)} true stories"
            f" ({'relevant' if relevant else 'non-relevant'}):"
        )
        for i in members:
            it = items[i]
            lines.append(
                f"    [{it.story}{'' if it.relevant else ', not relevant'}] {it.lang}"
                f" {times[i]:%Y-%m-%d %H:%M} {it.title}"
            )
        first_story = items[members[0]].story
        for pos, b in enumerate(members[1:], start=1):
            earlier = members[:pos]
            if all(items[a].story == items[b].story for a in earlier):
                continue
            model = models[b]

            def gap_to(a: int, b: int = b) -> float | None:
                if not (dated[a] and dated[b]):
                    return None
                return (times[b] - times[a]).total_seconds() / 3600

            a = max(
                (a for a in earlier if items[a].story != items[b].story),
                key=lambda a: model.score(sigs[b], sigs[a], gap_to(a)),
            )
            gap = gap_to(a)
            feats = pair_features(sigs[b], sigs[a], gap)
            nonzero = ", ".join(f"{n}={v:.2f}" for n, v in zip(FEATURES, feats, strict=True) if v)
            why = _evidence_why(sigs[b], sigs[a])
            lines.append(
                f"    joined: [{items[b].story}] to [{items[a].story}] (cluster of"
                f" {first_story}) gap {'unknown' if gap is None else f'{gap:.1f} h'}, margin"
                f" {model.score(sigs[b], sigs[a], gap):+.3f}"
                f" (p {model.probability(sigs[b], sigs[a], gap):.3f}, variant"
                f" {_variant_name(model, sigs[b], sigs[a], gap)}),"
                f" evidence: {why}; later step: {later_step(sigs[b], sigs[a], gap)}"
            )
            lines.append(f"      features: {nonzero}")
    return lines


def _variant_name(model: StoryModel, a: Signature, b: Signature, gap: float | None) -> str:
    v = model.variant(a, b, gap)
    names = ("full", "title", "full_undated", "title_undated")
    return next(n for n in names if getattr(model, n) is v)


def _evidence_why(a: Signature, b: Signature) -> str:
    """Which clause of ``event_evidence`` a pair passes (for the diagnostic)."""
    full = both_summaries(a, b)
    parts = []
    if shared := a.title_numbers & b.title_numbers:
        parts.append(f"title numbers {sorted(shared)}")
    anchors = (a.anchors & b.anchors) if full else (a.title_anchors & b.title_anchors)
    names = (
        (a.specific_names & b.specific_names)
        if full
        else (a.title_specific_names & b.title_specific_names)
    )
    if len(anchors) >= 2:
        parts.append(f"anchors {sorted(anchors)}")
    if names:
        parts.append(f"names {sorted(names)}")
    if anchors and not a.evidence_actions.isdisjoint(b.evidence_actions):
        parts.append(
            f"anchor {sorted(anchors)} + action {sorted(a.evidence_actions & b.evidence_actions)}"
        )
    if (c := _cosine(a.title_grams, b.title_grams)) >= EVIDENCE_TITLE_SIMILARITY:
        parts.append(f"title cosine {c:.2f}")
    if not parts and event_evidence(a, b):
        parts.append("cross-script names")
    return "; ".join(parts) or "none"


def evaluate(args: argparse.Namespace, out: TextIO) -> None:
    items = load_items(args.data)
    if args.limit:
        items = items[: args.limit]
    matcher = default_matcher()
    places = default_places()
    folds = story_folds(items, args.folds)
    shipped = load_story_model()
    print(
        f"{args.data.name}: {len(items)} items, {len({i.story for i in items})} stories,"
        f" {args.folds}-fold CV grouped by story; gazetteer: {'yes' if places else 'no'}",
        file=out,
    )
    print(HEADER, file=out)
    misses: dict[str, list[tuple[str, int, int]]] = {}
    explained: dict[tuple[str, str], list[str]] = {}
    for text in args.texts:
        sigs = signatures(items, text, matcher, places)
        full = signatures(items, "title+summary", matcher, places) if text == "title" else sigs
        title = sigs if text == "title" else signatures(items, "title", matcher, places)
        fold_models = [
            parse_story_model(
                fit_model(
                    items,
                    full,
                    title,
                    keep=[i for i, f in enumerate(folds) if f != k],
                    undated_threshold=args.undated_threshold,
                )
            )
            for k in range(args.folds)
        ]
        per_item = [fold_models[f] for f in folds]
        for mode in args.modes:
            predicted = cluster(
                items,
                sigs,
                mode,
                per_item,
                args.arrival_dates,
                args.arrival_bound,
                args.link_dates,
            )
            print(row(text, mode, "CV", score_clusters(items, predicted)), file=out)
            if args.wrong:
                explained[(text, mode)] = wrong_merges(
                    items,
                    sigs,
                    predicted,
                    mode,
                    per_item,
                    args.arrival_dates,
                    args.arrival_bound,
                    args.link_dates,
                )
            if mode == "time order":
                misses[text] = cross_language_misses(items, predicted)
            if args.in_sample:
                insample = cluster(
                    items,
                    sigs,
                    mode,
                    [shipped] * len(items),
                    args.arrival_dates,
                    args.arrival_bound,
                    args.link_dates,
                )
                print(row(text, mode, "in-sample", score_clusters(items, insample)), file=out)
    for text in args.texts:
        sigs = signatures(items, text, matcher, places)
        true_pairs = refused = unevidenced = others = others_kept = 0
        for a in range(len(items)):
            for b in range(a + 1, len(items)):
                if items[a].story == items[b].story:
                    true_pairs += 1
                    refused += conflict(sigs[a], sigs[b])
                    unevidenced += not event_evidence(sigs[b], sigs[a])
                elif sigs[b].shares_key(sigs[a]) and not conflict(sigs[a], sigs[b]):
                    others += 1
                    others_kept += event_evidence(sigs[b], sigs[a])
        print(f"guard ({text}): refuses {refused} of {true_pairs} true pairs", file=out)
        print(
            f"event evidence ({text}): lacking for {unevidenced} of {true_pairs} true pairs;"
            f" present for {others_kept} of {others} other pairs sharing an index key",
            file=out,
        )
    for (text, mode), lines in explained.items():
        print(f"\nwrong merges ({text}, {mode}, CV):", file=out)
        print("\n".join(lines) if lines else "  none", file=out)
    for text, rows in misses.items():
        print(f"\ncross-language pairs found ({text}, time order, CV):", file=out)
        print("  " + "  ".join(f"{k}: {f}/{t}" for k, t, f in rows), file=out)


# ----- cost -----------------------------------------------------------------------------------
def synthetic_titles(items: Sequence[LabelledItem], n: int, seed: int) -> list[tuple[str, str]]:
    """Titles and summaries that look like the dev set's: a real item's words with a third
    replaced by words of other items, and a random number half of the time."""
    rng = random.Random(seed)
    words = [w for i in items for w in i.title.split()]
    out = []
    for _ in range(n):
        base = rng.choice(items)
        title = [w if rng.random() > 0.33 else rng.choice(words) for w in base.title.split()]
        if rng.random() < 0.5:
            title.append(str(rng.randint(2, 300)))
        out.append((" ".join(title), base.summary))
    return out


def cost(args: argparse.Namespace, out: TextIO) -> None:
    """Median µs per item (match + add) against N open members; brute force (score every
    member) in the same process as the baseline."""
    items = load_items(args.data)
    matcher = default_matcher()
    places = default_places()
    model = load_story_model()
    actions = default_actions()
    meanings = default_meanings()
    print("\nper-item cost (match + add), medians of 3 rounds:", file=out)
    print(
        f"{'open members':>13}{'ours µs':>10}{'brute force µs':>16}{'ours/brute':>12}{'agree':>8}",
        file=out,
    )
    queries_n = args.queries
    for n in (args.members, args.big):
        texts = synthetic_titles(items, n + queries_n, seed=n)
        sigs = [
            signature(t, s, matcher.match(t, s).entities, places, actions, meanings)
            for t, s in texts
        ]
        start = items[0].at
        # All members open: spread over the last 60 h of a 72 h window.
        span = 60 * 3600.0 / max(1, n)
        index = StoryGroups(model)
        for k, sig in enumerate(sigs[:n]):
            index.add(k, sig, start + timedelta(seconds=k * span))
        now = start + timedelta(hours=61)
        queries = sigs[n:]
        ours: list[float] = []
        for _ in range(3):
            t0 = time.process_time()
            for sig in queries:
                index.match(sig, now)
            ours.append((time.process_time() - t0) / len(queries) * 1e6)
        members = [(sig, k, start + timedelta(seconds=k * span)) for k, sig in enumerate(sigs[:n])]
        brute_n = min(len(queries), max(5, args.brute_queries))
        t0 = time.process_time()
        agree = 0
        for sig in queries[:brute_n]:
            best, best_m = None, 0.0
            for other, sid, at in members:
                m = model.score(sig, other, (now - at).total_seconds() / 3600.0)
                if m > best_m:
                    best, best_m = sid, m
            hit = index.match(sig, now)
            agree += (hit.story_id if hit else None) == best
        brute = (time.process_time() - t0) / brute_n * 1e6
        # add cost, once (adds change the index)
        t0 = time.process_time()
        for q, sig in enumerate(queries):
            index.add(n + q, sig, now)
        add_us = (time.process_time() - t0) / len(queries) * 1e6
        ours_us = statistics.median(ours) + add_us
        print(
            f"{n:>13,}{ours_us:>10.1f}{brute:>16.1f}{ours_us / brute:>12.3f}{agree:>5}/{brute_n}",
            file=out,
        )


def _undated_threshold(value: str) -> float | None:
    """``--undated-threshold``: a probability in (0, 1), or ``fitted`` (None)."""
    if value == "fitted":
        return None
    threshold = float(value)
    if not 0.0 < threshold < 1.0:
        raise argparse.ArgumentTypeError("a probability in (0, 1), or 'fitted'")
    return threshold


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=lambda p: __import__("pathlib").Path(p), default=DEV_SET)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=0, help="first N items only (smoke)")
    parser.add_argument("--texts", nargs="+", default=list(TEXTS), choices=TEXTS)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=ALL_MODES)
    parser.add_argument(
        "--arrival-dates",
        action="store_true",
        help="score undated reports as before the undated variants: their arrival is their date",
    )
    parser.add_argument(
        "--no-arrival-bound",
        dest="arrival_bound",
        action="store_false",
        help="as before the arrival bound: an undated report stays undated even when its feed"
        " was polled shortly before it arrived (bot.core.arrival_bound)",
    )
    parser.add_argument(
        "--no-link-dates",
        dest="link_dates",
        action="store_false",
        help="as before link dates: an undated report stays undated even when its link states"
        " its day (bot.core.link_dates)",
    )
    parser.add_argument(
        "--undated-threshold",
        type=_undated_threshold,
        default=UNDATED_THRESHOLD,
        metavar="P|fitted",
        help=f"the undated variants' threshold in the folds' models (default"
        f" {UNDATED_THRESHOLD}; 'fitted': their F-beta threshold, as before; the curve of"
        f" docs/dedup.md, 'Precision of the undated burst')",
    )
    parser.add_argument("--in-sample", action="store_true", help="also the shipped model")
    parser.add_argument(
        "--wrong", action="store_true", help="list each wrong merge with its pair's features"
    )
    parser.add_argument("--cost", action="store_true")
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--brute-queries", type=int, default=30)
    parser.add_argument("--e2e", action="store_true", help="also the end-to-end replay")
    parser.add_argument("--e2e-limit", type=int, default=0)
    args = parser.parse_args(argv)
    evaluate(args, out)
    if args.cost:
        cost(args, out)
    if args.e2e:
        from bench.stories_e2e import replay_table

        replay_table(args.data, args.e2e_limit or args.limit, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
