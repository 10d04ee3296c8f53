"""Group feed failures by kind for the log: one line for many feeds failing alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.core.errors import NETWORK_KINDS, FeedError, kind_label

OFFLINE_HINT = "is this machine offline or behind a proxy? see https_proxy in the README"
GROUP_MIN = 3  # this many feeds failing for one reason are summarised in one line


@dataclass(frozen=True, slots=True)
class FailureSummary:
    """What to log about a period's failures: grouped lines, and feeds failing on their own."""

    groups: tuple[str, ...]
    singles: tuple[tuple[str, FeedError], ...]  # (url, error)


def summarise_failures(
    errors: Mapping[str, FeedError], attempted: int, group_min: int = GROUP_MIN
) -> FailureSummary:
    """``errors`` (url -> error) of ``attempted`` feeds, grouped by kind (``FeedError.group``:
    the kind, with the status for HTTP errors).

    A kind shared by ``group_min`` feeds or more gives one line ("25 of 25 feeds failed: DNS
    lookup failed (is this machine offline…)"); the others are listed one by one.
    """
    by_group: dict[str, list[str]] = {}
    for url, error in errors.items():
        by_group.setdefault(error.group, []).append(url)
    total = max(attempted, len(errors))
    groups: list[str] = []
    singles: list[tuple[str, FeedError]] = []
    for group, urls in sorted(by_group.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if len(urls) < group_min:
            singles.extend((url, errors[url]) for url in urls)
            continue
        line = f"{len(urls)} of {total} feeds failed: {group}"
        offline = all(errors[url].kind in NETWORK_KINDS for url in urls)
        if offline and len(urls) * 2 >= total:
            line += f" ({OFFLINE_HINT})"
        line += f"; e.g. {sorted(urls)[0]}"
        groups.append(line)
    return FailureSummary(tuple(groups), tuple(singles))


def count_by_kind(failures: Iterable[tuple[str | None, int | None]]) -> list[tuple[str, int]]:
    """(stored kind, HTTP status) of failing feeds -> (kind in words, feeds), most first.

    For `/feeds`, `status` and `/health`: "3 DNS lookup failed, 2 HTTP 503, 1 not a feed".
    """
    counts: dict[str, int] = {}
    for kind, status in failures:
        label = kind_label(kind, status)
        if label is not None:
            counts[label] = counts.get(label, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def describe_counts(counts: Sequence[tuple[str, int]]) -> str:
    """``count_by_kind``'s result in one phrase."""
    return ", ".join(f"{n} {label}" for label, n in counts)
