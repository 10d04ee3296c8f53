"""Benchmark alert latency in `main.py run` with a slow-drip feed beside a healthy one.

    python -m bench.slow_feed                      # 3 runs per scenario, fetch deadline 20 s
    python -m bench.slow_feed --repeat 1 --deadline 3 --poll 10   # the CI smoke size

Each run starts `main.py run` against a local feed server and the fake Bot API (both in this
process, timestamps on one monotonic clock) with one healthy feed whose newest item matches
the default watchlist and, in the second scenario, one feed that sends its body at 1 byte/s
(it holds its fetch until `fetch_deadline`). Measured per run:

- fetch -> alert: from the healthy feed's first request to the alert's sendMessage (the
  target: within 5 s with the slow feed present);
- next item -> alert: a second item is added to the healthy feed once the first alert is in;
  from then to its sendMessage (poll interval --poll, so up to one interval plus a tick).

The baseline is the healthy feed alone, run in the same process; the table gives medians,
maxima and the ratio slow/alone.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.feed_server import FeedServer, rfc822, rss  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402

TOKEN = "123456789:AAH-bench-token-abcdefghijklmnopqrstuvw"
CHAT = 5550001
TARGET_SECONDS = 5.0


@dataclass
class Sample:
    fetch_to_alert: float
    next_item_to_alert: float


@dataclass
class Scenario:
    name: str
    slow: bool
    samples: list[Sample] = field(default_factory=list)


def _item(guid: str, title: str) -> dict[str, str]:
    return {"title": title, "guid": guid, "link": f"https://bench.example.org/{guid}",
            "description": title, "pubDate": rfc822(time.time() - 60)}  # fmt: skip


def _wait(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def run_once(slow: bool, run: int, args: argparse.Namespace, workdir: Path) -> Sample:
    state = workdir / f"{'slow' if slow else 'alone'}-{run}"
    state.mkdir(parents=True)
    first = f"JNIM fighters attack a convoy near Kidal, report {run}"
    second = f"Assimi Goïta visits Timbuktu, report {run}"
    with FeedServer() as feeds, FakeTelegramAPI(TOKEN) as api:
        feeds.set("/healthy.xml", rss([_item(f"h{run}a", first)], title="Healthy Wire"))
        urls = [feeds.url("/healthy.xml")]
        if slow:
            body = rss([_item(f"s{run}", "Mali: the slow wire's only story")], title="Slow")
            feeds.set("/slow.xml", body, fault="slow")
            urls.insert(0, feeds.url("/slow.xml"))
        (state / "feeds.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")
        (state / "newswatch.toml").write_text(
            f"poll_interval_seconds = {args.poll}\nmin_interval_seconds = {args.poll}\n"
            f"fetch_deadline = {args.deadline}\nread_timeout = {args.deadline}\n"
            "fetch_spread_seconds = 0\n",
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSWATCH_", "TELEGRAM_"))}
        env |= {
            "NEWSWATCH_DB": str(state / "nw.db"),
            "NEWSWATCH_CONFIG": str(state / "newswatch.toml"),
            "NEWSWATCH_FEEDS": str(state / "feeds.txt"),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api.base_url,
            "NEWSWATCH_CHAT_IDS": str(CHAT),
            "NEWSWATCH_ADMIN_IDS": "1",
        }
        log = (state / "run.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "run"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            timeout = args.deadline + 60

            def sent(title: str) -> float | None:
                for message in api.messages_to(CHAT):
                    if title.split(",")[0] in message.text:
                        return message.at
                return None

            if not _wait(lambda: sent(first) is not None, timeout):
                raise RuntimeError(f"no alert within {timeout}s; see {state / 'run.log'}")
            fetched = feeds.hits_for("/healthy.xml")[0].at
            fetch_to_alert = (sent(first) or 0.0) - fetched
            appeared = time.monotonic()
            feeds.set(
                "/healthy.xml",
                rss([_item(f"h{run}b", second), _item(f"h{run}a", first)], title="Healthy Wire"),
            )
            if not _wait(lambda: sent(second) is not None, timeout + args.poll):
                raise RuntimeError(f"no second alert; see {state / 'run.log'}")
            next_item = (sent(second) or 0.0) - appeared
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
    return Sample(fetch_to_alert, next_item)


def report(scenarios: list[Scenario], args: argparse.Namespace, out: TextIO) -> None:
    alone, slow = scenarios
    print(
        f"Alert latency in `main.py run` (poll {args.poll}s, fetch deadline {args.deadline}s,"
        f" {args.repeat} run(s) per scenario; medians, max in brackets)",
        file=out,
    )
    print("", file=out)
    print("| scenario | fetch -> alert s | next item -> alert s |", file=out)
    print("| --- | ---: | ---: |", file=out)
    for scenario in scenarios:
        f = [s.fetch_to_alert for s in scenario.samples]
        n = [s.next_item_to_alert for s in scenario.samples]
        print(
            f"| {scenario.name} | {statistics.median(f):.2f} ({max(f):.2f})"
            f" | {statistics.median(n):.2f} ({max(n):.2f}) |",
            file=out,
        )
    base = statistics.median(s.fetch_to_alert for s in alone.samples)
    with_slow = statistics.median(s.fetch_to_alert for s in slow.samples)
    worst = max(s.fetch_to_alert for s in slow.samples)
    print("", file=out)
    print(
        f"ratio fetch -> alert, slow feed present / alone: {with_slow / max(base, 1e-3):.2f}x",
        file=out,
    )
    verdict = "met" if worst <= TARGET_SECONDS else "NOT met"
    print(
        f"target: the healthy feed's alert within {TARGET_SECONDS:.0f}s of its fetch with a"
        f" slow-drip feed present: {verdict} (worst {worst:.2f}s)",
        file=out,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--deadline", type=float, default=20.0, help="fetch_deadline, seconds")
    parser.add_argument("--poll", type=int, default=10, help="poll_interval_seconds (>= 10)")
    args = parser.parse_args(argv)
    scenarios = [Scenario("healthy feed alone", False), Scenario("healthy + slow-drip", True)]
    with tempfile.TemporaryDirectory(prefix="nw-slowfeed-") as tmp:
        for run in range(args.repeat):
            for scenario in scenarios:
                scenario.samples.append(run_once(scenario.slow, run, args, Path(tmp)))
    report(scenarios, args, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
