"""Which asyncio event loop `run` and `poll --once` run on: uvloop when it is installed (the
optional `fast` extra) and the config allows it, else asyncio's own.

uvloop is a drop-in asyncio loop on libuv; python-telegram-bot, APScheduler, httpx and the
fetcher's asyncio network backend run on it unchanged. It lowers the CPU of a cycle of
conditional GETs (docs/performance.md). The bot never needs it: `event_loop = "auto"` (the
default) falls back to asyncio when uvloop is missing or cannot be imported.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Any, TypeVar

log = logging.getLogger("newswatch")

T = TypeVar("T")


class EventLoopChoice(StrEnum):
    """The ``event_loop`` setting."""

    AUTO = "auto"  # uvloop if it imports, else asyncio
    ASYNCIO = "asyncio"
    UVLOOP = "uvloop"  # required: the config is refused when it is not installed


def uvloop_installed() -> bool:
    """Whether uvloop can be found (without importing it)."""
    return importlib.util.find_spec("uvloop") is not None


def loop_factory(choice: EventLoopChoice) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory of the loop to run on; None means asyncio's default loop."""
    if choice is EventLoopChoice.ASYNCIO:
        return None
    try:
        import uvloop
    except ImportError as exc:  # not installed, or a build that does not load here
        if choice is EventLoopChoice.UVLOOP:
            raise
        log.debug("uvloop not available (%s): running on asyncio's event loop", exc)
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T], choice: EventLoopChoice) -> T:
    """``asyncio.run(main)`` on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(main)
