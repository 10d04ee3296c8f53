"""SourceReader makes each kind's reader when a source of that kind is first read, once."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.errors import FeedErrorKind
from bot.core.models import FeedSpec, SourceKind
from bot.core.records import FeedState
from bot.feeds.sources.base import KindReader, Parsed, SourceReader, SourceResult

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


class _Reader:
    def __init__(self, name: str) -> None:
        self.name = name
        self.reads: list[str] = []

    async def read(
        self, spec: FeedSpec, state: FeedState, now: datetime
    ) -> tuple[SourceResult, Parsed | None]:
        self.reads.append(spec.url)
        return SourceResult(url=spec.url, status=200), None


async def test_each_reader_is_made_on_first_use_and_kept() -> None:
    made: list[str] = []
    readers: dict[str, _Reader] = {}

    def factory(name: str) -> KindReader:
        made.append(name)
        readers[name] = _Reader(name)
        return readers[name]

    sources = SourceReader(
        {SourceKind.PAGE: lambda: factory("page"), SourceKind.GDELT: lambda: factory("gdelt")}
    )
    assert made == []  # nothing made before a source is read
    page = FeedSpec(url="page:https://example.org/news", kind=SourceKind.PAGE)
    for _ in range(3):
        result, _parsed = await sources.read(page, FeedState(url=page.url), NOW)
        assert result.status == 200
    assert made == ["page"] and readers["page"].reads == [page.url] * 3
    telegram = FeedSpec(url="telegram:somechannel", kind=SourceKind.TELEGRAM)
    result, parsed = await sources.read(telegram, FeedState(url=telegram.url), NOW)
    assert parsed is None and result.error is not None
    assert result.error.kind is FeedErrorKind.INTERNAL
    assert made == ["page"]  # neither GDELT's reader nor one for Telegram was made
