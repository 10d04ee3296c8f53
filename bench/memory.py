"""Peak memory of a process and its descendants, sampled while it runs (Linux /proc).

The one sampler of bench/cycle.py, bench/parse.py and tests/test_hostile_feeds.py. wait4's
``ru_maxrss`` is no substitute: it is the largest single process, and it counts the process
that forked the child (a test session's pytest, 480 MB in a full run), not the tree.
"""

from __future__ import annotations

import os
import threading
from types import TracebackType

PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) bytes of ``pid`` and all its descendants, summed ((0, 0) once it is gone).

    The RSS sum counts pages shared by forked workers once per process; PSS splits each
    shared page between the processes that map it, so its sum is the memory really used.
    """
    rss = pss = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/statm") as f:
                rss += int(f.read().split()[1]) * PAGE
            with open(f"/proc/{current}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
                        break
            with open(f"/proc/{current}/task/{current}/children") as f:
                stack.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return rss, pss


class PeakSampler:
    """Samples :func:`tree_memory` of ``pid`` every ``interval`` s, in a thread, inside a
    ``with`` block; ``rss`` and ``pss`` are the peaks seen, in bytes.

    ``with PeakSampler(proc.pid) as peak: proc.wait()`` then ``peak.rss``.
    """

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.rss = 0
        self.pss = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.is_set():
            rss, pss = tree_memory(self.pid)
            self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)
            self._done.wait(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join()
