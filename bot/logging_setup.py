"""Logging for the process: one-line records, noisy libraries quietened, bot tokens redacted."""

from __future__ import annotations

import logging
import re
import sys

# A Bot API token: "<bot id>:<35 url-safe characters>". Redacted wherever it shows up.
TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")


def redact(text: str) -> str:
    return TOKEN_PATTERN.sub("<redacted-token>", text)


class RedactingFormatter(logging.Formatter):
    """Formats normally, then removes anything that looks like a bot token (also in tracebacks)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
