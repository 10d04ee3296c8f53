"""Smoke test: the chart-stall benchmark runs with one chart and prints its table."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # draws charts in a worker process

BENCH = Path(__file__).resolve().parent.parent / "bench" / "chart_lag.py"


def test_bench_prints_a_table() -> None:
    spec = importlib.util.spec_from_file_location("bench_chart_lag", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    assert module.main(["--charts", "1", "--repeats", "1"], out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["way", "charts", "total_s", "max_stall_s", "stall_ratio"]
    assert [line.split()[0] for line in lines[1:]] == ["on", "worker"]
