"""Group feed failures by reason for the log: one line for many feeds failing alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Reasons that, for many feeds at once, mean the machine cannot reach the Internet.
NETWORK_KINDS = frozenset({"DNS lookup failed", "connection failed", "connect timeout"})
OFFLINE_HINT = "is this machine offline or behind a proxy? see https_proxy in the README"
GROUP_MIN = 3  # this many feeds failing for one reason are summarised in one line


def failure_kind(error: str) -> str:
    """The reason of a fetch error, without what is particular to one feed.

    ``DNS failure: [Errno -2] Name or service not known`` -> ``DNS lookup failed``;
    ``HTTP 503 Service Unavailable`` stays; ``timeout: read timeout`` -> ``read timeout``.
    """
    text = (error or "unknown error").strip()
    head, _, rest = text.partition(":")
    head = head.strip()
    if head == "DNS failure":
        return "DNS lookup failed"
    if head == "timeout":
        return rest.strip() or "timeout"
    if head.startswith("gave up after"):
        return "overall fetch deadline"
    if head.startswith("HTTP "):
        return head
    if head in ("connection failed", "connection dropped", "TLS error", "network error"):
        return head
    return head[:60]


@dataclass(frozen=True, slots=True)
class FailureSummary:
    """What to log about a period's failures: grouped lines, and feeds failing on their own."""

    groups: tuple[str, ...]
    singles: tuple[tuple[str, str], ...]  # (url, error)


def summarise_failures(
    errors: Mapping[str, str], attempted: int, group_min: int = GROUP_MIN
) -> FailureSummary:
    """``errors`` (url -> error) of ``attempted`` feeds, grouped by :func:`failure_kind`.

    A reason shared by ``group_min`` feeds or more gives one line ("25 of 25 feeds failed: DNS
    lookup failed (is this machine offline…)"); the others are listed one by one.
    """
    by_kind: dict[str, list[str]] = {}
    for url, error in errors.items():
        by_kind.setdefault(failure_kind(error), []).append(url)
    total = max(attempted, len(errors))
    groups: list[str] = []
    singles: list[tuple[str, str]] = []
    for kind, urls in sorted(by_kind.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if len(urls) < group_min:
            singles.extend((url, errors[url]) for url in urls)
            continue
        line = f"{len(urls)} of {total} feeds failed: {kind}"
        if kind in NETWORK_KINDS and len(urls) * 2 >= total:
            line += f" ({OFFLINE_HINT})"
        line += f"; e.g. {sorted(urls)[0]}"
        groups.append(line)
    return FailureSummary(tuple(groups), tuple(singles))
