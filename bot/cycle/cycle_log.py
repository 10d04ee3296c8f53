"""The cycle lines of the log: one `cycle:` line per poll round, failures grouped by reason.

In `run` a "cycle" of the scheduler wakes up whenever one feed is due, so logging each one
gave several lines a minute, and empty ones. ``CycleLog`` adds the cycles' counts up and
writes one line per ``every`` seconds (the poll interval) when anything was fetched, and the
failures of that time grouped by reason, at most once per ``failures_every`` seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.core.errors import FeedError
from bot.core.failures import summarise_failures
from bot.core.models import CycleReport

log = logging.getLogger("newswatch.cycle")


class CycleLog:
    def __init__(
        self,
        *,
        every: float = 300.0,
        failures_every: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.every = every
        self.failures_every = failures_every
        self.monotonic = monotonic
        self._window = CycleReport()
        self._logged_at: float | None = None
        self._errors: dict[str, FeedError] = {}
        self._attempted: set[str] = set()
        self._failures_logged_at: float | None = None

    def add(self, report: CycleReport) -> None:
        """Count one cycle, and log what is due."""
        window = self._window
        for name in (
            "feeds_due",
            "fetched",
            "not_modified",
            "unchanged_body",
            "errors",
            "items_new",
            "alerts",
        ):
            setattr(window, name, getattr(window, name) + getattr(report, name))
        window.duration += report.duration
        self._errors.update(report.feed_errors)
        self._attempted.update(report.due_urls)
        self.flush()

    def flush(self, *, force: bool = False) -> list[str]:
        """Write the lines that are due (all of them with ``force``); returns them."""
        now = self.monotonic()
        lines: list[str] = []
        if self._errors and (
            force
            or self._failures_logged_at is None
            or now - self._failures_logged_at >= self.failures_every
        ):
            summary = summarise_failures(self._errors, len(self._attempted))
            for line in summary.groups:
                log.warning("%s", line)
                lines.append(line)
            for url, error in summary.singles:
                line = f"feed {url}: {error}"
                log.warning("%s", line)
                lines.append(line)
            self._errors = {}
            self._attempted = set()
            self._failures_logged_at = now
        if self._window.feeds_due and (
            force or self._logged_at is None or now - self._logged_at >= self.every
        ):
            line = self._window.summary()
            log.info("%s", line)
            lines.append(line)
            self._window = CycleReport()
            self._logged_at = now
            if not self._errors:  # the next failure summary counts the feeds from here
                self._attempted = set()
        return lines
