"""Smoke test: the cycle benchmark runs end to end at a tiny size and prints its table.

It runs newswatch's real `poll --once` three times (cold, warm, changed) against the bench's
own feed server, peers skipped. It asserts the table's shape and the cycles' outcomes, never
a speed.
"""

from __future__ import annotations

import io
import re

import pytest

from bench import cycle

pytestmark = pytest.mark.slow  # a feed server process and main.py poll --once


def test_bench_prints_its_table_for_a_tiny_run() -> None:
    out = io.StringIO()
    code = cycle.main(["--feeds", "20", "--items", "5", "--quick", "--no-peers"], out)
    text = out.getvalue()
    assert code == 0, text
    assert "| Tool | Cycle | Wall s | CPU s |" in text
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| newswatch \(poll --once\) \| (\w+) \|(.*)$", text, re.M)
    }
    assert set(rows) == {"cold", "warm", "changed"}, text
    assert "200x20" in rows["cold"], "the cold cycle fetches every feed"
    assert "304x20" in rows["warm"], "the warm cycle is all 304s"
    assert "200x2 304x18" in rows["changed"], "10% of the feeds changed"
    assert "Targets:" in text


def test_bench_serves_through_nginx_for_a_tiny_run() -> None:
    """--server nginx: the same cycles against a real nginx serving static files (its own
    ETag/Last-Modified/304), started unprivileged by the bench and stopped afterwards."""
    from bench.nginx_feeds import nginx_missing

    reason = nginx_missing()
    if reason:
        pytest.skip(reason)
    out = io.StringIO()
    code = cycle.main(
        ["--feeds", "20", "--items", "5", "--quick", "--no-peers", "--server", "nginx"], out
    )
    text = out.getvalue()
    assert code == 0, text
    assert "## Server: nginx/" in text
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| newswatch \(poll --once\) \| (\w+) \|(.*)$", text, re.M)
    }
    assert "200x20" in rows["cold"], text
    assert "304x20" in rows["warm"], "nginx's own validators give 304s"
    assert "200x2 304x18" in rows["changed"], "a bumped file gets new validators"
