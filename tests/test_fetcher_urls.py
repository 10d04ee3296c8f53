"""The fetcher reads a plain URL's parts without httpx.URL: exactly the parts httpx.URL gives.

``bot.feeds.fetcher.plain_url`` answers for the URLs that httpx would leave as they are (most
feed URLs) and returns None for the rest, which go through ``httpx.URL`` as before. Whenever it
answers, every part the fetcher and its transports read must equal httpx.URL's.
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.feeds.fetcher import plain_url

PARTS = ("scheme", "host", "port", "raw_scheme", "raw_host", "raw_path", "netloc")


def _same_as_httpx(url: str) -> bool:
    """True when plain_url answers for ``url`` (and then its parts are httpx.URL's)."""
    plain = plain_url(url)
    if plain is None:
        return False
    parsed = httpx.URL(url)  # a URL plain_url answers for is one httpx accepts
    for part in PARTS:
        assert getattr(plain, part) == getattr(parsed, part), (url, part)
    return True


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:43841/feeds/512.xml",
        "https://www.rfi.fr/fr/afrique/rss",
        "https://news.example.org/feed?format=rss&lang=fr",
        "http://example.org",
        "http://example.org?",
        "http://example.org:80/feed.xml",  # the default port is dropped
        "https://example.org:443/",
        "http://example.org:8080/a/b.c/feed.xml",
        "https://example.org/wp-json/feed/%7Euser/?x=%20y&z=a:b;c",
        "https://example.org/a/.hidden/..x/feed",  # not dot segments
        "http://0.0.0.0:8000/x",
    ],
)
def test_common_feed_urls_are_read_without_httpx_url(url: str) -> None:
    assert _same_as_httpx(url)


@pytest.mark.parametrize(
    "url",
    [
        "HTTP://example.org/feed",  # httpx lowercases the scheme
        "http://Example.org/feed",  # and the host
        "http://example.org/a/../feed",  # and removes dot segments
        "http://example.org/./feed",
        "http://example.org/feed#top",  # a fragment
        "http://user:pw@example.org/feed",  # user info
        "http://[::1]:8080/feed",  # IPv6
        "http://xn--fiqs8s.icom.museum/feed",  # IDNA: httpx.URL.host decodes it
        "http://1.2.3.999/feed",  # httpx refuses this IPv4 address
        "http://01.2.3.4/feed",
        "http://example.org/a b",  # httpx percent-encodes these
        "http://example.org/a{b}",
        'http://example.org/?q="x"',
        "http://exämple.org/feed",
        "http://example.org/é",
        "ftp://example.org/feed",
        "http://example.org:/feed",
    ],
)
def test_urls_httpx_would_change_go_through_httpx_url(url: str) -> None:
    assert plain_url(url) is None


_PIECES = st.sampled_from(
    ["a", "Z", "0", "9", ".", "..", "-", "_", "~", "%", "%20", "%zz", "/", "?", "#", "&", "=",
     ":", ";", "@", "!", "$", "'", "(", "*", "+", ",", " ", '"', "<", ">", "`", "{", "}", "|",
     "\\", "^", "[", "]", "é", "xn--", "\t"]
)  # fmt: skip
_TEXT = st.lists(_PIECES, max_size=12).map("".join)
_HOST_PIECES = st.sampled_from(["a", "Z", "0", "9", ".", "-", "xn--", "_", "%", "é", "@", ":"])
_HOSTS = st.one_of(
    st.lists(_HOST_PIECES, min_size=1, max_size=8).map("".join),
    _TEXT,
    st.sampled_from(["example.org", "127.0.0.1", "256.1.1.1", "1.2.3", "a..b", "-x-.org"]),
    st.tuples(*[st.integers(0, 300)] * 4).map(lambda t: ".".join(map(str, t))),
)
_PORTS = st.one_of(
    st.just(""), st.integers(0, 99999).map(lambda p: f":{p}"), _TEXT.map(":{}".format)
)


@settings(max_examples=3000, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "Https", "ftp", "ws"]),
    host=_HOSTS,
    port=_PORTS,
    path=st.one_of(st.just(""), _TEXT.map("/{}".format), _TEXT),
    rest=st.one_of(st.just(""), _TEXT),
)
def test_whenever_plain_url_answers_it_agrees_with_httpx(
    scheme: str, host: str, port: str, path: str, rest: str
) -> None:
    url = f"{scheme}://{host}{port}{path}{rest}"
    try:
        _same_as_httpx(url)
    except httpx.InvalidURL:  # raised by httpx.URL for a URL plain_url answered for
        pytest.fail(f"plain_url answered for a URL httpx refuses: {url!r}")
