"""Smoke test: bench/slow_feed.py runs at its smallest size and prints its table (no timing
assertions: the figures are the bench's, see README "Delivery")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # main.py run beside a slow-drip feed, in real time

ROOT = Path(__file__).resolve().parent.parent


def test_slow_feed_bench_prints_its_table() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.slow_feed", "--repeat", "1", "--deadline", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    ).stdout
    assert "| healthy feed alone |" in out and "| healthy + slow-drip |" in out
    assert "ratio fetch -> alert" in out and "target:" in out
