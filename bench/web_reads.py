"""Does the web archive slow the bot down? A `poll --once` cycle storing many alerts, alone and
while clients read `main.py web` as fast as they can (search with facets, the full CSV
export, a canned query, a table page), on the same live database.

    python -m bench.web_reads [--feeds 6] [--items 100] [--readers 2] [--repeat 3] [--rate 0]

Prints, per mode, the median cycle time (the cycle's own `duration=`), the ratio against the
cycle alone measured in the same run, the reads answered during the cycle, failed reads, and
the median read latency. The control mode reads another database with the same alerts: the
same CPU load on the machine without sharing the file, so the difference between it and the
same-database mode is what sharing the file costs (locks), apart from CPU contention.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from storage.db import open_database
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.web_process import WebProcess

ROOT = Path(__file__).resolve().parent.parent
READS = (
    "/newswatch/alerts.json?_search=Kidal&_extra=facet_results",
    "/newswatch/alerts.csv?_size=max",
    "/newswatch/entity_per_day.json?entity=&days=",
    "/newswatch/alerts?_size=100",
)


@dataclass
class Run:
    cycle_s: float
    alerts: int
    reads: int = 0
    failed: int = 0
    latency_ms: float = 0.0


def _feeds(server: FeedServer, feeds: int, items: int, now: float) -> list[str]:
    urls = []
    for feed in range(feeds):
        entries = [
            {
                "title": f"Mali: army reports clash {feed * 10_000 + i} near Kidal (wire {feed})",
                "guid": f"clash-{feed}-{i}",
                "link": f"https://wire{feed}.example.org/clash-{i}",
                "description": f"Report {feed}-{i}: fighting {i * 7 % 13} km from Kidal, Mali.",
                "pubDate": rfc822(now - 60 - i),
            }
            for i in range(items)
        ]
        server.set(f"/wire-{feed}.xml", rss(entries, title=f"Wire {feed}"))
        urls.append(server.url(f"/wire-{feed}.xml"))
    return urls


def _env(tmp: Path, urls: list[str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSWATCH_", "TELEGRAM_"))}
    feeds = tmp / "feeds.txt"
    feeds.write_text("\n".join(urls) + "\n", encoding="utf-8")
    env.update(NEWSWATCH_DB=str(tmp / "newswatch.db"), NEWSWATCH_FEEDS=str(feeds))
    return env


def _read_loop(
    web: WebProcess, stop: threading.Event, run: Run, latencies: list[float], rate: float
) -> None:
    """Read until ``stop``: at most ``rate`` requests a second (0: as fast as it answers)."""
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            for path in READS:
                started = time.perf_counter()
                try:
                    ok = client.get(web.url(path)).status_code == 200
                except httpx.HTTPError:
                    ok = False
                took = time.perf_counter() - started
                latencies.append(took)
                run.reads += 1
                run.failed += 0 if ok else 1
                if rate > 0:
                    stop.wait(max(0.0, 1.0 / rate - took))


def _poll(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "poll", "--once"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def one_cycle(
    feeds: int, items: int, readers: int, *, same_db: bool = True, rate: float = 0.0
) -> Run:
    """A fresh database; one `poll --once` while ``readers`` clients read `main.py web`, served
    over that database (``same_db``) or over another one with the same alerts (the control:
    the same CPU load, no shared file)."""
    with tempfile.TemporaryDirectory() as name, FeedServer() as server:
        tmp = Path(name)
        env = _env(tmp, _feeds(server, feeds, items, time.time()))
        open_database(tmp / "newswatch.db").conn.close()
        web_env = env
        if not same_db:
            web_env = dict(env, NEWSWATCH_DB=str(tmp / "other.db"))
            _poll(web_env)
        with WebProcess(web_env) as web:
            stop = threading.Event()
            latencies: list[float] = []
            run = Run(cycle_s=0.0, alerts=0)
            threads = [
                threading.Thread(target=_read_loop, args=(web, stop, run, latencies, rate))
                for _ in range(readers)
            ]
            for thread in threads:
                thread.start()
            while readers and run.reads < readers:  # every reader is under way
                time.sleep(0.01)
            before = run.reads
            poll = _poll(env)
            during = run.reads - before
            stop.set()
            for thread in threads:
                thread.join()
        if poll.returncode != 0:
            raise SystemExit(f"poll --once failed:\n{poll.stderr[-2000:]}")
        found = re.search(r"duration=([\d.]+)s", poll.stderr)
        assert found, poll.stderr
        conn = open_database(tmp / "newswatch.db").conn
        alerts = int(conn.execute("SELECT count(*) FROM alerts").fetchone()[0])
        conn.close()
        run.cycle_s = float(found[1])
        run.alerts = alerts
        run.reads = during
        run.latency_ms = statistics.median(latencies) * 1000 if latencies else 0.0
        return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=6)
    parser.add_argument("--items", type=int, default=100, help="matching items per feed")
    parser.add_argument("--readers", type=int, default=2, help="concurrent web clients")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="requests per second per reader (default 0: as fast as the server answers)",
    )
    args = parser.parse_args(argv)
    modes = {
        "cycle alone": (0, True),
        f"{args.readers} readers, web view on the same database": (args.readers, True),
        f"{args.readers} readers, web view on another database (control)": (args.readers, False),
    }
    results: dict[str, list[Run]] = {mode: [] for mode in modes}
    for _ in range(args.repeat):
        for mode, (readers, same_db) in modes.items():  # interleaved: load drift hits all
            results[mode].append(
                one_cycle(args.feeds, args.items, readers, same_db=same_db, rate=args.rate)
            )
    baseline = statistics.median(r.cycle_s for r in results["cycle alone"])
    pace = f"{args.rate:g} requests/s each" if args.rate else "as fast as answered"
    print(
        f"poll --once storing {args.feeds * args.items} alerts, median of {args.repeat},"
        f" fresh database each run; readers: {pace}"
    )
    print("| mode | cycle s | ratio | alerts stored | reads during the cycle | failed | read ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mode, runs in results.items():
        cycle = statistics.median(r.cycle_s for r in runs)
        print(
            f"| {mode} | {cycle:.2f} | {cycle / baseline:.2f}x"
            f" | {min(r.alerts for r in runs)} | {statistics.median(r.reads for r in runs):.0f}"
            f" | {sum(r.failed for r in runs)}"
            f" | {statistics.median(r.latency_ms for r in runs):.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
