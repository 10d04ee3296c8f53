"""Smoke test: bench/parse.py runs at tiny sizes and prints its tables (no speed claims)."""

from __future__ import annotations

import io

import pytest

from bench import parse as bench_parse
from tests.conftest import corpus_files

pytestmark = pytest.mark.slow  # main.py poll --once over the hostile feeds


def test_bench_prints_its_tables() -> None:
    out = io.StringIO()
    assert bench_parse.main(["--quick"], out) == 0
    text = out.getvalue()
    if corpus_files():
        assert "corpus: the fast path takes" in text
        assert "median" in text and "total" in text
    rows = [line.split() for line in text.splitlines() if line.startswith(("<script>", "words"))]
    assert len(rows) == 4 and all(len(r) >= 5 for r in rows)


def test_old_and_new_html_to_text_agree_on_ordinary_html() -> None:
    """The baseline does the same job on ordinary summaries: the comparison is fair."""
    from bot.core.text import html_to_text

    for raw in ["<p>Attack in <b>Kidal</b></p>", "a&amp;b <br/>c", "<div>x</div><li>y</li>"]:
        assert bench_parse.old_html_to_text(raw) == html_to_text(raw)
