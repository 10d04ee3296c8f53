"""The real-world corpus in ../shared/feeds: every capture is fetched and parsed without a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SHARED_FEEDS, corpus_files
from tests.fakes.feed_server import FeedServer
from tests.harness import make_pipeline

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SHARED_FEEDS.is_dir(), reason="../shared/feeds is absent"),
]


async def test_every_capture_yields_items_or_a_recorded_error(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    files = corpus_files()
    assert len(files) > 50
    urls = []
    for number, path in enumerate(files):
        route = f"/corpus/{number}"
        feed_server.set(route, path.read_bytes(), content_type="application/xml")
        urls.append(feed_server.url(route))
    pipeline, repo, fetcher, _out = make_pipeline(tmp_path / "nw.db", urls)
    try:
        report = await pipeline.run_cycle(force=True)
    finally:
        await fetcher.aclose()
    states = repo.feeds.states(urls)
    assert report.feeds_due == len(files)
    unexplained = []
    for number, url in enumerate(urls):
        state = states[url]
        assert not (state.last_error or "").startswith("internal error"), (files[number], state)
        if not state.items_total and not state.last_error:
            unexplained.append(files[number].name)
    # Only a well-formed feed with no entries may yield nothing without an error.
    assert unexplained == [], unexplained
    errors = {
        files[i].name: states[u].last_error for i, u in enumerate(urls) if states[u].last_error
    }
    json_feed = next((i for i, f in enumerate(files) if f.name == "d4b7ab74da763119"), None)
    if json_feed is not None:  # a real JSON Feed 1.0: read as a feed like any other
        assert "d4b7ab74da763119" not in errors
        assert states[urls[json_feed]].items_total > 0
    assert report.errors == len(errors)
