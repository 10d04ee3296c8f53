"""Compute the story signatures of a cycle's pending alerts in a forked helper process, ahead
of the main thread that files them in event order.

Once `poll --once`'s fetches have ended and its parse workers are stopped, filing the cycle's
alerts into stories (bot.cycle.story_grouping) runs on the main thread alone and the second
core is idle. A signature is pure (title, summary, entities and the three lexicons) and about
half of an alert's filing time; the index lookups that follow it must stay in event order on
the main thread. So a helper forked at the start of the filing computes the signatures of the
alerts after the first chunk, in the same order, and hands back each one's stored form (the
codec's bytes, with the digest of its inputs): the main thread takes a result when it is
ready and computes the signature itself when it is not. The helper only ever saves work:
filing, transactions and what is stored are unchanged, and a helper that dies, errs or lags
behind costs nothing but its own CPU.

The lexicons are loaded in the parent before the fork (``SignatureHelper(lexicons=...)``), so
the helper shares their pages instead of loading its own copy.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from bot.core.records import PendingAlert
from bot.core.story_codec import encode_signature, inputs_digest
from bot.core.story_model import signature

log = logging.getLogger("newswatch.stories")

CHUNK = 32  # alerts per job: about 5-15 ms of the helper's work, one result message each

# The lexicons of the running grouper, set by the parent just before it forks the helper:
# the helper inherits them (a closure over the gazetteer cannot be pickled, nor should it be).
_LEXICONS: tuple[Any, Any, Any] | None = None

Texts = tuple[str, str, tuple[str, ...]]


def encoded_signatures(texts: Sequence[Texts]) -> list[bytes | None]:
    """The stored form of each text's signature (None where it cannot be made: the main
    thread then computes it, and logs why). Runs in the helper."""
    lexicons = _LEXICONS or (None, None, None)
    out: list[bytes | None] = []
    for title, summary, entities in texts:
        try:
            sig = signature(title, summary, entities, *lexicons)
            out.append(encode_signature(sig, inputs_digest(title, summary, entities)))
        except Exception:  # the main thread computes (and logs) it
            out.append(None)
    return out


def _init_helper(parent_pid: int) -> None:
    """The helper dies with its parent; its collector never walks (so never copies) the pages
    it shares with the parent."""
    from bot.feeds.parse_pool import prepare_worker

    prepare_worker(parent_pid)
    gc.freeze()


class SignatureHelper:
    """One forked process computing the signatures of ``alerts`` (in event order) in chunks
    of ``CHUNK``; ``take`` gives an alert's stored signature if it is ready, never waiting."""

    def __init__(
        self, alerts: Sequence[PendingAlert], lexicons: tuple[Any, Any, Any], chunk: int = CHUNK
    ):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        global _LEXICONS
        _LEXICONS = lexicons
        # What the parent holds now stays out of its collector's sight for good, as the parse
        # pool does at its fork: a full collection while the helper lives would write to the
        # header of every object and so copy every page the two processes share.
        gc.freeze()
        pool = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_init_helper,
            initargs=(os.getpid(),),
        )
        self._slots: dict[int, tuple[Future[list[bytes | None]], int]] = {}
        self._futures: list[Future[list[bytes | None]]] = []
        self.taken = 0  # signatures the main thread took from the helper
        for start in range(0, len(alerts), chunk):
            part = alerts[start : start + chunk]
            future = pool.submit(
                encoded_signatures, [(a.title, a.summary, a.entities) for a in part]
            )
            self._futures.append(future)
            for index, alert in enumerate(part):
                self._slots[alert.alert_id] = (future, index)
        # Every job is queued: the helper ends as soon as it has done them, and its pages
        # with it (a copy of each page either process wrote since the fork).
        self._thread: threading.Thread | None = getattr(pool, "_executor_manager_thread", None)
        self._processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False)
        self._executor = pool

    def take(self, alert_id: int) -> bytes | None:
        """The helper's stored signature of ``alert_id``, None when it has none ready (not
        computed yet, not asked for, or the helper failed)."""
        slot = self._slots.pop(alert_id, None)
        if slot is None:
            return None
        future, index = slot
        if not future.done() or future.cancelled() or future.exception() is not None:
            return None
        data = future.result()[index]
        if data is not None:
            self.taken += 1
        return data

    def close(self) -> None:
        """Stop the helper now (a job still running is killed: it is not needed) and wait for
        the executor's manager thread to end."""
        self._slots = {}
        global _LEXICONS
        _LEXICONS = None
        thread, self._thread = self._thread, None
        if any(not future.done() for future in self._futures):
            for process in self._processes:
                if process.is_alive():
                    process.kill()
        if thread is not None:
            thread.join(5.0)
            if thread.is_alive():  # never expected: the helper is killed above when busy
                for process in self._processes:
                    if process.is_alive():
                        process.kill()
                thread.join(5.0)
