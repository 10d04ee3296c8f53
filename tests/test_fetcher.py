"""Fetcher connection handling: keep-alive connections survive 304s and error pages."""

from __future__ import annotations


async def test_304s_and_error_pages_keep_the_connection_for_the_next_fetch(feed_server):
    """A warm cycle must not pay a new TCP (and TLS) connection per feed."""
    from bot.fetcher import Fetcher, FetchSettings

    feed_server.set("/a.xml", "<rss version='2.0'><channel><title>a</title></channel></rss>")
    feed_server.set("/gone.xml", "gone", status=404, content_type="text/plain")
    async with Fetcher(FetchSettings(max_per_host=1)) as fetcher:
        first = await fetcher.fetch(feed_server.url("/a.xml"))
        for _ in range(3):
            again = await fetcher.fetch(feed_server.url("/a.xml"), etag=first.etag)
            assert again.not_modified
            assert (await fetcher.fetch(feed_server.url("/gone.xml"))).status == 404
    peers = {hit.peer for hit in feed_server.hits}
    assert len(feed_server.hits) == 7
    assert len(peers) == 1, peers
