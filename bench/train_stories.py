"""Fit the story model (logistic regression over pair features) on a labelled JSONL and write
the data file the bot ships (bot/data/story_model.json). Needs the dev extra (scikit-learn).

    python -m bench.train_stories               # the dev set -> bot/data/story_model.json
    python -m bench.train_stories --data my_alerts.jsonl --out my_model.json

The JSONL has one item per line with ``id``, ``title``, ``summary``, ``published``
(YYYY-MM-DD), ``lang``, ``relevant`` and ``story_id`` (null for a story of its own), as in
../shared/eval/sahel-news-dev.jsonl; ``main.py export`` output relabelled by hand will do
(docs/dedup.md, "Retraining"). Its figures come from bench/stories_eval.py, cross-validated.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.story_data import (
    DEV_SET,
    MODEL_FILE,
    default_matcher,
    default_places,
    fit_model,
    load_items,
    signatures,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEV_SET)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    args = parser.parse_args(argv)
    items = load_items(args.data)
    matcher = default_matcher()
    places = default_places()
    full = signatures(items, "title+summary", matcher, places)
    title = signatures(items, "title", matcher, places)
    model = fit_model(
        items,
        full,
        title,
        meta={
            "trained_on": args.data.name,
            "items": len(items),
            "stories": len({i.story for i in items}),
            "gazetteer": places is not None,
            "fitted_at": datetime.now(UTC).date().isoformat(),
            "by": "bench/train_stories.py",
        },
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for name in ("full", "title", "full_undated", "title_undated"):
        v = model[name]
        weights = ", ".join(
            f"{f}={w:+.2f}" for f, w in zip(v["features"], v["weights"], strict=True)
        )
        print(
            f"{name}: {v['pairs']} pairs ({v['positives']} same story), threshold"
            f" {v['threshold']}, intercept {v['intercept']:+.2f}; {weights}"
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
