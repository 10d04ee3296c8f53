"""Parsing fetched bytes into plain-text items, and clear errors for what is not a feed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.feeds.parser import parse_feed
from tests.fakes.feed_server import rss

URL = "https://feeds.example.org/africa.xml"


def test_rss_items_are_plain_text_with_dates() -> None:
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


def test_atom_relative_link_and_missing_date() -> None:
    body = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
    <entry><title>Kidal</title><id>urn:1</id><link href="/news/kidal"/></entry></feed>"""
    [item] = parse_feed(body, URL).items
    assert item.link == "https://feeds.example.org/news/kidal"
    assert item.published is None


def test_escaped_markup_in_a_title_stays_text() -> None:
    body = rss([{"title": "#include &lt;/etc/shadow&gt;", "guid": "1"}]).encode()
    [item] = parse_feed(body, URL).items
    assert item.title == "#include </etc/shadow>"


def test_non_http_links_are_dropped() -> None:
    body = rss([{"title": "x", "link": "javascript:alert(1)", "guid": "1"}]).encode()
    [item] = parse_feed(body, URL).items
    assert item.link is None


def test_google_news_titles_lose_outlet_suffix() -> None:
    url = "https://news.google.com/rss/search?q=Mali&hl=fr&gl=FR&ceid=FR:fr"
    body = rss(
        [{"title": "Attaque près de Kati - RFI", "link": "https://news.google.com/x", "guid": "g1"}]
    ).encode()
    [item] = parse_feed(body, url).items
    assert item.title == "Attaque près de Kati"
    assert item.source == "RFI"


@pytest.mark.parametrize(
    ("body", "fragment", "kind"),
    [
        (b"", "empty body", "empty"),
        (b"   \n", "empty body", "empty"),
        (b"<!DOCTYPE html><html><body>Login</body></html>", "HTML page", "not_a_feed"),
        (b'{"version": "https://jsonfeed.org/version/1"}', "JSON", "not_a_feed"),
        (b"<rss><channel><item><title>broken", "malformed feed", "malformed"),
        (b"\x00\x01\x02 binary junk", "not a valid RSS/Atom feed", "not_a_feed"),
    ],
)
def test_what_is_not_a_feed_gets_a_clear_error(body: bytes, fragment: str, kind: str) -> None:
    parsed = parse_feed(body, URL)
    assert parsed.items == []
    assert parsed.error is not None and fragment in str(parsed.error)
    assert parsed.error.kind == kind


def test_recoverable_malformation_is_a_warning_not_an_error() -> None:
    body = rss([{"title": "Gao", "guid": "1"}]).encode().replace(b"</channel></rss>", b"</channel>")
    parsed = parse_feed(body, URL)
    assert parsed.error is None
    assert [i.title for i in parsed.items] == ["Gao"]


BAD_LINKS = ["http://[::1/a", "http://[zz]/", "//[x", "https://\u2100.com/", "http://h:99999/"]


@pytest.mark.parametrize("bad", BAD_LINKS)
def test_a_bad_link_costs_only_that_link(bad: str) -> None:
    body = rss(
        [
            {"title": "Bamako: first", "link": bad, "guid": "opaque-1", "description": "one"},
            {"title": "Gao: second", "link": "https://e.org/2", "guid": "g2"},
            {"title": "Kidal: third", "link": bad, "guid": "https://e.org/guid-3"},
        ]
    ).encode()
    parsed = parse_feed(body, URL)
    assert parsed.error is None
    assert [(i.title, i.summary, i.link) for i in parsed.items] == [
        ("Bamako: first", "one", None),
        ("Gao: second", "", "https://e.org/2"),
        ("Kidal: third", "", "https://e.org/guid-3"),  # the GUID is a URL: it stands in
    ]


def test_a_bad_link_in_a_json_feed_costs_only_that_link() -> None:
    import json

    from bot.feeds.json_feed import parse_any

    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "J",
            "items": [
                {"id": "1", "url": "http://[::1/a", "title": "Mali a"},
                {"id": "2", "url": "https://e.org/2", "title": "Mali b"},
            ],
        }
    ).encode()
    parsed = parse_any(body, "https://e.org/feed.json")
    assert [(i.title, i.link) for i in parsed.items] == [
        ("Mali a", None),
        ("Mali b", "https://e.org/2"),
    ]


@pytest.mark.parametrize(
    ("title_xml", "title"),
    [
        # RSS titles are text unless they look like HTML (feedparser's rule).
        ("Bamako court hears &lt;i&gt;unbalanced case", "Bamako court hears <i>unbalanced case"),
        ("Mali &lt;b&gt;junta&lt;/b&gt;", "Mali junta"),  # a close tag: HTML, stripped
        ("AT&amp;amp;T in Mali", "AT&T in Mali"),  # an entity: HTML, unescaped once
        ("&amp;lt;b&amp;gt;x&amp;lt;/b&amp;gt;", "<b>x</b>"),  # double-escaped: once, as text
        ("Mali&#146;s junta &#150; Bamako", "Mali’s junta – Bamako"),  # cp1252 references
        ("10 &lt; 20", "10 < 20"),
    ],
)
def test_rss_titles_are_read_as_feedparser_types_them(title_xml: str, title: str) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F</title>'
        f"<item><title>{title_xml}</title><guid>g</guid></item></channel></rss>"
    ).encode()
    [item] = parse_feed(body, URL).items
    assert item.title == title


def test_atom_text_is_text_and_html_is_html() -> None:
    body = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
    <entry><title type="text">Goita &lt;b&gt;names&lt;/b&gt; PM</title><id>urn:1</id>
    <link href="/a"/><summary type="text">a &amp;amp; b</summary></entry>
    <entry><title type="html">Goita &lt;b&gt;names&lt;/b&gt; PM</title><id>urn:2</id>
    <link href="/b"/><summary type="html">a &amp;amp; b</summary></entry></feed>"""
    text, markup = parse_feed(body, URL).items
    assert (text.title, text.summary) == ("Goita <b>names</b> PM", "a &amp; b")
    assert (markup.title, markup.summary) == ("Goita names PM", "a & b")


@pytest.mark.parametrize(
    ("attribute", "is_link"),
    [
        ("", True),
        (' isPermaLink="true"', True),
        (' isPermaLink="True"', False),  # feedparser compares the value exactly
        (' isPermaLink="false"', False),
        (' isPermalink="false"', False),  # and the name in any case
        (' ISPERMALINK="false"', False),
    ],
)
def test_is_permalink_follows_feedparser(attribute: str, is_link: bool) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F</title>'
        f"<item><title>Mali</title><guid{attribute}>news/g</guid></item>"
        "</channel></rss>"
    ).encode()
    [item] = parse_feed(body, URL).items
    assert item.guid == "news/g"
    # A permalink GUID is the link (resolved against the feed); an opaque one is not.
    assert item.link == ("https://feeds.example.org/news/g" if is_link else None)


def test_a_title_of_a_megabyte_is_cut_at_a_word() -> None:
    body = rss([{"title": "Mali junta crisis " * 60_000, "guid": "1"}]).encode()
    [item] = parse_feed(body, URL).items
    assert len(item.title) <= 1000 and item.title.endswith("…")
    assert item.title[:-1].split(" ")[-1] in {"Mali", "junta", "crisis"}


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=400)
    | st.builds(
        lambda head, cut, tail: head[:cut] + tail,
        st.sampled_from(
            [
                rss([{"title": "Mali", "link": "http://[::1/a", "guid": "g"}]).encode(),
                b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "&#38;#60;">]><rss version="2.0">'
                b"<channel><item><title>&a;</title></item></channel></rss>",
                b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title type="xhtml">'
                b"<div>x</div></title><link href='//[x'/></entry></feed>",
            ]
        ),
        st.integers(0, 300),
        st.binary(max_size=40),
    )
)
def test_parse_feed_never_raises(body: bytes) -> None:
    parsed = parse_feed(body, URL)
    assert parsed.error is None or parsed.items == []
