"""Parsing fetched bytes into plain-text items, and clear errors for what is not a feed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.parser import parse_feed
from tests.fakes.feed_server import rss

URL = "https://feeds.example.org/africa.xml"


def test_rss_items_are_plain_text_with_dates():
    body = rss(
        [
            {
                "title": "Mali &amp; Russia: Lavrov in Bamako",
                "link": "https://example.org/a?utm_source=x",
                "guid": "abc-1",
                "description": "<p>Talks on <b>security</b>&nbsp;&ldquo;cooperation&rdquo;</p>",
                "pubDate": "Tue, 07 Feb 2023 10:30:00 GMT",
            }
        ],
        title="Africa desk",
        ttl=30,
    ).encode()
    parsed = parse_feed(body, URL)
    assert parsed.error is None
    assert parsed.title == "Africa desk"
    assert parsed.ttl_minutes == 30
    [item] = parsed.items
    assert item.title == "Mali & Russia: Lavrov in Bamako"
    assert item.summary == "Talks on security \u201ccooperation\u201d"
    assert item.guid == "abc-1"
    assert item.source == "Africa desk"
    assert item.published == datetime(2023, 2, 7, 10, 30, tzinfo=UTC)


def test_atom_relative_link_and_missing_date():
    body = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
    <entry><title>Kidal</title><id>urn:1</id><link href="/news/kidal"/></entry></feed>"""
    [item] = parse_feed(body, URL).items
    assert item.link == "https://feeds.example.org/news/kidal"
    assert item.published is None


def test_escaped_markup_in_a_title_stays_text():
    body = rss([{"title": "#include &lt;/etc/shadow&gt;", "guid": "1"}]).encode()
    [item] = parse_feed(body, URL).items
    assert item.title == "#include </etc/shadow>"


def test_non_http_links_are_dropped():
    body = rss([{"title": "x", "link": "javascript:alert(1)", "guid": "1"}]).encode()
    [item] = parse_feed(body, URL).items
    assert item.link is None


def test_google_news_titles_lose_outlet_suffix():
    url = "https://news.google.com/rss/search?q=Mali&hl=fr&gl=FR&ceid=FR:fr"
    body = rss(
        [{"title": "Attaque près de Kati - RFI", "link": "https://news.google.com/x", "guid": "g1"}]
    ).encode()
    [item] = parse_feed(body, url).items
    assert item.title == "Attaque près de Kati"
    assert item.source == "RFI"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty body"),
        (b"   \n", "empty body"),
        (b"<!DOCTYPE html><html><body>Login</body></html>", "HTML page"),
        (b'{"version": "https://jsonfeed.org/version/1"}', "JSON"),
        (b"<rss><channel><item><title>broken", "malformed feed"),
        (b"\x00\x01\x02 binary junk", "not a valid RSS/Atom feed"),
    ],
)
def test_what_is_not_a_feed_gets_a_clear_error(body: bytes, fragment: str):
    parsed = parse_feed(body, URL)
    assert parsed.items == []
    assert parsed.error is not None and fragment in parsed.error


def test_recoverable_malformation_is_a_warning_not_an_error():
    body = rss([{"title": "Gao", "guid": "1"}]).encode().replace(b"</channel></rss>", b"</channel>")
    parsed = parse_feed(body, URL)
    assert parsed.error is None
    assert [i.title for i in parsed.items] == ["Gao"]
