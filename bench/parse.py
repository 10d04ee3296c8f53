"""Benchmark: the parser on real feeds (fast path vs feedparser), on crafted HTML, on hostile feeds.

Run from the repository root:
    python -m bench.parse                  # all three tables
    python -m bench.parse --quick          # a few corpus files, small sizes, no poll run
    python -m bench.parse --no-hostile     # skip the `poll --once` run

1. Corpus (../shared/feeds): how many documents the fast path takes (against the share it
   took before issue 12, ``BASELINE_TAKEN``), and per taken document the median time of
   ``parse_feed`` through the fast path against ``parse_feed`` through feedparser (the
   baseline, same process, same bytes), with the ratio.
2. HTML to text: ``html_to_text`` on crafted summaries of growing size (µs per KB must stay
   flat: linear time), against the regex stripper it replaced (the baseline, quadratic),
   which is only run at sizes where it ends in reasonable time.
3. Hostile feeds (``bench/hostile_feeds.py``): one `main.py poll --once` over all of them,
   served on 127.0.0.1; wall time and peak RSS/PSS of the process tree, sampled every 20 ms.
"""

from __future__ import annotations

import argparse
import html
import io
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TextIO
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import bot.feeds.parser as parser_module  # noqa: E402
from bot.core.text import html_to_text  # noqa: E402
from bot.feeds.fast_feed import fast_parse  # noqa: E402
from bot.feeds.feed_guard import strip_declarations  # noqa: E402

SHARED_FEEDS = ROOT.parent / "shared" / "feeds"
SKIP = {"MANIFEST.json", "SOURCES.md", "LICENSE", "LICENSE-MIT"}
# Documents of ../shared/feeds the fast path took at a7fc5a6, before issue 12 (24 of 120).
BASELINE_TAKEN = 24
PATTERNS = {
    "<script>*N": "<script>",
    "'>'+'<a'*N": "<a",
    "<div>*N": "<div>",
    "<b></p>*N": "<b></p>",
    "&amp;*N": "&amp;",
    "words": "Bamako talks <b>resume</b> today. ",
}

# The regex stripper html_to_text replaced (bot/core/text.py at a7fc5a6): the baseline.
_OLD_TAG = re.compile(r"<(?:[A-Za-z!?]|/[A-Za-z])[^>]*>")
_OLD_BLOCK = re.compile(r"<\s*/?\s*(?:p|br|div|li|ul|ol|h[1-6]|tr|blockquote)\b[^>]*>", re.I)
_OLD_SCRIPT = re.compile(r"<\s*(script|style)\b[^>]*>.*?<\s*/\s*\1\s*>", re.I | re.S)


def old_html_to_text(value: str) -> str:
    text = _OLD_SCRIPT.sub(" ", value)
    text = _OLD_BLOCK.sub(" ", text)
    if "<" in text and ">" in text:
        text = _OLD_TAG.sub("", text)
    return " ".join(html.unescape(text).split())


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def corpus_files(limit: int | None = None) -> list[Path]:
    if not SHARED_FEEDS.is_dir():
        return []
    files = sorted(p for p in SHARED_FEEDS.rglob("*") if p.is_file() and p.name not in SKIP)
    return files[:limit] if limit else files


def corpus_table(files: list[Path], repeats: int, out: TextIO) -> dict[str, float]:
    """Table 1; returns the figures (taken, documents, median ratio)."""
    url = "https://example.org/feed"
    taken_rows: list[tuple[str, float, float]] = []
    for path in files:
        body = path.read_bytes()
        if fast_parse(strip_declarations(body)) is None:
            continue
        fast = _median_time(partial(parser_module.parse_feed, body, url), repeats)
        with mock.patch.object(parser_module, "fast_parse", lambda b, c: None):
            slow = _median_time(partial(parser_module.parse_feed, body, url), repeats)
        taken_rows.append((path.name, fast, slow))
    print(
        f"corpus: the fast path takes {len(taken_rows)} of {len(files)} documents"
        f" (before issue 12: {BASELINE_TAKEN} of 120)",
        file=out,
    )
    print(f"{'document':<20} {'fast ms':>9} {'feedparser ms':>14} {'ratio':>7}", file=out)
    for name, fast, slow in taken_rows:
        print(f"{name:<20} {fast * 1e3:>9.2f} {slow * 1e3:>14.2f} {slow / fast:>6.1f}x", file=out)
    ratios = [slow / fast for _, fast, slow in taken_rows]
    median_ratio = statistics.median(ratios) if ratios else 0.0
    if taken_rows:
        fast_ms = statistics.median(r[1] for r in taken_rows) * 1e3
        slow_ms = statistics.median(r[2] for r in taken_rows) * 1e3
        print(
            f"{'median':<20} {fast_ms:>9.2f} {slow_ms:>14.2f} {median_ratio:>6.1f}x"
            "  (target: >= 3x)",
            file=out,
        )
        total_fast = sum(r[1] for r in taken_rows) * 1e3
        total_slow = sum(r[2] for r in taken_rows) * 1e3
        below = sum(r < 3 for r in ratios)
        print(
            f"{'total':<20} {total_fast:>9.2f} {total_slow:>14.2f}"
            f" {total_slow / total_fast:>6.1f}x  ({below} documents below 3x)",
            file=out,
        )
    return {"taken": len(taken_rows), "documents": len(files), "median_ratio": median_ratio}


def html_table(sizes_kb: Sequence[int], old_limit_kb: int, repeats: int, out: TextIO) -> None:
    """Table 2: time per KB of crafted summaries, ours against the old regex stripper."""
    print("", file=out)
    print(
        f"{'summary':<12} {'KB':>7} {'html_to_text ms':>16} {'us/KB':>7}"
        f" {'old regex ms':>13} {'ratio':>8}",
        file=out,
    )
    for label, piece in PATTERNS.items():
        for size in sizes_kb:
            value = piece * (size * 1024 // len(piece))
            if label.startswith("'>'"):
                value = ">" + value
            new = _median_time(partial(html_to_text, value), repeats)
            if size <= old_limit_kb:
                old = _median_time(partial(old_html_to_text, value), 1)
                old_text, ratio = f"{old * 1e3:>13.1f}", f"{old / new:>7.1f}x"
            else:
                old_text, ratio = f"{'(skipped)':>13}", f"{'':>8}"
            print(
                f"{label:<12} {size:>7} {new * 1e3:>16.2f} {new * 1e6 / size:>7.2f}"
                f" {old_text} {ratio}",
                file=out,
            )


def hostile_run(out: TextIO) -> dict[str, float]:
    """Table 3: one `poll --once` over every hostile feed; wall time and peak memory."""
    from bench.hostile_feeds import hostile_feeds
    from bench.memory import PeakSampler
    from tests.fakes.feed_server import FeedServer

    feeds = hostile_feeds()
    with FeedServer() as server, tempfile.TemporaryDirectory() as tmp:
        for feed in feeds:
            server.set(feed.path, feed.body, content_type=feed.content_type)
        listed = Path(tmp) / "feeds.txt"
        listed.write_text("\n".join(server.url(f.path) for f in feeds) + "\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSWATCH_", "TELEGRAM_"))}
        env.update(NEWSWATCH_DB=str(Path(tmp) / "nw.db"), NEWSWATCH_FEEDS=str(listed))
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "poll", "--once"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        with PeakSampler(proc.pid) as peak:
            stdout, stderr = proc.communicate(timeout=600)
            wall = time.perf_counter() - started
    alerts = stdout.decode(errors="replace").count("matched:")
    traceback = b"Traceback" in stdout + stderr
    print("", file=out)
    print(
        f"hostile feeds: {len(feeds)} feeds ({sum(len(f.body) for f in feeds) / 2**20:.1f} MB),"
        f" one `poll --once`: exit {proc.returncode}, traceback: {'yes' if traceback else 'no'},"
        f" {alerts} alerts, wall {wall:.2f} s (target < 60 s),"
        f" peak RSS {peak.rss / 2**20:.0f} MB (target < 300 MB),"
        f" peak PSS {peak.pss / 2**20:.0f} MB",
        file=out,
    )
    return {"wall": wall, "rss_mb": peak.rss / 2**20, "exit": proc.returncode, "alerts": alerts}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few documents, small sizes")
    parser.add_argument("--no-hostile", action="store_true", help="skip the poll --once run")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    out = out or sys.stdout
    files = corpus_files(12 if args.quick else None)
    repeats = 1 if args.quick else args.repeats
    if files:
        corpus_table(files, repeats, out)
    else:
        print("corpus: ../shared/feeds is absent, skipped", file=out)
    sizes = [16, 64] if args.quick else [64, 256, 1024, 4096, 10240]
    html_table(sizes, 64 if args.quick else 256, repeats, out)
    if not (args.quick or args.no_hostile):
        result = hostile_run(out)
        return 0 if result["exit"] == 0 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(out=io.TextIOWrapper(sys.stdout.buffer, line_buffering=True)))
