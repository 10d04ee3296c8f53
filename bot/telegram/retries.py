"""One retry loop for every Bot API request: pacing, 429 waits, backoff on network errors.

Alerts, story edits and admin notices (``bot.telegram.delivery``) and command replies and
button answers (``bot.telegram.application.PacedRateLimiter``, which every request of a
handler passes through) all call :func:`with_telegram_retries`. What differs between them
is data, a :class:`RetryPolicy`, and two callbacks:

- ``turn()`` waits until the chat may receive a request (the shared ``ChatPacer``); False
  means the wait is too long to sit through now (a long 429), and the request is deferred;
- ``adjust(exc)`` is asked about any other Telegram error: it may change what the next
  attempt sends (plain text after "can't parse entities", the supergroup a group migrated
  to, no topic after "thread not found") and return True to try again at once. Otherwise
  the error is raised to the caller, which decides what it means (403: the chat is
  deactivated; 400 chat not found: the delivery fails; ...).

Transient failures end in :class:`TelegramDeferred` once the policy's budget is spent, so
the caller keeps the request for later instead of dropping it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.core.errors import DeliveryDeferred

log = logging.getLogger("newswatch.telegram")

T = TypeVar("T")


def retry_after_seconds(exc: RetryAfter) -> float:
    """Seconds to wait. PTB 22.2+ keeps a timedelta in ``_retry_after`` and warns when the
    public ``retry_after`` (int, or timedelta with PTB_TIMEDELTA) is read; accept all three."""
    value: Any = getattr(exc, "_retry_after", None)
    if not isinstance(value, timedelta):
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def is_transient(exc: BaseException) -> bool:
    """A network error, a time-out or a 5xx: worth trying again. (PTB's BadRequest is a
    NetworkError subclass, but a 400 never gets better by itself.)"""
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


class TelegramDeferred(DeliveryDeferred):
    """The request was not made or did not go through, and may be tried later: a 429 longer
    than the caller waits for, or network errors past the policy's retries. ``cause`` is
    the last Telegram error (None when a long 429 wait was known before trying)."""

    def __init__(self, reason: str, cause: TelegramError | None = None):
        super().__init__(reason)
        self.reason = reason
        self.cause = cause


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many transient failures one request sits through.

    ``retry_after_waits``: 429 answers waited out before the request is deferred (None:
    any number; the ``turn`` then defers a wait that is too long). ``network_retries``:
    network errors and 5xx retried, ``backoff_base * 2**n`` seconds apart.
    """

    network_retries: int = 3
    backoff_base: float = 1.0
    retry_after_waits: int | None = None


async def with_telegram_retries(
    request: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    turn: Callable[[], Awaitable[bool]] | None = None,
    adjust: Callable[[TelegramError], Awaitable[bool]] | None = None,
    on_retry_after: Callable[[float], None] | None = None,
    on_network_error: Callable[[NetworkError], None] | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    label: str = "",
) -> T:
    """Make ``request`` until it succeeds, is deferred, or fails for good.

    - before each attempt, ``turn()`` (when given) paces it; False raises TelegramDeferred;
    - a 429 calls ``on_retry_after(seconds)`` (the pacer's global gate) and, without a
      ``turn`` to wait for, sleeps that long; past ``policy.retry_after_waits`` it defers;
    - a network error or 5xx calls ``on_network_error`` and backs off, then defers;
    - any other Telegram error goes to ``adjust``: True tries again, False raises it.

    ``label`` names the request in the one WARNING a 429 logs ("to chat 5", ...).
    """
    attempt = 0
    waits = 0
    while True:
        if turn is not None and not await turn():
            raise TelegramDeferred("rate limited: a long 429 wait")
        try:
            return await request()
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            waits += 1
            if on_retry_after is not None:
                on_retry_after(wait)
            if policy.retry_after_waits is not None and waits > policy.retry_after_waits:
                raise TelegramDeferred(f"429: asked to wait {wait:.0f}s", exc) from exc
            log.warning("telegram asked to wait %.0fs (429) %s; waiting", wait, label)
            if turn is None:
                await sleep(wait)
        except TelegramError as exc:
            if is_transient(exc):
                assert isinstance(exc, NetworkError)
                if on_network_error is not None:
                    on_network_error(exc)
                attempt += 1
                if attempt > policy.network_retries:
                    raise TelegramDeferred(f"network: {exc.message}", exc) from exc
                delay = policy.backoff_base * 2 ** (attempt - 1)
                log.info("network error %s (%s); retry in %.1fs", label, exc, delay)
                await sleep(delay)
                continue
            if adjust is not None and await adjust(exc):
                continue
            raise
