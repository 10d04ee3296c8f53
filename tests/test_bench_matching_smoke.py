"""Smoke test: the matching benchmark runs at tiny sizes and prints its table (no speed claims)."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "matching.py"


def test_bench_prints_a_table() -> None:
    spec = importlib.util.spec_from_file_location("bench_matching", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    code = module.main(
        ["--sizes", "3,7", "--repeats", "1", "--texts", "50", "--budget", "0.01"], out
    )
    lines = out.getvalue().splitlines()
    assert code == 0
    assert lines[0].split() == [
        "entities",
        "aliases",
        "compile",
        "s",
        "matcher",
        "texts/s",
        "regex",
        "texts/s",
        "ratio",
    ]
    rows = [line.split() for line in lines[1:]]
    assert [(r[0], r[1]) for r in rows] == [("3", "9"), ("7", "21")]
    assert all(r[-1].endswith("x") for r in rows)


def test_bench_matcher_finds_the_inserted_aliases() -> None:
    spec = importlib.util.spec_from_file_location("bench_matching", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import random

    from bot.core.matching import Matcher

    rng = random.Random(3)
    entities = module.make_entities(50, rng)
    texts = module.make_texts(2000, entities, rng)
    matcher = Matcher.compile(entities)
    regex = module.naive_regex(entities)
    # both methods agree on which texts mention a watched alias: the comparison is fair
    assert [bool(matcher.match(t, "")) for t in texts] == [bool(regex(t)) for t in texts]
    assert 0 < sum(bool(regex(t)) for t in texts) < len(texts)
