"""Smoke test: bench/web_reads.py runs at a tiny size and prints its table (no speed assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # main.py poll --once with web readers

pytest.importorskip("datasette", reason="the web view needs the `web` extra")
ROOT = Path(__file__).resolve().parent.parent


def test_web_reads_bench_prints_its_table() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.web_reads", "--feeds", "1", "--items", "5", "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    assert "| cycle alone |" in out
    assert "readers, web view on the same database |" in out
    assert "(control) |" in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "x |" in line]
    assert len(rows) == 3
    failed = [int(row.split("|")[6]) for row in rows]
    assert failed == [0, 0, 0], out
