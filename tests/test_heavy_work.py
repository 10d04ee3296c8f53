"""Charts and exports run in a worker process with a time limit (issue 16, point 7)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from datetime import date, timedelta
from functools import partial

import pytest

from bot.render.charts import trend_png
from bot.render.heavy_work import HeavyWork

pytestmark = pytest.mark.slow  # charts and exports in a worker process


def _pid() -> int:
    return os.getpid()


def _stuck() -> None:
    time.sleep(600)


async def test_jobs_run_in_another_process_and_a_stuck_one_is_ended() -> None:
    work = HeavyWork(time_limit=30)
    try:
        first = await work.run(_pid)
        assert first != os.getpid()
        with pytest.raises(TimeoutError):
            await work.run(_stuck, limit=0.5)
        assert work.worker_pids == []  # the stuck worker was killed
        second = await work.run(_pid)
        assert second not in (first, os.getpid())
    finally:
        work.shutdown()


async def test_ten_charts_leave_the_event_loop_free() -> None:
    """While 10 long charts are drawn the loop keeps answering: a ticker that should tick
    every 10 ms keeps ticking (on the loop, drawing would stop it for seconds)."""
    work = HeavyWork()
    bins = [(date(2016, 1, 4) + timedelta(weeks=i), i % 7) for i in range(523)]  # 3660d, weekly
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        charts = await asyncio.gather(
            *(work.run(partial(trend_png, unit="week"), "Mali", bins) for _ in range(10))
        )
    finally:
        done.set()
        await task
        work.shutdown()
    assert all(png.startswith(b"\x89PNG") for png in charts)
    assert ticks >= 10  # the loop ran between (and during) the drawings


async def test_shutdown_waits_for_the_pool_manager_thread() -> None:
    """CPython 3.11's exit hook races a manager thread still closing its wake-up pipe
    ("Bad file descriptor" printed at exit): shutdown returns only once that thread ended."""
    work = HeavyWork(time_limit=30)
    await work.run(_pid)
    pool = work._pool
    assert pool is not None
    thread: threading.Thread | None = pool._executor_manager_thread  # type: ignore[assignment]
    assert thread is not None and thread.is_alive()
    work.shutdown()
    assert not thread.is_alive()
