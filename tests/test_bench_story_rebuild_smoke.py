"""CI smoke run of bench/story_rebuild.py on a few alerts. It asserts the table's shape and
that the read-back signatures are the computed ones, never a speed."""

from __future__ import annotations

import io

from bench import story_rebuild


def test_bench_prints_the_re_index_costs() -> None:
    out = io.StringIO()
    code = story_rebuild.main(["--alerts", "40", "--repeats", "1"], out=out)
    text = out.getvalue()
    assert code == 0, text
    for way in ("before: computed", "computed, collector paused", "read back", "first start"):
        assert f"| {way}" in text, text
    assert "same signatures read back as computed: yes" in text
