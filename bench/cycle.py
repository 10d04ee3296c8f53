"""Benchmark: newswatch's full poll cycle against newsboat, rss2email and feed2exec, same run.

Run from the repository root:
    python -m bench.cycle --setup                 # install the peers once (apt-get, pip venv)
    python -m bench.cycle                         # 1,000 feeds x 50 items, 3 repeats
    python -m bench.cycle --quick --no-peers      # one repeat, newswatch only
    python -m bench.cycle --feeds 10000 --no-peers --repeats 1   # scale
    python -m bench.cycle --latency --feeds 200   # alert latency through `main.py run`

Feeds come from ``bench/feedgen.py`` in its own process (ETag/Last-Modified/304, keep-alive).
For each repeat and each tool, on a fresh state directory: a cold cycle (empty state), a
warm cycle (every feed answers 304), then ``--changed`` of the feeds get new items and a
third cycle runs. Each cycle is one process: wall time, CPU time (user+sys of the process
and its children, from ``os.wait4``), peak RSS of the process tree (the sum over the tree,
sampled every 20 ms; PSS too, which counts the pages forked workers share once) and the
server's answer counts. Medians over the repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

from bench.memory import PeakSampler
from bench.nginx_feeds import NginxFeedServer, nginx_missing, nginx_version
from bench.peers import PEERS, ROOT, Newswatch, Tool, setup

SCENARIOS = ("cold", "warm", "changed")
CYCLE_LINE = re.compile(r"cycle: feeds=.*")


@dataclass
class Sample:
    wall: float
    cpu: float
    peak_rss_mb: float  # sum over the process tree, sampled
    peak_pss_mb: float  # the same for PSS (shared pages split between their processes)
    maxrss_mb: float  # largest single process (wait4 ru_maxrss)
    returncode: int
    answers: dict[str, int] = field(default_factory=dict)
    summary: str = ""  # newswatch's "cycle: ..." line


class FeedServerProcess:
    """``bench.feedgen`` in a child process; ``control`` talks to its /_control/ endpoints."""

    def __init__(self, feeds: int, items: int, seed: int):
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.feedgen",
                "--feeds",
                str(feeds),
                "--items",
                str(items),
                "--seed",
                str(seed),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"feed server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.feeds = feeds

    def url(self, feed: int) -> str:
        return f"http://127.0.0.1:{self.port}/feeds/{feed}.xml"

    def control(self, path: str) -> dict[str, object]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_control/{path}") as resp:
            return dict(json.loads(resp.read()))

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def measure(tool: Tool, state: Path, timeout: float) -> Sample:
    """Run one cycle of ``tool`` on ``state`` and measure it."""
    cmd = tool.command(state)
    out = open(state / f"{tool.name}.out", "ab")  # noqa: SIM115 - closed below
    err_path = state / f"{tool.name}.err"
    err = open(err_path, "wb")  # noqa: SIM115 - closed below
    started = time.perf_counter()
    proc = subprocess.Popen(cmd.argv, env=cmd.env, cwd=cmd.cwd, stdout=out, stderr=err)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    with PeakSampler(proc.pid) as peak:
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.close()
    err.close()
    stderr = err_path.read_text(errors="replace")
    found = CYCLE_LINE.findall(stderr)
    if proc.returncode != 0:
        print(f"  ! {tool.name} exited {proc.returncode}: {stderr[-500:]}", file=sys.stderr)
    return Sample(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=peak.rss / 2**20,
        peak_pss_mb=peak.pss / 2**20,
        maxrss_mb=usage.ru_maxrss / 1024,
        returncode=proc.returncode,
        summary=found[-1] if found else "",
    )


def changed_ids(feeds: int, fraction: float, repeat: int) -> list[int]:
    count = max(1, round(feeds * fraction))
    return sorted(random.Random(1000 + repeat).sample(range(feeds), count))


class FeedServer(Protocol):
    """What the cycles need of a feed server: ``FeedServerProcess`` or ``NginxFeedServer``."""

    feeds: int

    def url(self, feed: int) -> str: ...

    def control(self, path: str) -> dict[str, object]: ...

    def close(self) -> None: ...


SERVERS = ("nginx", "own")


def server_label(name: str) -> str:
    if name == "nginx":
        return f"{nginx_version()}, static files (ETag/Last-Modified, keep-alive, 1 worker)"
    return "bench.feedgen's own asyncio server (ETag/Last-Modified, keep-alive)"


def start_server(name: str, args: argparse.Namespace) -> FeedServer:
    if name == "nginx":
        return NginxFeedServer(args.feeds, args.items, args.seed)
    return FeedServerProcess(args.feeds, args.items, args.seed)


def run_tools(
    tools: Sequence[Tool], server: FeedServer, args: argparse.Namespace, workdir: Path
) -> dict[tuple[str, str], list[Sample]]:
    """Every repeat runs every tool through cold, warm, changed (tools interleaved)."""
    urls = [server.url(i) for i in range(server.feeds)]
    results: dict[tuple[str, str], list[Sample]] = {}
    for repeat in range(args.repeats):
        for tool in tools:
            server.control("reset")
            server.control("prebuild")
            state = workdir / f"{tool.name}-{args.server_name}-{repeat}"
            shutil.rmtree(state, ignore_errors=True)
            tool.prepare(state, urls)
            for scenario in SCENARIOS:
                if scenario == "warm":
                    for _ in range(tool.priming_runs):
                        measure(tool, state, args.timeout)
                if scenario == "changed":
                    ids = changed_ids(server.feeds, args.changed, repeat)
                    for start in range(0, len(ids), 500):
                        chunk = ids[start : start + 500]
                        server.control("bump?ids=" + ",".join(map(str, chunk)))
                server.control("stats?clear=1")
                sample = measure(tool, state, args.timeout)
                sample.answers = {k: int(v) for k, v in server.control("stats").items()}  # type: ignore[call-overload]
                results.setdefault((tool.name, scenario), []).append(sample)
                print(
                    f"  [{args.server_name} {repeat + 1}/{args.repeats}] {tool.name:<10}"
                    f" {scenario:<8}"
                    f" wall {sample.wall:7.2f}s cpu {sample.cpu:7.2f}s"
                    f" rss {sample.peak_rss_mb:6.1f}MB pss {sample.peak_pss_mb:6.1f}MB"
                    f" {_answers(sample.answers)}"
                    f" {sample.summary}",
                    file=sys.stderr,
                    flush=True,
                )
            if not args.keep:
                shutil.rmtree(state, ignore_errors=True)
    return results


def _answers(answers: dict[str, int]) -> str:
    return " ".join(f"{k}x{v}" for k, v in sorted(answers.items())) or "-"


def _median(samples: list[Sample], attr: str) -> float:
    return float(statistics.median(getattr(s, attr) for s in samples))


def print_table(
    tools: Sequence[Tool],
    skipped: dict[str, str],
    results: dict[tuple[str, str], list[Sample]],
    args: argparse.Namespace,
    out: TextIO,
) -> None:
    nw = "newswatch"
    print(f"\n## Server: {server_label(args.server_name)}", file=out)
    print(
        f"\n{args.feeds:,} feeds x {args.items} items, {args.repeats} repeat(s), medians;"
        f" changed = {args.changed:.0%} of the feeds with {5} new items;"
        f" {os.cpu_count()} CPUs\n",
        file=out,
    )
    print(
        "| Tool | Cycle | Wall s | CPU s | Peak RSS MB | Peak PSS MB | Server answers"
        " | newswatch / tool (wall) |",
        file=out,
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |", file=out)
    for tool in tools:
        for scenario in SCENARIOS:
            samples = results.get((tool.name, scenario))
            if not samples:
                continue
            wall = _median(samples, "wall")
            ours = results.get((nw, scenario))
            ratio = ""
            if ours and tool.name != nw:
                ratio = f"{_median(ours, 'wall') / wall:.2f}"
            failed = sum(1 for s in samples if s.returncode != 0)
            note = f" ({failed} failed)" if failed else ""
            print(
                f"| {tool.label}{note} | {scenario} | {wall:.2f} | {_median(samples, 'cpu'):.2f}"
                f" | {_median(samples, 'peak_rss_mb'):.0f} | {_median(samples, 'peak_pss_mb'):.0f}"
                f" | {_answers(samples[-1].answers)}"
                f" | {ratio} |",
                file=out,
            )
    for name, reason in skipped.items():
        print(f"| {name} | skipped | | | | | {reason} | |", file=out)
    print("", file=out)
    _print_targets(results, args, out)


def _print_targets(
    results: dict[tuple[str, str], list[Sample]], args: argparse.Namespace, out: TextIO
) -> None:
    def wall(tool: str, scenario: str) -> float | None:
        samples = results.get((tool, scenario))
        return _median(samples, "wall") if samples else None

    cold, warm, changed = (wall("newswatch", s) for s in SCENARIOS)
    lines = []

    def check(label: str, value: float | None, limit: float | None, unit: str = "") -> None:
        if value is None or limit is None:
            lines.append(f"- {label}: not measured")
            return
        verdict = "met" if value <= limit else "NOT met"
        lines.append(f"- {label}: {value:.2f}{unit} vs limit {limit:.2f}{unit}: {verdict}")

    # issue 21's targets
    boat = wall("newsboat", "cold")
    check("cold <= 0.3 x newsboat cold", cold, boat * 0.3 if boat else None, " s")
    r2e = wall("rss2email", "warm")
    check("warm <= 0.4 x rss2email warm", warm, r2e * 0.4 if r2e else None, " s")
    check("changed <= 0.3 x our cold", changed, cold * 0.3 if cold else None, " s")
    peaks = [_median(v, "peak_pss_mb") for (tool, _), v in results.items() if tool == "newswatch"]
    check("peak PSS (process tree, any cycle) <= 120 MB", max(peaks, default=None), 120, " MB")
    mem = results.get(("newswatch", "cold"))
    if mem:
        lines.append(f"- peak RSS sum of a cold cycle: {_median(mem, 'peak_rss_mb'):.0f} MB")
    if changed is not None:
        lines.append(
            f"- a {args.changed:.0%}-changed cycle of {args.feeds:,} feeds takes {changed:.1f} s"
            f" ({changed / 300:.1%} of a 5-minute interval)"
        )
    if changed is not None and args.feeds >= 10_000:
        check(f"{args.feeds:,} feeds, {args.changed:.0%} churn <= 20 s", changed, 20, " s")
    print("Targets:", file=out)
    print("\n".join(lines), file=out)


def measure_latency(args: argparse.Namespace, workdir: Path, out: TextIO) -> list[float]:
    """`main.py run` with a 60 s poll interval: time from an item appearing on the feed
    server to its sendMessage reaching the fake Bot API, ``--latency-samples`` times."""
    sys.path.insert(0, str(ROOT))
    from tests.fakes.telegram_api import FakeTelegramAPI

    token = "123456789:AAH-bench-token-abcdefghijklmnopqrstuvw"
    chat = 5550001
    interval = 60
    server = FeedServerProcess(args.feeds, args.items, args.seed)
    api = FakeTelegramAPI(token).start()
    state = workdir / "latency"
    state.mkdir(parents=True, exist_ok=True)
    tool = Newswatch()
    tool.prepare(state, [server.url(i) for i in range(args.feeds)])
    (state / "config.toml").write_text(f"poll_interval_seconds = {interval}\n", encoding="utf-8")
    cmd = tool.command(state)
    cmd.env.update(
        NEWSWATCH_CONFIG=str(state / "config.toml"),
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_URL=api.base_url,
        NEWSWATCH_CHAT_IDS=str(chat),
    )
    log = open(state / "run.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "run"],
        env=cmd.env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    latencies: list[float] = []
    rng = random.Random(args.seed)
    try:
        # the first cycle: every feed fetched once, its backfill alerts sent
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if int(server.control("stats").get("200", 0)) >= args.feeds:  # type: ignore[call-overload]
                break
            time.sleep(0.5)
        time.sleep(5)
        for n in range(args.latency_samples):
            time.sleep(rng.uniform(0, interval))  # the item appears at a random moment
            feed = rng.randrange(args.feeds)
            appeared = time.monotonic()
            newest = server.control(f"bump?ids={feed}&watched=1")["newest"]
            marker = f"/{feed}/story-{newest[str(feed)]}"  # type: ignore[index]

            def arrived(st: object, marker: str = marker) -> bool:
                return any(marker in str(m.params) for m in st.messages)  # type: ignore[attr-defined]

            if not api.wait_for(arrived, timeout=interval * 3):
                print(f"  latency probe {n + 1}: no sendMessage within {interval * 3}s", file=out)
                continue
            sent = next(m.at for m in api.state.messages if marker in str(m.params))
            latencies.append(sent - appeared)
            print(f"  latency probe {n + 1}: {sent - appeared:.1f} s", file=sys.stderr, flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        api.stop()
        server.close()
    if latencies:
        worst = max(latencies)
        print(
            f"Alert latency ({len(latencies)} probes, poll interval {interval} s, {args.feeds}"
            f" feeds): median {statistics.median(latencies):.1f} s, max {worst:.1f} s;"
            f" target <= {interval + 2} s: {'met' if worst <= interval + 2 else 'NOT met'}",
            file=out,
        )
    return latencies


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--changed", type=float, default=0.1, help="fraction of feeds changed")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--setup", action="store_true", help="install the peers, then run")
    parser.add_argument("--setup-only", action="store_true", help="install the peers and exit")
    parser.add_argument("--no-peers", action="store_true", help="newswatch only")
    parser.add_argument("--peers", default="newsboat,rss2email,feed2exec")
    parser.add_argument(
        "--server",
        default="own",
        help="nginx (static files, installed by --setup), own (bench.feedgen), or both"
        " (nginx first); one table per server",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="per cycle, seconds")
    parser.add_argument("--keep", action="store_true", help="keep the state directories")
    parser.add_argument("--latency", action="store_true", help="measure alert latency instead")
    parser.add_argument("--latency-samples", type=int, default=3)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats = 1
    if args.setup or args.setup_only:
        setup(sys.stderr)
        if args.setup_only:
            return 0
    workdir = Path(tempfile.mkdtemp(prefix="nw-bench-"))
    try:
        if args.latency:
            latencies = measure_latency(args, workdir, out)
            return 0 if latencies else 1
        tools: list[Tool] = [Newswatch()]
        skipped: dict[str, str] = {}
        if not args.no_peers:
            for name in [p.strip() for p in args.peers.split(",") if p.strip()]:
                peer = PEERS[name]()
                reason = peer.missing()
                if reason:
                    skipped[peer.label] = reason
                else:
                    tools.append(peer)
        names = list(SERVERS) if args.server == "both" else args.server.split(",")
        for name in names:
            if name not in SERVERS:
                parser.error(f"--server: unknown server {name!r} (nginx, own or both)")
            reason = nginx_missing() if name == "nginx" else None
            if reason:
                print(f"\n## Server: nginx: {reason}", file=out)
                return 1
        for name in names:
            args.server_name = name
            server = start_server(name, args)
            try:
                results = run_tools(tools, server, args, workdir)
            finally:
                server.close()
            print_table(tools, skipped, results, args, out)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    # SIGTERM (a timeout, a kill) unwinds like Ctrl-C: nginx is stopped, temp dirs removed
    signal.signal(signal.SIGTERM, _terminate)
    raise SystemExit(main())
