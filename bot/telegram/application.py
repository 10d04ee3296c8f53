"""Build the python-telegram-bot Application: base URL, rate limiter, and command handlers."""

from __future__ import annotations

from telegram.ext import AIORateLimiter, Application, ApplicationBuilder


def build_application(token: str, api_url: str) -> Application:
    """An Application talking to ``api_url`` (token appended), rate-limited like Telegram asks.

    AIORateLimiter keeps us under ~30 messages/s overall and 20/min per group; RetryAfter is
    handled by the deliverer itself (max_retries=0) so that it can honour it exactly.
    """
    builder: ApplicationBuilder = (
        Application.builder()
        .token(token)
        .base_url(api_url)
        .base_file_url(api_url.replace("/bot", "/file/bot"))
        .rate_limiter(AIORateLimiter(max_retries=0))
        .concurrent_updates(False)
    )
    return builder.build()
