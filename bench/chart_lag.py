"""How long the event loop stalls while /trend charts are drawn: on the loop vs in the worker.

Issue 16, point 7: ten `/trend Mali 3660d` drawn on the event loop raised alert latency from
5-9 s to 39 s, because nothing else (delivery, other commands) runs while a chart is drawn.
An alert's latency is bounded below by the loop's longest stall, so this bench measures that
stall with a 10 ms ticker on the loop while N ten-year charts are drawn, both ways, in the
same process:

    python bench/chart_lag.py [--charts 10] [--repeats 3]

Prints one row per way: median total time, median longest stall, and the stall ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.render.charts import trend_png
from bot.render.heavy_work import HeavyWork

BINS = [(date(2016, 1, 4) + timedelta(weeks=i), i % 7) for i in range(523)]  # 3660d, weekly
DRAW = partial(trend_png, unit="week")


async def _measure(charts: int, in_worker: bool, work: HeavyWork) -> tuple[float, float]:
    """(total seconds, longest loop stall in seconds) while ``charts`` charts are drawn."""
    stalls: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            stalls.append(now - last - 0.01)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    for _ in range(charts):
        if in_worker:
            await work.run(DRAW, "Mali", BINS)
        else:
            DRAW("Mali", BINS)  # what /trend did: on the loop
            await asyncio.sleep(0)
    total = time.perf_counter() - started
    done.set()
    await task
    return total, max(stalls or [0.0])


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charts", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    async def run() -> dict[str, list[tuple[float, float]]]:
        work = HeavyWork()
        results: dict[str, list[tuple[float, float]]] = {"on the loop": [], "worker": []}
        try:
            await work.run(DRAW, "Mali", BINS[:2])  # start the worker outside the timing
            for _ in range(args.repeats):
                results["on the loop"].append(await _measure(args.charts, False, work))
                results["worker"].append(await _measure(args.charts, True, work))
        finally:
            work.shutdown()
        return results

    results = asyncio.run(run())
    base = statistics.median(s for _, s in results["on the loop"])
    print(
        f"{'way':<12} {'charts':>6} {'total_s':>8} {'max_stall_s':>12} {'stall_ratio':>12}",
        file=out,
    )
    for way, rows in results.items():
        total = statistics.median(t for t, _ in rows)
        stall = statistics.median(s for _, s in rows)
        ratio = stall / base if base > 0 else 0.0
        print(f"{way:<12} {args.charts:>6} {total:>8.2f} {stall:>12.3f} {ratio:>11.2f}x", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
