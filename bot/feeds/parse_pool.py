"""Parse fetched feed bodies off the event loop: a lazily started process pool sized to the cores.

``parse_and_key`` is the unit of work: it parses a body and computes every item's key and
canonical link (URL canonicalisation is the other big per-item cost), so the main process is
left with matching and storage. ``ParsePool`` starts its worker processes with the first body
to parse (a cycle of 304s never pays for workers) and runs every job in them, never on the
event loop: one crafted body cannot stall the cycle.

Each job has a time limit. After ``PARSE_TIME_LIMIT`` seconds (wall clock) the job stops with
a ParsedFeed whose ``error`` says so, the way any unparseable body fails; a job stuck in C
code, where no Python exception can reach it, is killed by the kernel after
``PARSE_CPU_LIMIT`` seconds of CPU, and the pool starts new workers.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any

from bot.core.errors import FeedError, FeedErrorKind
from bot.core.models import ParsedFeed

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger("newswatch.parse")

# A 10 MB feed parses in about 2 s through feedparser on a small machine: far above that is
# a body built to be slow.
PARSE_TIME_LIMIT = 20.0
PARSE_CPU_LIMIT = 40.0  # the kernel's backstop (SIGPROF, whose default action ends the worker)


class ParseTimeout(BaseException):
    """The job ran out of time. A BaseException: a parser's ``except Exception`` cannot eat it."""


def parse_and_key(
    body: bytes, url: str, content_type: str | None
) -> tuple[ParsedFeed, list[str], list[str | None]]:
    """``parse_feed`` (or JSON Feed), plus each parsed item's key and canonical link.

    In a worker process the job is bounded by ``PARSE_TIME_LIMIT`` (see the module docstring).
    """
    # The parser stack (feedparser, courlan) loads with the first body: a cycle of 304s
    # never pays for it, and a `poll --once` process starts that much sooner.
    from bot.core.matching import match_text
    from bot.core.urls import canonical_url, item_key
    from bot.feeds.json_feed import parse_any

    try:
        with _time_limit(PARSE_TIME_LIMIT, PARSE_CPU_LIMIT):
            parsed = parse_any(body, url, content_type)
            items = parsed.items
            canonical = [_canonical(canonical_url, i.link) for i in items]
            keys = [
                item_key(i.guid, i.link, i.title, i.summary, canonical_link=c)
                for i, c in zip(items, canonical, strict=True)
            ]
            # Folded here, in the worker: the cycle's main process only scans them.
            parsed.match_texts = [(match_text(i.title), match_text(i.summary)) for i in items]
    except ParseTimeout:
        error = FeedError(
            FeedErrorKind.PARSE_TIMEOUT,
            f"parsing took longer than {PARSE_TIME_LIMIT:g} s: body skipped",
        )
        return ParsedFeed(title=None, error=error), [], []
    return parsed, keys, canonical


def _canonical(canonical_url: Callable[[str], str], link: str | None) -> str | None:
    if not link:
        return None
    try:
        return canonical_url(link)
    except Exception:  # a link the URL library cannot read keeps its own spelling as its key
        return link


@contextlib.contextmanager
def _time_limit(seconds: float, cpu_seconds: float) -> Iterator[None]:
    """Raise ParseTimeout in this job after ``seconds``; only in a worker's main thread.

    The wall-clock timer repeats every second after it first fires, so that a parser which
    swallows the first exception is interrupted again. The CPU timer is not handled: its
    signal ends the process, which is the point.
    """
    if not _IN_WORKER or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise ParseTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    signal.setitimer(signal.ITIMER_PROF, cpu_seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGALRM, previous)


_IN_WORKER = False


def _mark_worker() -> None:
    """Initializer of every worker process: jobs there run under the time limit."""
    global _IN_WORKER
    _IN_WORKER = True
    signal.signal(signal.SIGPROF, signal.SIG_DFL)


def _init_worker(parent_pid: int) -> None:
    """Initializer of every worker: die with the parent, shed what the fork carried over.

    A worker must never outlive the bot: after a ``kill -9`` of ``run`` or of a
    cron ``poll --once`` the orphans kept the instance lock and refused every restart.
    The inherited lock descriptors are closed at the fork itself (bot.app.instance_lock).
    """
    prepare_worker(parent_pid)
    _mark_worker()


def prepare_worker(parent_pid: int) -> None:
    """For any forked worker (parse jobs, charts): die with the parent, default signals."""
    _die_with_parent(parent_pid)
    # The parent's asyncio loop installed SIGINT/SIGTERM handlers that only write to its
    # wakeup pipe: in a worker they would swallow SIGTERM. Back to the defaults.
    with contextlib.suppress(ValueError, OSError):
        signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the parent decides


PR_SET_PDEATHSIG = 1


def finish_executor(pool: ProcessPoolExecutor, timeout: float = 5.0) -> None:
    """Shut ``pool`` down without waiting for its jobs, then wait for its manager thread.

    CPython 3.11's exit hook writes to each pool's wake-up pipe while that pool's manager
    thread may be closing it: a pool shut down with ``wait=False`` just before the
    interpreter exits printed "OSError: [Errno 9] Bad file descriptor" with a traceback.
    Once the manager thread has ended, the hook sees the pipe closed and skips it. A worker
    still busy past ``timeout`` is killed so the thread can end.
    """
    thread = getattr(pool, "_executor_manager_thread", None)  # shutdown() forgets it
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    if thread is None:
        return
    thread.join(timeout)
    if thread.is_alive():
        for process in processes:
            if process.is_alive():
                process.kill()
        thread.join(timeout)


def _die_with_parent(parent_pid: int) -> None:
    """Linux: SIGKILL this process when the thread that forked it ends (PR_SET_PDEATHSIG).

    The pool forks from the event loop's thread, the main thread, so that is the process.
    If the parent already died before the call, exit now. Elsewhere (no prctl) the pool's
    own pipes end an idle worker when the parent goes.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: no prctl
        log.debug("prctl(PR_SET_PDEATHSIG) unavailable")
    if os.getppid() != parent_pid:
        os._exit(0)


class ParsePool(Executor):
    """An Executor of ``workers`` processes (one per core), started with the first job.

    Workers are forked (cheap, and they share the parent's pages): a job only reads bytes and
    returns picklable dataclasses. The parser stack is imported before the fork, so the
    workers share it too.
    """

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self._closed:
            raise RuntimeError("ParsePool is shut down")
        if self._pool is None:
            self._pool = self._start()
            return self._forking_submit(fn, *args, **kwargs)
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._pool.submit(fn, *args, **kwargs)
        except BrokenProcessPool:  # a worker was killed (e.g. out of memory): start afresh
            log.warning("parse worker died; restarting the parse pool")
            finish_executor(self._pool)
            self._pool = self._start()
            return self._forking_submit(fn, *args, **kwargs)

    def _forking_submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """The first job of a pool, whose ``submit`` forks the workers, with the garbage
        collector's objects frozen for the fork (CPython's advice for fork without exec).

        A worker's collections then never walk (and so never write to) the objects it
        inherited, and their pages stay shared with the parent instead of being copied into
        each worker: 25-30 MB less PSS for the tree of a cold 1,000-feed cycle. The parent
        keeps them frozen too: its own next full collection would otherwise write to the
        header of every object it held at the fork, and each page written is copied, out of
        the pages it shares with the workers (about 9 MB more PSS for the tree of a cold
        1,000-feed cycle, and 0.1-0.3 s of the main thread in that collection). What was
        alive at the fork is start-up state (frozen already: ``bot.cli.run``), the parser's
        modules and the cycle in flight; reference cycles among the last that become garbage
        are not collected (about 200 objects, once per pool start).
        """
        assert self._pool is not None
        gc.freeze()
        return self._pool.submit(fn, *args, **kwargs)

    def _start(self) -> ProcessPoolExecutor:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Loaded once here, before the fork: the workers share these pages.
        for module in (
            "bot.feeds.parser",
            "bot.feeds.json_feed",
            "bot.core.urls",
            "bot.core.matching",
        ):
            importlib.import_module(module)

        log.debug("starting %d parse workers", self.workers)
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_init_worker,
            initargs=(os.getpid(),),
        )

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._closed = True
        if self._pool is not None:
            if wait:
                self._pool.shutdown(wait=True, cancel_futures=cancel_futures)
            else:
                finish_executor(self._pool)
            self._pool = None
