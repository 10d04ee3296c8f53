"""Differential tests: the fast paths of link cleanup and URL canonicalisation give exactly
what the general paths give.

``parser._safe_link`` returns a plain absolute http(s) link as it is, and ``canonical_url``
computes a plain link's form directly; everything else goes through urljoin/urlsplit and
courlan as before. Hypothesis builds URLs out of the parts that make the general paths change
a link (empty queries and fragments, path parameters, dot segments, repeated slashes, AMP
variants, punycode, ports, credentials, brackets, schemes in any case, hostile schemes,
control characters, tracking parameters, percent escapes, very long URLs), and every link and
GUID of the real-world corpus (../shared/feeds) and of the benchmark's feeds is checked too.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.feedgen import FeedSet
from bot.core.urls import _canonical_url_general, canonical_url
from bot.feeds.parser import _safe_link, _safe_link_general, parse_feed
from tests.conftest import corpus_files

SCHEMES = ["http", "https", "HTTP", "Https", "ftp", "javascript", "data", "mailto", ""]
SEPARATORS = ["://", ":/", ":", "//", ":///", ""]
LABELS = [
    "example",
    "org",
    "com",
    "www",
    "amp",
    "news",
    "EXAMPLE",
    "xn--mli-5ka",
    "cdn",
    "ampproject",
    "google",
    "a-b",
    "-",
    "1",
    "",
    "é",
    "℀",
]
HOST_EXTRAS = ["", ":80", ":443", ":8080", ":", ":99999", ":x", "user:pw@", "[::1]", "[::1", "."]
SEGMENTS = [
    "a",
    "story-1",
    "2026",
    "Story.html",
    "amp",
    "AMP",
    "x.amp",
    "x.amp.html",
    ".",
    "..",
    ".hidden",
    "",
    "a;b",
    "a;",
    "%7e",
    "%2F",
    "~u",
    "a!b=c:d,e",
    "(x)",
    "a+b",
    "é",
    "http:",
    "a@b",
    "a$b",
    "a'b",
    "a*b",
    "a\\b",
]
QUERY_PARTS = [
    "id=1",
    "b=2",
    "a=",
    "k",
    "utm_source=rss",
    "ref=x",
    "outputType=amp",
    "amp",
    "q=a+b",
    "q=%20",
    "x=1&amp;y=2",
    "u=http://e.org/x",
    "p=/a",
    "&",
    "=v",
    "z=é",
    "",
]
ODD = [
    "",
    " ",
    "\t",
    "\n",
    "\x00",
    "\x7f",
    "<b>",
    "{x}",
    '"',
    "#",
    "#top",
    "?",
    "?#",
    "/&",
    "\u200b",
]


PLAIN_LABELS = ["example", "org", "com", "www", "amp", "news", "a-b", "1", "ml", "xn--mli-ela"]
PLAIN_SEGMENTS = ["a", "story-1", "2026", "Story.html", "x_y", "a!b=c:d,e", "~u", "A.B", "x.amp"]
# Hosts whose paths the general path rewrites: the Google AMP cache, google.com/amp/.
SPECIAL_HOSTS = ["www-news-org.cdn.ampproject.org", "google.com", "www.google.com"]


@st.composite
def urls(draw: st.DrawFn) -> str:
    """Half of them nearly plain (the fast paths' ground and its edges), half anything."""
    if draw(st.booleans()):
        return draw(nearly_plain_urls())
    scheme = draw(st.sampled_from(SCHEMES))
    sep = draw(st.sampled_from(SEPARATORS))
    extra_before = draw(st.sampled_from(["", "user@", "user:pw@"])) if draw(st.booleans()) else ""
    host = ".".join(draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=4)))
    host += draw(st.sampled_from(HOST_EXTRAS)) if draw(st.integers(0, 3)) == 0 else ""
    segments = draw(st.lists(st.sampled_from(SEGMENTS), max_size=5))
    return draw(_finish(f"{scheme}{sep}{extra_before}{host}", segments))


@st.composite
def nearly_plain_urls(draw: st.DrawFn) -> str:
    """A plain http(s) link, with now and then one odd part (a segment, a host label...)."""
    scheme = draw(st.sampled_from(["http", "https"]))
    labels = draw(st.lists(st.sampled_from(PLAIN_LABELS), min_size=2, max_size=4))
    if draw(st.integers(0, 5)) == 0:
        labels[draw(st.integers(0, len(labels) - 1))] = draw(st.sampled_from(LABELS))
    host = ".".join(labels)
    amp_cache = draw(st.integers(0, 5)) == 0
    if amp_cache:
        host = draw(st.sampled_from(SPECIAL_HOSTS))
    if draw(st.integers(0, 7)) == 0:
        host += draw(st.sampled_from(HOST_EXTRAS))
    segments = draw(st.lists(st.sampled_from(PLAIN_SEGMENTS), max_size=5))
    if segments and draw(st.integers(0, 2)) == 0:
        segments[draw(st.integers(0, len(segments) - 1))] = draw(st.sampled_from(SEGMENTS))
    if amp_cache and draw(st.booleans()):
        segments = ["c", "s", "news.org", *segments]
    return draw(_finish(f"{scheme}://{host}", segments))


@st.composite
def _finish(draw: st.DrawFn, start: str, segments: list[str]) -> str:
    path = "".join("/" + seg for seg in segments)
    if draw(st.booleans()):
        path += "/"
    url = start + path
    if draw(st.booleans()):
        url += "?" + "&".join(draw(st.lists(st.sampled_from(QUERY_PARTS), max_size=4)))
    if draw(st.integers(0, 3)) == 0:
        url += "#" + draw(st.sampled_from(["", "top", "a=b", "utm_source=x"]))
    if draw(st.integers(0, 4)) == 0:  # an odd character somewhere
        at = draw(st.integers(0, len(url)))
        url = url[:at] + draw(st.sampled_from(ODD)) + url[at:]
    if draw(st.integers(0, 20)) == 0:
        url += "/" + "a" * draw(st.integers(500, 5000))
    return draw(st.sampled_from(["", " ", "\n"])) + url + draw(st.sampled_from(["", " ", "\t"]))


BASES = [
    "",
    "https://example.org/feed",
    "http://127.0.0.1:8080/feeds/1.xml",
    "http://[::1/feed",  # urljoin cannot read this base: every link of it is refused
    "https://www.example.org/a/b/",
]


@settings(max_examples=3000)
@given(urls(), st.sampled_from(BASES))
def test_safe_link_fast_path_equals_the_general_path(url: str, base: str) -> None:
    stripped = url.strip()
    expected = _safe_link_general(stripped, base) if stripped else None
    assert _safe_link(url, base) == expected


@settings(max_examples=3000)
@given(urls())
def test_canonical_url_fast_path_equals_the_general_path(url: str) -> None:
    assert canonical_url(url) == _canonical_url_general(url)


@given(st.text())
def test_any_text_is_canonicalised_as_before(text: str) -> None:
    assert canonical_url(text) == _canonical_url_general(text)
    assert _safe_link(text, BASES[1]) == (
        _safe_link_general(text.strip(), BASES[1]) if text.strip() else None
    )


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://www.example.org/2026/story-1/", "example.org/2026/story-1"),
        ("http://amp.example.org/a?utm_source=rss&b=2&a=1", "example.org/a?a=1&b=2"),
        ("https://example.org/", "example.org"),
        ("https://example.org?", "example.org"),
        ("https://example.org/a?utm_medium=x", "example.org/a"),
        # the general path's rewrites, which the fast path must leave to it
        ("https://www-news-org.cdn.ampproject.org/c/s/news.org/a", "news.org/a"),
        ("https://www.google.com/amp/s/example.org/a", "example.org/a"),
        ("https://xn--mli-ela.example.org/a/./b", "máli.example.org/a/b"),
        ("https://example.org//a/", "example.org/a"),
        ("https://example.org/a/amp/", "example.org/a"),
        ("https://example.org/a/story.amp.html", "example.org/a/story.html"),
        ("https://example.org/a/../b", "example.org/b"),
    ],
)
def test_plain_links_take_the_fast_path_and_keep_their_meaning(link: str, expected: str) -> None:
    assert canonical_url(link) == expected == _canonical_url_general(link)


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "http://user:pw@example.org/a",
        "http://example.org:99999/a",
        "http://[::1/a",
        "https://℀.com/",
        "https://bamakó.ml/a",  # an IDN host, not in its punycode form
        "https://xn--bamak-4ta.ml/a",
        "http://exa\x00mple.org/a",
        "http:///example.org/a",
        "https://example.org/" + "a" * 100_000,
    ],
)
def test_hostile_links_are_handled_as_before(raw: str) -> None:
    base = "https://example.org/feed"
    assert _safe_link(raw, base) == _safe_link_general(raw.strip(), base)
    assert canonical_url(raw) == _canonical_url_general(raw)


def _links_of(body: bytes, url: str) -> list[str]:
    parsed = parse_feed(body, url)
    return [v for item in parsed.items for v in (item.link, item.guid) if v]


def test_benchmark_feed_links_are_identical() -> None:
    feeds = FeedSet(10, 20, seed=5)
    for number in range(10):
        for link in _links_of(feeds.body(number), f"http://127.0.0.1:1/feeds/{number}.xml"):
            assert canonical_url(link) == _canonical_url_general(link)


@pytest.mark.skipif(not corpus_files(), reason="../shared/feeds is absent")
def test_real_world_corpus_links_are_identical() -> None:
    """Every raw link and GUID of the corpus, as feedparser reads them, through both paths."""
    import feedparser

    checked = 0
    for path in corpus_files():
        parsed = feedparser.parse(path.read_bytes(), sanitize_html=False)
        base = "https://example.org/feeds/" + path.name
        for entry in parsed.get("entries") or []:
            for raw in (entry.get("link"), entry.get("id")):
                if not isinstance(raw, str) or not raw.strip():
                    continue
                stripped = raw.strip()
                for b in (base, ""):
                    assert _safe_link(raw, b) == _safe_link_general(stripped, b), raw
                assert canonical_url(raw) == _canonical_url_general(raw), raw
                checked += 1
    assert checked > 1000
