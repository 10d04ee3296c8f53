"""Logging for the process: one-line records, noisy libraries quietened, bot tokens redacted."""

from __future__ import annotations

import logging
import re
import sys

# A Bot API token: "<bot id>:<35 url-safe characters>". Redacted wherever it shows up.
TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")


# The configured token's exact value (and its secret half): the pattern above misses tokens
# the config accepts (``1234:`` + 20-29 characters), so the real value is redacted too.
_SECRETS: set[str] = set()


def register_secret(token: str | None) -> None:
    """Redact this exact token (and the part after its colon, and its URL-quoted form)."""
    from urllib.parse import quote

    if not token or len(token) < 8:
        return
    token = token.strip()
    forms = {token, quote(token, safe="")}
    _, _, secret = token.partition(":")
    if len(secret) >= 8:
        forms.add(secret)
    _SECRETS.update(forms)


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "<redacted-token>")
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
    # AIORateLimiter logs every 429 it passes on as an ERROR with a traceback; ours are all
    # handled (the deliverer and bot.telegram.application log one WARNING line each).
    logging.getLogger("telegram.ext.AIORateLimiter").addFilter(_handled_429)


def _handled_429(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("Rate limit hit after maximum of")
