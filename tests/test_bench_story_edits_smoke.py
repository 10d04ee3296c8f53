"""Smoke test: the story-edit benchmark runs on a few stories, both ways agree, and it prints
its table."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "story_edits.py"


def test_bench_prints_a_table() -> None:
    spec = importlib.util.spec_from_file_location("bench_story_edits", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    assert module.main(["--stories", "400", "--due-every", "20", "--repeats", "1"], out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["way", "stories", "due_msgs", "median_ms", "ratio"]
    assert len(lines) == 3 and all(line.split()[-3] == lines[1].split()[-3] for line in lines[1:])
    assert int(lines[1].split()[-3]) > 0  # some messages are due: the comparison means something
