"""The fast RSS/Atom path gives exactly feedparser's items, or steps aside (differential tests)."""

from __future__ import annotations

from unittest import mock

import pytest

import bot.feeds.parser as parser_module
from bench.feedgen import FeedSet
from bot.feeds.fast_feed import fast_parse
from tests.conftest import corpus_files

URL = "https://example.org/feed"
NS = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ' xmlns:media="http://search.yahoo.com/mrss/"'
)


def rss(items: str, channel: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" {NS}><channel>'
        f"<title> Wire &amp;amp; co </title>{channel}{items}</channel></rss>"
    ).encode()


def atom(entries: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f'<title type="html">A &lt;b&gt;x&lt;/b&gt;</title>{entries}</feed>'
    ).encode()


ACCEPTED = {
    "entities and CDATA": rss(
        "<item><title>AT&amp;amp;T &lt;b&gt;bold&lt;/b&gt;</title><link> http://e.org/a </link>"
        "<description><![CDATA[<p>Hi &amp; bye &nbsp; <i>x</i></p>]]></description>"
        "<pubDate>Mon, 02 Jan 2026 10:00:00 +0100</pubDate></item>"
    ),
    "permalink guid is the link": rss("<item><title>x</title><guid>http://e.org/g1</guid></item>"),
    "opaque guid": rss("<item><title>x</title><guid isPermaLink='false'>g1</guid></item>"),
    "relative guid": rss("<item><title>x</title><guid>relative/g1</guid></item>"),
    "relative link": rss("<item><title>x</title><link>/rel/path</link><guid>g</guid></item>"),
    "content:encoded": rss(
        "<item><title>x</title><description>d</description>"
        "<content:encoded><![CDATA[<p>c</p>]]></content:encoded></item>"
    ),
    "spaces, bad date": rss(
        "<item><title>  spaced\n title  </title><pubDate>garbage</pubDate>"
        "<dc:creator>me</dc:creator></item>"
    ),
    "empty fields": rss("<item><title></title><description></description></item>"),
    "ISO date, unsafe link": rss(
        "<item><title>x</title><pubDate>2026-01-02T10:00:00Z</pubDate>"
        "<link>javascript:alert(1)</link></item>"
    ),
    "non-ASCII, ttl": rss(
        "<item><title>Ünïcödé — “q” &#233;</title><link>http://e.org/é</link></item>",
        "<ttl> 15 </ttl><image><title>img</title><url>http://x</url></image>",
    ),
    "atom html": atom(
        "<entry><title>t &amp;amp; u</title><id> urn:x </id><link href='http://e.org/1'/>"
        "<link rel='enclosure' href='http://e.org/e.mp3'/><updated>2026-01-02T10:00:00Z</updated>"
        "<summary type='html'>&lt;p&gt;s &amp;amp; t&lt;/p&gt;</summary></entry>"
    ),
    "cp1252 references, &amp;amp; and http:/// in links, permalink spellings": rss(
        "<item><title>Mali&#146;s junta &#150; Bamako</title>"
        "<link>http:///e.org/a?x=1&amp;amp;y=2</link><guid isPermalink='false'>g</guid></item>"
        "<item><title>x</title><guid isPermaLink='True'>http:///e.org/g</guid></item>"
        "<item><title>Bamako hears &lt;i&gt;case</title><guid>http:///e.org/h</guid></item>"
    ),
    "atom text, content": atom(
        "<entry><title type='text'>plain &lt;tag&gt;</title><id>x</id><link href='/rel'/>"
        "<published>2026-01-02T10:00:00+02:00</published><updated>2026-01-03T10:00:00Z</updated>"
        "<content type='html'>&lt;b&gt;c&lt;/b&gt;</content><summary>s</summary></entry>"
    ),
}
DECLINED = {
    "media:title": rss("<item><title>x</title><media:title>y</media:title></item>"),
    "latin-1": b'<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"></rss>',
    "doctype": b'<?xml version="1.0"?><!DOCTYPE rss><rss version="2.0"><channel/></rss>',
    "undeclared entity": rss("<item><title>a&nbsp;b</title></item>"),
    "xml:base": rss("<item xml:base='http://b/'><title>x</title></item>"),
    "markup in title": rss("<item><title>a <b>b</b></title></item>"),
    "content only": rss("<item><title>x</title><content:encoded>c</content:encoded></item>"),
    "atom xhtml": atom("<entry><title type='xhtml'><div>x</div></title><id>x</id></entry>"),
    "atom no alternate": atom(
        "<entry><title>t</title><id>x</id><link rel='self' href='http://e.org/s'/></entry>"
    ),
    "rss 1.0": b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf'
    b'-syntax-ns#" xmlns="http://purl.org/rss/1.0/"></rdf:RDF>',
    "not xml": b"<html><body>hi</body></html>",
    # Issue 12: what feedparser reads differently, so the fast path must not take.
    "base64 mode": atom(
        "<entry><title type='text/plain' mode='base64'>TWFsaQ==</title><id>x</id>"
        "<link href='http://e.org/1'/></entry>"
    ),
    "double-encoded UTF-8": rss("<item><title>Mali \u00c3\u00a9lections</title></item>"),
    "atom link without href": atom(
        "<entry><title>t</title><id>x</id><link>http://e.org/1</link></entry>"
    ),
    "atom link url=": atom("<entry><title>t</title><id>x</id><link url='http://e.org/1'/></entry>"),
    "item outside channel": b'<rss version="2.0"><channel><title>c</title></channel>'
    b"<item><title>x</title></item></rss>",
    "item in atom": atom("<item><title>x</title></item>"),
    "upper-case Item": rss("<Item><title>x</title></Item>"),
    "item nested in image": rss("", "<image><item><title>x</title></item></image>"),
    "title inside author": rss("<item><title>x</title><author><title>y</title></author></item>"),
    "two spellings of isPermaLink": rss(
        "<item><title>x</title><guid isPermaLink='false' ispermalink='true'>g</guid></item>"
    ),
}


def both(body: bytes, content_type: str | None = None) -> tuple[object, object]:
    with mock.patch.object(parser_module, "fast_parse", lambda b, c: None):
        reference = parser_module.parse_feed(body, URL, content_type)
    return reference, parser_module.parse_feed(body, URL, content_type)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_documents_parse_exactly_like_feedparser(name: str) -> None:
    body = ACCEPTED[name]
    assert fast_parse(body) is not None, "the fast path should take this document"
    reference, fast = both(body)
    assert fast == reference


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_other_documents_are_left_to_feedparser(name: str) -> None:
    assert fast_parse(DECLINED[name]) is None


def test_text_star_without_a_charset_is_ascii_to_feedparser() -> None:
    ascii_only = ACCEPTED["opaque guid"]
    assert fast_parse(ascii_only, "text/xml") is not None
    assert fast_parse(ACCEPTED["non-ASCII, ttl"], "text/xml") is None
    assert fast_parse(ACCEPTED["non-ASCII, ttl"], "text/xml; charset=utf-8") is not None


def test_a_non_utf8_charset_header_is_left_to_feedparser() -> None:
    body = ACCEPTED["opaque guid"]
    assert fast_parse(body, "application/rss+xml; charset=windows-1252") is None
    assert fast_parse(body, "application/rss+xml; charset=UTF-8") is not None


def test_benchmark_feeds_take_the_fast_path_with_identical_items() -> None:
    feeds = FeedSet(5, 20, seed=3, base=1_790_000_000.0)
    for number in range(5):  # RSS and Atom
        body = feeds.body(number)
        assert fast_parse(body) is not None
        reference, fast = both(body, "application/rss+xml; charset=utf-8")
        assert fast == reference


@pytest.mark.skipif(not corpus_files(), reason="../shared/feeds is absent")
@pytest.mark.slow
def test_real_world_corpus_parses_identically_whichever_path_is_taken() -> None:
    taken = 0
    for path in corpus_files():
        body = path.read_bytes()
        taken += fast_parse(body) is not None
        reference, fast = both(body)
        assert fast == reference, path.name
    assert taken >= 10, "the fast path should cover a good share of real feeds"
