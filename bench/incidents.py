"""Benchmark: score the incident tagger on a labelled file (event type, toll, places, severity).

Run from the repository root:

    python -m bench.incidents                       # the shared dev set
    python -m bench.incidents --title-only          # titles only
    python -m bench.incidents --items X.jsonl --labels Y.events.jsonl

Prints, by language (en/fr/ar, other) and overall: event-type accuracy, per-type F1 and
macro-F1, fatality exact match where a figure is labelled and figures invented where none is,
place precision/recall, severity accuracy, and a confusion table. ``--story-places`` also
scores places and severity shared over each labelled story (the labels are made per story;
the bot's story grouping does the same sharing at run time). Only items labelled relevant
are scored: the tagger runs on items that matched the watchlist.

Places are also scored the way the bot shows them (the ``places`` table): each item gets the
places of its story's first alert once that item has arrived (the incident places of the
earlier reports of its story plus its own, merged with bot.core.incidents.merge_story_incident),
with stories formed by the bot's own grouper (bot.core.story_index.StoryGroups, shipped model)
replaying the items in time order; a second column uses the labelled story ids instead.

The HEADLINE table is what a user gets, checked against every target by language, by half and
overall: the tagger's type, sub-event and toll per report, and the places and severity of the
bot-grouped story alert once its reports are in (the edited message; the labels are per story
too), with the same alert on arrival beside it. Rows ``half A``/``half B`` split the stories
by a hash of their labelled id (``story_half``), so no story is in both: round 1 of the place
rules was written from half A's errors only, round 2 from half B's only (docs/incidents.md).
``--story-errors [--final] [--half A]`` lists the story-level place errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any, TextIO

from bot.core.incidents import Incident, IncidentFields, IncidentTagger, merge_story_incident
from bot.core.normalize import normalize
from bot.data.incident_data import load_default_tagger

ROOT = Path(__file__).resolve().parent.parent
DEV_ITEMS = ROOT.parent / "shared" / "eval" / "sahel-news-dev.jsonl"
DEV_LABELS = ROOT.parent / "shared" / "eval" / "sahel-news-dev.events.jsonl"
NONE = "none"
TARGETS = {"macro_f1": 0.80, "fatalities_exact": 0.85, "place_p": 0.90, "place_r": 0.90,
           "severity": 0.85}  # fmt: skip


@dataclass(frozen=True)
class Row:
    id: str
    lang: str
    story: str
    gold_type: str
    pred_type: str
    gold_sub: str | None
    pred_sub: str | None
    gold_fat: int | None
    pred_fat: int | None
    gold_places: frozenset[str]
    pred_places: frozenset[str]
    named_places: frozenset[str]  # the labelled places this item's own text names
    gold_sev: str
    pred_sev: str
    incident: IncidentFields | None = field(default=None, compare=False)  # as the bot stores it
    half: str = "A"  # held-out split by labelled story (see story_half)


def story_half(story: str) -> str:
    """Half "A" or "B" of the stories, fixed by a hash of the labelled story id before any
    place rule was written: round 1 of the rules was written from half A's errors (half B held
    out), round 2 from half B's (half A held out)."""
    return "A" if sha256(story.encode("utf-8")).digest()[0] % 2 == 0 else "B"


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def tag_rows(
    items: Sequence[dict[str, Any]],
    labels: Sequence[dict[str, Any]],
    tagger: IncidentTagger,
    *,
    title_only: bool = False,
    include_irrelevant: bool = False,
) -> list[Row]:
    by_id = {lab["id"]: lab for lab in labels}
    rows = []
    for item in items:
        if not item.get("relevant", True) and not include_irrelevant:
            continue
        lab = by_id.get(item["id"])
        if lab is None:
            continue
        summary = "" if title_only else item.get("summary") or ""
        inc: Incident = tagger.tag(item.get("title") or "", summary)
        text = f"{item.get('title') or ''}\n{summary}"
        named = {normalize(m.place.name) for m in tagger.gazetteer.find(text)}
        gold_places = frozenset(normalize(p) for p in lab.get("places") or [])
        lang = item.get("lang") or "?"
        rows.append(
            Row(
                id=item["id"],
                lang=lang if lang in ("en", "fr", "ar") else "other",
                story=item.get("story_id") or item["id"],
                gold_type=lab.get("event_type") or NONE,
                pred_type=inc.event_type.value if inc.event_type else NONE,
                gold_sub=lab.get("sub_event"),
                pred_sub=inc.sub_event if inc.event_type else None,
                gold_fat=lab.get("fatalities"),
                pred_fat=inc.fatalities,
                gold_places=gold_places,
                pred_places=frozenset(normalize(p.name) for p in inc.places),
                named_places=gold_places & named,
                gold_sev=lab.get("severity") or NONE,
                pred_sev=inc.severity.value if inc.severity else NONE,
                incident=inc.fields() if inc.event_type or inc.places else None,
                half=story_half(item.get("story_id") or item["id"]),
            )
        )
    return rows


def share_by_story(rows: Sequence[Row]) -> list[Row]:
    """Places are the union over the story and severity the highest in it, as labelled."""
    order = {"high": 3, "medium": 2, "low": 1, NONE: 0}
    places: dict[str, set[str]] = defaultdict(set)
    sev: dict[str, str] = {}
    for r in rows:
        if r.pred_type != NONE:
            places[r.story] |= r.pred_places
            if order[r.pred_sev] > order[sev.get(r.story, NONE)]:
                sev[r.story] = r.pred_sev
    out = []
    for r in rows:
        if r.pred_type == NONE:
            out.append(r)
            continue
        out.append(
            Row(
                **{
                    **r.__dict__,
                    "pred_places": frozenset(places[r.story]),
                    "pred_sev": sev.get(r.story, r.pred_sev),
                }
            )
        )
    return out


def bot_stories(path: Path, rows: Sequence[Row]) -> dict[str, str]:
    """Each scored item's story as the bot's grouper forms it: the items arrive in time order
    (bench.story_data) and go through bot.core.story_index.StoryGroups with the shipped model,
    gazetteer and watchlist entities, the 72-hour window of bot.app.config."""
    from bench.story_data import default_matcher, default_places, load_items, signatures
    from bot.core.story_index import StoryGroups
    from bot.cycle.story_grouping import load_story_model

    wanted = {r.id for r in rows}
    labelled = [i for i in load_items(path) if i.id in wanted]
    sigs = signatures(labelled, "title+summary", default_matcher(), default_places())
    index = StoryGroups(load_story_model(), window=timedelta(hours=72))
    out: dict[str, str] = {}
    for n, (item, sig) in enumerate(zip(labelled, sigs, strict=True)):
        index.prune(item.at)
        hit = index.match(sig, item.at)
        story = hit.story_id if hit is not None else n
        index.add(story, sig, item.at)
        out[item.id] = f"bot-{story}"
    return out


def replay_story_incidents(
    rows: Sequence[Row], story_of: dict[str, str], order: Sequence[str], *, final: bool = False
) -> list[Row]:
    """Each item scored with what the bot shows once it arrives: the incident of its story's
    first alert, updated by every report so far with bot.core.incidents.merge_story_incident
    (places of every report, at most 5; the highest severity). ``final``: what that first
    alert shows once every report of the story has arrived (the edited message)."""
    by_id = {r.id: r for r in rows}
    shown: dict[str, IncidentFields | None] = {}
    out: dict[str, Row] = {}
    for item_id in order:
        r = by_id.get(item_id)
        if r is None:
            continue
        story = story_of.get(r.id, r.id)
        if story not in shown:
            shown[story] = r.incident
        else:
            merged = merge_story_incident(shown[story], r.incident)
            if merged is not None:
                shown[story] = merged
        out[r.id] = _shown(r, shown[story])
    if final:
        return [_shown(r, shown[story_of.get(r.id, r.id)]) for r in rows if r.id in out]
    return [out[r.id] for r in rows if r.id in out]


def _shown(r: Row, incident: IncidentFields | None) -> Row:
    now = incident or IncidentFields()
    places = frozenset(normalize(p.name) for p in now.places)
    sev = now.severity_text if now.is_incident else None
    return Row(**{**r.__dict__, "pred_places": places, "pred_sev": sev or r.pred_sev})


def reachable(rows: Sequence[Row], order: Sequence[str]) -> list[Row]:
    """The labelled places a story-level view can know when each item arrives: those named by
    this item or an earlier report of its labelled story (an upper bound for its recall; the
    labels also give places that only later reports name)."""
    by_id = {r.id: r for r in rows}
    named: dict[str, set[str]] = defaultdict(set)
    out: dict[str, Row] = {}
    for item_id in order:
        r = by_id.get(item_id)
        if r is None:
            continue
        named[r.story] |= r.named_places
        out[r.id] = Row(**{**r.__dict__, "pred_places": frozenset(named[r.story])})
    return [out[r.id] for r in rows if r.id in out]


def arrival_order(path: Path) -> list[str]:
    """Item ids in the order the bot would see them (time order, as bench.story_data)."""
    from bench.story_data import load_items

    return [i.id for i in load_items(path)]


def place_table(views: dict[str, Sequence[Row]], out: TextIO) -> dict[str, dict[str, Any]]:
    """Place P/R by language and by held-out half, one column pair per view."""
    out.write("\n== places: " + " | ".join(views) + "\n")
    out.write(f"{'':>10} {'n':>4}" + "".join(f" {'P':>6} {'R':>6} " for _ in views) + "\n")
    groups: dict[str, list[str]] = defaultdict(list)
    first = next(iter(views.values()))
    for r in first:
        groups[r.lang].append(r.id)
        groups["overall"].append(r.id)
        groups[f"half {r.half}"].append(r.id)
    table: dict[str, dict[str, Any]] = {}
    for name in ("en", "fr", "ar", "other", "overall", "half A", "half B"):
        ids = set(groups.get(name, ()))
        if not ids:
            continue
        line = f"{name:>10} {len(ids):>4}"
        table[name] = {}
        for view, rows in views.items():
            s = scores([r for r in rows if r.id in ids])
            table[name][view] = (s["place_p"], s["place_r"])
            line += f" {s['place_p']:>6.3f} {s['place_r']:>6.3f} "
        out.write(line + "\n")
    out.write("(half A / half B: see the headline table and docs/incidents.md; 'story final':"
              " what the story's first alert shows once every report is in; 'bound': the"
              " labelled places named by the item or an earlier report of its labelled story,"
              " the most a story view can know when the item arrives)\n")  # fmt: skip
    return table


HALF_NOTE = {
    "half A": "held out from round 2 (its rules were written from half B's errors)",
    "half B": "held out from round 1 (its rules were written from half A's errors)",
}


def headline(
    rows: Sequence[Row], final: Sequence[Row], arrival: Sequence[Row], out: TextIO
) -> dict[str, dict[str, Any]]:
    """The figures a user gets, by language, by half and overall, checked against the targets:
    event type, toll and sub-event of each report as the bot tags it; places and severity of
    the story's alert (the bot's own grouping) once every report is in, and on arrival."""
    out.write(
        "\n== HEADLINE: what a user gets (the bot's pipeline: its tagger, its story grouping, "
        "the story alert's places and severity once its reports are in)\n"
    )
    out.write(
        f"{'':>8} {'n':>4} {'macroF1':>8} {'fat ex':>7} {'invent':>7} {'place P':>8} "
        f"{'place R':>8} {'sev':>6} | {'arrival P':>9} {'R':>6} | targets\n"
    )
    by_id_final = {r.id: r for r in final}
    by_id_arrival = {r.id: r for r in arrival}
    groups: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        groups[r.lang].append(r.id)
        groups["overall"].append(r.id)
        groups[f"half {r.half}"].append(r.id)
    table: dict[str, dict[str, Any]] = {}
    for name in ("en", "fr", "ar", "other", "overall", "half A", "half B"):
        ids = groups.get(name)
        if not ids:
            continue
        wanted = set(ids)
        item = scores([r for r in rows if r.id in wanted])
        fin = scores([by_id_final[i] for i in ids if i in by_id_final])
        arr = scores([by_id_arrival[i] for i in ids if i in by_id_arrival])
        figures = {
            "n": len(ids),
            "macro_f1": item["macro_f1"],
            "fatalities_exact": item["fatalities_exact"],
            "fat_invented": item["fat_invented"],
            "place_p": fin["place_p"],
            "place_r": fin["place_r"],
            "severity": fin["severity"],
            "arrival_place_p": arr["place_p"],
            "arrival_place_r": arr["place_r"],
        }
        missed = [k for k, v in TARGETS.items() if figures[k] < v]
        if figures["fat_invented"]:
            missed.append("toll invented")
        figures["targets_met"] = not missed
        table[name] = figures
        out.write(
            f"{name:>8} {len(ids):>4} {figures['macro_f1']:>8.3f} "
            f"{figures['fatalities_exact']:>7.3f} "
            f"{item['fat_invented']:>3}/{item['fat_unstated']:<3} "
            f"{figures['place_p']:>8.3f} {figures['place_r']:>8.3f} {figures['severity']:>6.3f} | "
            f"{figures['arrival_place_p']:>9.3f} {figures['arrival_place_r']:>6.3f} | "
            + ("met" if not missed else "NOT met: " + ", ".join(missed))
            + (f"  ({HALF_NOTE[name]})" if name in HALF_NOTE else "")
            + "\n"
        )
    out.write(
        "(halves: the labelled stories split by a hash of their id, story_half; targets: "
        "macro-F1 >= 0.80, tolls exact >= 0.85 and none invented, place P and R >= 0.90, "
        "severity >= 0.85; 'arrival': what the alert shows when that report arrives, whose "
        "recall is bounded by the 'bound' column below)\n"
    )
    return table


def f1(tp: int, fp: int, fn: int) -> float:
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def scores(rows: Sequence[Row]) -> dict[str, Any]:
    types = sorted({r.gold_type for r in rows} | {r.pred_type for r in rows})
    per_type = {}
    for t in types:
        tp = sum(r.gold_type == t and r.pred_type == t for r in rows)
        fp = sum(r.gold_type != t and r.pred_type == t for r in rows)
        fn = sum(r.gold_type == t and r.pred_type != t for r in rows)
        per_type[t] = (f1(tp, fp, fn), tp + fn)
    gold_types = [t for t in types if per_type[t][1] > 0]
    macro = sum(per_type[t][0] for t in gold_types) / len(gold_types) if gold_types else 0.0
    incident_types = [t for t in gold_types if t != NONE]
    macro_inc = (
        sum(per_type[t][0] for t in incident_types) / len(incident_types) if incident_types else 0.0
    )
    stated = [r for r in rows if r.gold_fat is not None]
    unstated = [r for r in rows if r.gold_fat is None]
    tp_p = sum(len(r.gold_places & r.pred_places) for r in rows)
    n_pred = sum(len(r.pred_places) for r in rows)
    n_gold = sum(len(r.gold_places) for r in rows)
    typed = [r for r in rows if r.gold_type != NONE]
    n_named = sum(len(r.named_places) for r in rows)
    tp_named = sum(len(r.named_places & r.pred_places) for r in rows)
    return {
        "n": len(rows),
        "type_acc": sum(r.gold_type == r.pred_type for r in rows) / len(rows) if rows else 0.0,
        "macro_f1": macro,
        "macro_f1_incident_types": macro_inc,
        "per_type": per_type,
        "sub_acc": (sum(r.gold_sub == r.pred_sub for r in typed) / len(typed) if typed else 0.0),
        "fat_stated": len(stated),
        "fatalities_exact": (
            sum(r.gold_fat == r.pred_fat for r in stated) / len(stated) if stated else 1.0
        ),
        "fat_invented": sum(r.pred_fat is not None for r in unstated),
        "fat_unstated": len(unstated),
        "place_p": tp_p / n_pred if n_pred else 1.0,
        "place_r": tp_p / n_gold if n_gold else 1.0,
        "place_counts": (tp_p, n_pred, n_gold),
        "place_r_named": tp_named / n_named if n_named else 1.0,
        "severity": sum(r.gold_sev == r.pred_sev for r in rows) / len(rows) if rows else 0.0,
    }


def confusion(rows: Sequence[Row], out: TextIO) -> None:
    labels = sorted({r.gold_type for r in rows} | {r.pred_type for r in rows})
    short = {t: t[:12] for t in labels}
    counts = Counter((r.gold_type, r.pred_type) for r in rows)
    out.write("\nconfusion (rows: labelled, columns: tagged)\n")
    out.write(f"{'':>28}" + "".join(f"{short[t]:>14}" for t in labels) + "\n")
    for g in labels:
        out.write(f"{g:>28}" + "".join(f"{counts[(g, p)]:>14}" for p in labels) + "\n")


def report(rows: Sequence[Row], out: TextIO, title: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        groups[r.lang].append(r)
    groups["overall"] = list(rows)
    table = {name: scores(groups[name]) for name in ("en", "fr", "ar", "other", "overall")
             if groups.get(name)}  # fmt: skip
    out.write(f"\n== {title}\n")
    out.write(
        f"{'':>8} {'n':>4} {'type acc':>8} {'macroF1':>8} {'mF1 inc':>8} {'sub acc':>8} "
        f"{'fat ex':>8} {'invented':>9} {'place P':>8} {'place R':>8} {'R named':>8} "
        f"{'sev acc':>8}\n"
    )
    for name, s in table.items():
        out.write(
            f"{name:>8} {s['n']:>4} {s['type_acc']:>8.3f} {s['macro_f1']:>8.3f} "
            f"{s['macro_f1_incident_types']:>8.3f} {s['sub_acc']:>8.3f} "
            f"{s['fatalities_exact']:>8.3f} {s['fat_invented']:>4}/{s['fat_unstated']:<4} "
            f"{s['place_p']:>8.3f} {s['place_r']:>8.3f} {s['place_r_named']:>8.3f} "
            f"{s['severity']:>8.3f}\n"
        )
    overall = table["overall"]
    out.write("\nper-type F1 (overall; support in brackets)\n")
    for t, (score, support) in overall["per_type"].items():
        out.write(f"  {t:<28} {score:.3f} ({support})\n")
    tp, n_pred, n_gold = overall["place_counts"]
    out.write(f"places: {tp} right of {n_pred} given, {n_gold} labelled ")
    out.write("('R named': recall of the labelled places the item's own text names); ")
    out.write(f"fatalities: {overall['fat_stated']} items with a labelled toll\n")
    met = {k: overall[k] >= v for k, v in TARGETS.items()}
    out.write("targets (overall): " + ", ".join(f"{k} {'met' if v else 'NOT met'}"
                                                 for k, v in met.items()) + "\n")  # fmt: skip
    confusion(rows, out)
    return table


def errors(rows: Iterable[Row], out: TextIO) -> None:
    out.write("\nerrors\n")
    for r in rows:
        bad = []
        if r.gold_type != r.pred_type:
            bad.append(f"type {r.gold_type}->{r.pred_type}")
        if r.gold_fat != r.pred_fat:
            bad.append(f"fat {r.gold_fat}->{r.pred_fat}")
        if r.gold_places != r.pred_places:
            bad.append(f"places {sorted(r.gold_places)}->{sorted(r.pred_places)}")
        if r.gold_sev != r.pred_sev:
            bad.append(f"sev {r.gold_sev}->{r.pred_sev}")
        if bad:
            out.write(f"  {r.id} {r.lang}: " + "; ".join(bad) + "\n")


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=Path, default=DEV_ITEMS)
    parser.add_argument("--labels", type=Path, default=DEV_LABELS)
    parser.add_argument("--title-only", action="store_true")
    parser.add_argument("--story-places", action="store_true")
    parser.add_argument("--errors", action="store_true")
    parser.add_argument(
        "--half", choices=("A", "B"), help="--errors only for this half of the stories"
    )
    parser.add_argument(
        "--story-errors",
        action="store_true",
        help="place errors of the story-level view (the bot's grouping), on arrival",
    )
    parser.add_argument(
        "--final", action="store_true", help="--story-errors of the headline view (story final)"
    )
    parser.add_argument(
        "--confounders",
        action="store_true",
        help="also report incidents tagged on items labelled not relevant (look-alikes)",
    )
    args = parser.parse_args(argv)
    tagger = load_default_tagger()
    items, labels = load_jsonl(args.items), load_jsonl(args.labels)
    rows = tag_rows(items, labels, tagger, title_only=args.title_only)
    what = "titles only" if args.title_only else "title + summary"
    result: dict[str, Any] = {"item": report(rows, out, f"{what}, per item")}
    if args.story_places:
        result["story"] = report(share_by_story(rows), out, f"{what}, shared per labelled story")
    order = arrival_order(args.items)
    grouping = bot_stories(args.items, rows)
    bot_view = replay_story_incidents(rows, grouping, order)
    label_view = replay_story_incidents(rows, {r.id: r.story for r in rows}, order)
    bot_final = replay_story_incidents(rows, grouping, order, final=True)
    result["places"] = place_table(
        {
            "item text": rows,
            "story (bot grouping)": bot_view,
            "story (labelled ids)": label_view,
            "story final (bot)": bot_final,
            "bound": reachable(rows, order),
        },
        out,
    )
    result["headline"] = headline(rows, bot_final, bot_view, out)
    if args.confounders:
        every = tag_rows(items, labels, tagger, title_only=args.title_only, include_irrelevant=True)
        relevant = {r.id for r in rows}
        others = [r for r in every if r.id not in relevant]
        tagged = [r for r in others if r.pred_type != NONE]
        out.write(
            f"\nconfounders (labelled not relevant): {len(tagged)} of {len(others)} tagged as an"
            " incident: " + ", ".join(f"{r.id} {r.pred_type}" for r in tagged) + "\n"
        )
        result["confounders"] = {"n": len(others), "tagged": len(tagged)}
    if args.errors:
        errors([r for r in rows if args.half in (None, r.half)], out)
    if args.story_errors:
        view = bot_final if args.final else bot_view
        when = "final" if args.final else "on arrival"
        out.write(f"\nstory-level place errors (bot grouping, {when})\n")
        for r in view:
            if args.half in (None, r.half) and r.gold_places != r.pred_places:
                out.write(f"  {r.id} {r.lang} {r.story}: missing "
                          f"{sorted(r.gold_places - r.pred_places)} extra "
                          f"{sorted(r.pred_places - r.gold_places)}\n")  # fmt: skip
    return result


if __name__ == "__main__":
    main()
