"""Smoke test: bench/dedup.py runs at a tiny size and prints its table (no speed assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # bench/dedup.py in a subprocess

BENCH = Path(__file__).resolve().parent.parent / "bench" / "dedup.py"


def test_dedup_bench_prints_its_table() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--sizes",
            "300",
            "--queries",
            "20",
            "--repeat",
            "1",
            "--baseline-n",
            "300",
            "--check",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "find+add" in out and "vs index" in out and "exact" in out
    for row in ("token-Jaccard StoryIndex", "datasketch MinHashLSH", "brute force"):
        assert row in out
