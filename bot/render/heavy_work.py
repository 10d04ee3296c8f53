"""Run CPU-heavy replies (charts, exports) in a worker process, with a time limit.

A chart of ten years drawn on the event loop held every alert back (ten `/trend Mali 3660d`
raised alert latency from 5-9 s to 39 s). Here the work runs in one forked process (it dies
with the bot, like the parse workers); a job past its limit ends that process, and the next
job starts a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from bot.feeds.parse_pool import finish_executor

log = logging.getLogger("newswatch.heavy")

TIME_LIMIT = 30.0  # seconds for one chart or export


class HeavyWork:
    """One worker process, started with the first job; jobs queue behind each other."""

    def __init__(self, time_limit: float = TIME_LIMIT):
        self.time_limit = time_limit
        self._pool: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        import multiprocessing

        from bot.feeds.parse_pool import prepare_worker

        return ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("fork"),
            initializer=prepare_worker,
            initargs=(os.getpid(),),
        )

    async def run(self, fn: Callable[..., Any], *args: Any, limit: float | None = None) -> Any:
        """``fn(*args)`` in the worker; TimeoutError past the limit (the worker is ended)."""
        from concurrent.futures.process import BrokenProcessPool

        if self._pool is None:
            self._pool = self._start()
        loop = asyncio.get_running_loop()
        pool = self._pool
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(pool, fn, *args), limit or self.time_limit
            )
        except TimeoutError:
            log.warning(
                "%s took longer than %.0fs: stopped",
                getattr(fn, "__name__", fn),
                limit or self.time_limit,
            )
            self._kill(pool)
            raise
        except BrokenProcessPool:
            self._kill(pool)
            raise

    def _kill(self, pool: ProcessPoolExecutor) -> None:
        processes = list(getattr(pool, "_processes", {}).values())
        for process in processes:
            if process.is_alive():
                process.kill()
        finish_executor(pool)
        if self._pool is pool:
            self._pool = None

    @property
    def worker_pids(self) -> list[int]:
        pool = self._pool
        return [p.pid for p in getattr(pool, "_processes", {}).values()] if pool else []

    def shutdown(self) -> None:
        if self._pool is not None:
            self._kill(self._pool)


_default: HeavyWork | None = None


def heavy_work() -> HeavyWork:
    """The process's worker for heavy replies (created on first use)."""
    global _default
    if _default is None:
        _default = HeavyWork()
    return _default


def shutdown_heavy_work() -> None:
    if _default is not None:
        _default.shutdown()
