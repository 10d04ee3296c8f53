"""Parse fetched feed bodies off the event loop: a lazily started process pool sized to the cores.

``parse_and_key`` is the unit of work: it parses a body and computes every item's key and
canonical link (URL canonicalisation is the other big per-item cost), so the main process is
left with matching and storage. ``ParsePool`` runs the first few jobs inline and starts the
worker processes only once a process has more bodies than that to parse: a cycle of 304s
never pays for workers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any

from bot.core.models import ParsedFeed

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger("newswatch.parse")


def parse_and_key(
    body: bytes, url: str, content_type: str | None
) -> tuple[ParsedFeed, list[str], list[str | None]]:
    """``parse_feed`` (or JSON Feed), plus each parsed item's key and canonical link."""
    # The parser stack (feedparser, courlan) loads with the first body: a cycle of 304s
    # never pays for it, and a `poll --once` process starts that much sooner.
    from bot.core.urls import canonical_url, item_key
    from bot.json_feed import parse_any

    parsed = parse_any(body, url, content_type)
    items = parsed.items
    canonical = [canonical_url(i.link) if i.link else None for i in items]
    keys = [
        item_key(i.guid, i.link, i.title, i.summary, canonical_link=c)
        for i, c in zip(items, canonical, strict=True)
    ]
    return parsed, keys, canonical


class ParsePool(Executor):
    """An Executor: inline for the first ``start_after`` jobs, then ``workers`` processes.

    Workers are forked (cheap, and they share the parent's pages): a job only reads bytes and
    returns picklable dataclasses. With one core, or ``workers`` < 2, every job runs inline.
    """

    def __init__(self, workers: int | None = None, start_after: int = 8):
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self.start_after = start_after
        self._inline_jobs = 0
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False

    @property
    def started(self) -> bool:
        return self._pool is not None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self._closed:
            raise RuntimeError("ParsePool is shut down")
        if self._pool is None and (self.workers < 2 or self._inline_jobs < self.start_after):
            self._inline_jobs += 1
            return _run_inline(fn, *args, **kwargs)
        if self._pool is None:
            self._pool = self._start()
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._pool.submit(fn, *args, **kwargs)
        except BrokenProcessPool:  # a worker was killed (e.g. out of memory): start afresh
            log.warning("parse worker died; restarting the parse pool")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start()
            return self._pool.submit(fn, *args, **kwargs)

    def _start(self) -> ProcessPoolExecutor:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        log.debug("starting %d parse workers", self.workers)
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)
            self._pool = None


def _run_inline(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
    future: Future[Any] = Future()
    try:
        future.set_result(fn(*args, **kwargs))
    except BaseException as exc:  # delivered through the future, like a worker's exception
        future.set_exception(exc)
    return future
