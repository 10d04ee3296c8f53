"""`allow_private_addresses = false` refuses non-public hosts at every hop (issue 16, 10).

Before, a redirect to loopback was followed (and made permanent by one 301): an internal
page's content went out as an alert.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import bot.feeds.fetcher as fetcher_module
from bot.core.errors import FeedErrorKind
from bot.feeds.fetcher import Fetcher, FetchResult, FetchSettings, non_public_address
from tests.conftest import run_main, write_feed_list
from tests.fakes.feed_server import FeedServer, rss


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://127.0.0.1:8080/feed.xml", True),
        ("http://localhost/feed.xml", True),  # after DNS resolution
        ("http://10.1.2.3/feed.xml", True),
        ("http://192.168.1.10/feed.xml", True),
        ("http://169.254.169.254/latest/meta-data", True),  # cloud metadata
        ("http://[::1]/feed.xml", True),
        ("http://[fe80::1]/feed.xml", True),
        ("http://0.0.0.0/feed.xml", True),
        ("http://100.64.0.1/feed.xml", True),  # carrier-grade NAT
        ("http://8.8.8.8/feed.xml", False),
        ("https://[2606:4700::1111]/feed.xml", False),
    ],
)
def test_non_public_addresses(url: str, refused: bool) -> None:
    reason = asyncio.run(non_public_address(url))
    assert (reason is not None) is refused, reason


@pytest.mark.slow
def test_poll_refuses_a_loopback_feed_when_private_addresses_are_off(
    feed_server: FeedServer, nw_env: dict[str, str], tmp_path: Path
) -> None:
    feed_server.set("/internal.xml", rss([{"title": "Mali internal memo", "guid": "1"}]))
    env = dict(nw_env)
    env["NEWSWATCH_FEEDS"] = str(write_feed_list(tmp_path, [feed_server.url("/internal.xml")]))
    config = tmp_path / "newswatch.toml"
    config.write_text("allow_private_addresses = false\n", encoding="utf-8")
    out = run_main(["--config", str(config), "poll", "--once"], env, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "non-public address (127.0.0.1)" in out.stderr
    assert not feed_server.hits, "the internal feed was fetched"
    config.write_text("allow_private_addresses = true\n", encoding="utf-8")  # the default
    out = run_main(["--config", str(config), "poll", "--once"], env, timeout=60)
    assert feed_server.hits


def test_a_redirect_hop_to_loopback_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first hop passes (as a public host would); the redirect to loopback does not."""
    real = fetcher_module.non_public_address

    with FeedServer() as server:
        server.set("/public.xml", "", fault="permanent-redirect", target="/internal.xml")
        server.set("/internal.xml", rss([{"title": "secret", "guid": "1"}]))
        first = server.url("/public.xml")

        async def pretend_public(url: str) -> str | None:
            return None if url == first else await real(url)

        monkeypatch.setattr(fetcher_module, "non_public_address", pretend_public)

        async def fetch() -> FetchResult:
            fetcher = Fetcher(FetchSettings(allow_private_addresses=False))
            try:
                return await fetcher.fetch(first, None, None)
            finally:
                await fetcher.aclose()

        result = asyncio.run(fetch())
        assert result.error and str(result.error).startswith("redirect refused: 127.0.0.1")
        assert result.error.kind is FeedErrorKind.PRIVATE_ADDRESS
        assert server.hits_for("/internal.xml") == []
