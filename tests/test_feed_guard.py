"""DTD internal subsets and entity declarations never reach a parser, wherever they sit."""

from __future__ import annotations

import pytest

from bench.hostile_feeds import billion_laughs
from bot.feeds.fast_feed import fast_parse
from bot.feeds.feed_guard import strip_declarations
from bot.feeds.parser import parse_feed

URL = "https://feeds.example.org/a.xml"
LAUGHS = (
    '<!DOCTYPE rss [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)


def doc(prolog: str, title: str = "&lol3;") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}<rss version="2.0"><channel>'
        f"<title>F</title><item><title>{title}</title><guid>g</guid>"
        "<description>Mali</description></item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<rss/>", b"<rss/>"),
        (
            b'<!DOCTYPE rss PUBLIC "-//Netscape" "x"><rss/>',
            b'<!DOCTYPE rss PUBLIC "-//Netscape" "x"><rss/>',
        ),
        (b'<!DOCTYPE rss [<!ENTITY a "b">]><rss/>', b"<!DOCTYPE rss ><rss/>"),
        (b'<!doctype rss [ <!entity a "]>"> ]><rss/>', b'<!doctype rss >"> ]><rss/>'),
        (b'<rss><!ENTITY a "x>y">&a;</rss>', b"<rss>&a;</rss>"),
        (b"<rss><!ENTITY a 'q'><!ENTITY b \"r\"></rss>", b"<rss></rss>"),
        (b'<rss/><!ENTITY a "unterminated', b"<rss/>"),
        (b"<!DOCTYPE rss [ <!ENTITY a 'b'> <rss/>", b"<!DOCTYPE rss >"),
    ],
)
def test_declarations_are_removed(body: bytes, expected: bytes) -> None:
    assert strip_declarations(body) == expected


def test_utf16_bodies_are_cleaned_in_their_encoding() -> None:
    body = doc(LAUGHS).decode().replace("utf-8", "utf-16").encode("utf-16")
    cleaned = strip_declarations(body)
    assert cleaned.startswith(b"\xff\xfe") or cleaned.startswith(b"\xfe\xff")
    assert "<!ENTITY" not in cleaned.decode("utf-16")
    parsed = parse_feed(body, URL)
    assert all("lollol" not in i.title for i in parsed.items)


@pytest.mark.parametrize("padding", [0, 4096, 3 * 1024 * 1024])
def test_an_entity_bomb_is_never_expanded_wherever_it_sits(padding: int) -> None:
    body = doc(f"<!--{'x' * padding}-->{LAUGHS}")
    parsed = parse_feed(body, URL)
    assert parsed.error is None or parsed.items == []
    for item in parsed.items:
        assert "lol" not in item.title.replace("&lol3;", ""), "no entity was expanded"
    assert fast_parse(strip_declarations(body)) is None, "a DOCTYPE is feedparser's to read"


def test_billion_laughs_behind_a_long_comment_yields_a_short_title() -> None:
    parsed = parse_feed(billion_laughs(3 * 1024 * 1024), URL)
    assert [len(i.title) < 100 for i in parsed.items] == [True]


def test_an_entity_declared_in_the_body_is_not_honoured() -> None:
    body = doc("", "Mali").replace(b"<channel>", b'<channel><!ENTITY x "boom">')
    parsed = parse_feed(body, URL)
    assert [i.title for i in parsed.items] == ["Mali"]
