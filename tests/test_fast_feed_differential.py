"""Differential property test: the fast path gives feedparser's Items exactly, or declines.

Hypothesis writes RSS 2.0 and Atom documents out of the parts that have made the two paths
disagree: entities and character references (cp1252's &#146;), double-encoded UTF-8,
markup-looking titles, isPermaLink in every spelling, links with &amp;amp;, http:///host,
bad IPv6 hosts, Atom links without href, base64 mode, items outside <channel>, <item> in
Atom, unknown and upper-case elements, and other encodings.
"""

from __future__ import annotations

import base64
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bot.feeds.parser as parser_module
from bot.feeds.fast_feed import fast_parse

URL = "https://example.org/feed"
NS = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ' xmlns:media="http://search.yahoo.com/mrss/"'
)
TEXT_PARTS = [
    "Mali",
    " junta ",
    "Bamako",
    "&amp;",
    "&amp;amp;",
    "&lt;i&gt;",
    "&lt;/i&gt;",
    "&lt;b&gt;x&lt;/b&gt;",
    "&amp;lt;b&amp;gt;",
    "&#146;",
    "&#150;",
    "&#138;",
    "&#x92;",
    "&#233;",
    "é",
    "Ã©",  # UTF-8 read as Latin-1: feedparser "repairs" it
    "â€™",
    "’",
    "–",
    "&quot;",
    "&amp;nbsp;",
    "&amp;foo;",
    "<![CDATA[<p>a</p>]]>",
    "<![CDATA[ x < y ]]>",
    "  \n ",
    "&gt;",
    "Š",
]
LINKS = [
    "http://e.org/a",
    "https://e.org/a?x=1&amp;y=2",
    "https://e.org/a?x=1&amp;amp;y=2",
    "https://e.org/a?x=1&amp;y;=2",
    "http:///host/path",
    "https:////host/p",
    "http://[::1/a",
    "http://[zz]/",
    "//[x",
    "https://\u2100.com/",
    "/relative/path",
    "relative",
    "",
    "  http://e.org/spaced  ",
    "javascript:alert(1)",
    "http://e.org/&#146;",
    "http://e.org/Ã©",
]
GUID_ATTRS = [
    "",
    ' isPermaLink="false"',
    ' isPermaLink="true"',
    ' isPermaLink="True"',
    ' isPermaLink="FALSE"',
    ' isPermalink="false"',
    ' ispermalink="false"',
    ' ISPERMALINK="false"',
    ' isPermaLink="false" ispermalink="true"',
]
GUIDS = ["http://e.org/g1", "g-1", "http:///host/g", "urn:x:1", "http://[::1/g", ""]
DATES = ["Mon, 02 Jan 2026 10:00:00 +0100", "2026-01-02T10:00:00Z", "garbage", ""]

text = st.lists(st.sampled_from(TEXT_PARTS), max_size=5).map("".join)


@st.composite
def rss_item(draw: Any) -> str:
    parts = []
    if draw(st.booleans()):
        parts.append(f"<title>{draw(text)}</title>")
    if draw(st.booleans()):
        parts.append(f"<link>{draw(st.sampled_from(LINKS))}</link>")
    if draw(st.booleans()):
        parts.append(
            f"<guid{draw(st.sampled_from(GUID_ATTRS))}>{draw(st.sampled_from(GUIDS))}</guid>"
        )
    if draw(st.booleans()):
        parts.append(f"<description>{draw(text)}</description>")
    if draw(st.integers(0, 3)) == 0:
        parts.append(f"<content:encoded>{draw(text)}</content:encoded>")
    if draw(st.booleans()):
        parts.append(f"<pubDate>{draw(st.sampled_from(DATES))}</pubDate>")
    extra = draw(
        st.sampled_from(
            [
                "",
                "",
                "",
                "<category>c</category>",
                "<media:title>m</media:title>",
                "<Title>T</Title>",
                "<title>second</title>",
                "<dc:creator>me</dc:creator>",
                "<author><title>inner</title></author>",
                '<title mode="base64">TWFsaQ==</title>',
            ]
        )
    )
    parts.append(extra)
    order = draw(st.permutations(parts))
    return "<item>" + "".join(order) + "</item>"


@st.composite
def rss_document(draw: Any) -> tuple[bytes, str | None]:
    items = draw(st.lists(rss_item(), min_size=1, max_size=3))
    layout = draw(st.sampled_from(["channel", "channel", "channel", "outside", "both", "Item"]))
    title = f"<title>{draw(text)}</title>"
    if layout == "channel":
        body = f"<channel>{title}{''.join(items)}</channel>"
    elif layout == "outside":
        body = f"<channel>{title}</channel>{''.join(items)}"
    elif layout == "both":
        body = f"<channel>{title}{items[0]}</channel>{''.join(items[1:])}"
    else:
        body = f"<channel>{title}{''.join(items).replace('item>', 'Item>')}</channel>"
    return _encode(draw, f'<rss version="2.0" {NS}>{body}</rss>')


ATOM_TYPES = ["", ' type="text"', ' type="html"', ' type="TEXT"', ' type="xhtml"']


@st.composite
def atom_text(draw: Any, name: str) -> str:
    kind = draw(st.sampled_from([*ATOM_TYPES, "", ' type="text"', ' type="html"', "base64"]))
    if kind == "base64":
        value = base64.b64encode(b"Mali&#146;s <b>junta</b>").decode()
        return f'<{name} type="text/plain" mode="base64">{value}</{name}>'
    if kind == ' type="xhtml"':
        return f'<{name} type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></{name}>'
    return f"<{name}{kind}>{draw(text)}</{name}>"


@st.composite
def atom_entry(draw: Any) -> str:
    parts = [draw(atom_text("title"))]
    if draw(st.booleans()):
        parts.append(f"<id>{draw(st.sampled_from(GUIDS))}</id>")
    for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2]))):
        rel = draw(st.sampled_from(["", "", ' rel="alternate"', ' rel="ALTERNATE"', ' rel="self"']))
        kind = draw(st.sampled_from(["", ' type="text/html"', ' type="HTML"', ' type="x/y"']))
        href = draw(st.sampled_from([*LINKS, *LINKS, None]))
        if href is None:
            parts.append(f"<link{rel}{kind}>http://e.org/text-link</link>")
        else:
            parts.append(f'<link{rel}{kind} href="{href}"/>')
    if draw(st.booleans()):
        parts.append(draw(atom_text("summary")))
    if draw(st.integers(0, 3)) == 0:
        parts.append(draw(atom_text("content")))
    if draw(st.booleans()):
        parts.append(f"<updated>{draw(st.sampled_from(DATES))}</updated>")
    return "<entry>" + "".join(draw(st.permutations(parts))) + "</entry>"


@st.composite
def atom_document(draw: Any) -> tuple[bytes, str | None]:
    entries = "".join(draw(st.lists(atom_entry(), min_size=1, max_size=3)))
    if draw(st.integers(0, 9)) == 0:
        entries += "<item><title>in Atom</title><link>http://e.org/i</link></item>"
    title = draw(atom_text("title"))
    return _encode(draw, f'<feed xmlns="http://www.w3.org/2005/Atom">{title}{entries}</feed>')


def _encode(draw: Any, document: str) -> tuple[bytes, str | None]:
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "none", "iso-8859-1", "windows-1252"]))
    header = draw(
        st.sampled_from([None, "application/rss+xml; charset=utf-8", "text/xml", "application/xml"])
    )
    if encoding == "none":
        return document.encode("utf-8"), header
    declared = f'<?xml version="1.0" encoding="{encoding}"?>' + document
    return declared.encode(encoding, errors="xmlcharrefreplace"), header


def _reference(body: bytes, content_type: str | None) -> Any:
    with mock.patch.object(parser_module, "fast_parse", lambda b, c: None):
        return parser_module.parse_feed(body, URL, content_type)


def _same(body: bytes, content_type: str | None) -> bool:
    taken = fast_parse(body, content_type) is not None
    fast = parser_module.parse_feed(body, URL, content_type)
    reference = _reference(body, content_type)
    assert (fast.items, fast.title, fast.ttl_minutes, fast.error) == (
        reference.items,
        reference.title,
        reference.ttl_minutes,
        reference.error,
    ), body
    return taken


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(rss_document())
def test_rss_fast_path_gives_feedparsers_items_or_declines(doc: tuple[bytes, str | None]) -> None:
    _same(*doc)


@PROPERTY
@given(atom_document())
def test_atom_fast_path_gives_feedparsers_items_or_declines(doc: tuple[bytes, str | None]) -> None:
    _same(*doc)


def test_the_generated_documents_exercise_the_fast_path() -> None:
    """Documents of the generators' plain kind are taken, so the property is not vacuous."""
    rss_doc = (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {NS}><channel>'
        "<title>Mali&#146;s wire</title><item><title>Bamako court hears &lt;i&gt;case</title>"
        '<link>https://e.org/a?x=1&amp;amp;y=2</link><guid isPermalink="false">g</guid>'
        "<description>&lt;p&gt;x&lt;/p&gt;</description></item></channel></rss>"
    ).encode()
    atom_doc = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title type="text">&lt;b&gt;T</title>'
        b'<entry><title type="text">a &amp;amp; b</title><id>http:///host/1</id>'
        b'<link href="http://e.org/1"/><summary>s &lt;i&gt;</summary></entry></feed>'
    )
    assert _same(rss_doc, None)
    assert _same(atom_doc, "application/atom+xml")
