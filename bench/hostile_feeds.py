"""Hostile feed bodies, each reproducing an attack that once broke or stalled the parser.

Used by tests/test_hostile_feeds.py (one `poll --once` over all of them) and by
bench/parse.py (the same run, timed and measured). Every feed but the entity bomb carries
items that name a watched entity, so their alerts show what arrived and how.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import formatdate
from xml.sax.saxutils import escape

LONG_TITLE_WORDS = 150_000  # "Tinzaouaten clashes leave dozens dead ": about 1 MB


@dataclass(frozen=True)
class HostileFeed:
    """A path on the feed server, the body served there, and its content type."""

    path: str
    body: bytes
    content_type: str = "application/rss+xml; charset=utf-8"


def _rss(items: list[str], title: str = "Hostile wire") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://example.org/</link>{''.join(items)}"
        "</channel></rss>"
    ).encode()


def _item(title_xml: str, link: str, guid: str, description_xml: str = "", at: float = 0) -> str:
    date = formatdate((at or time.time()) - 600, usegmt=True)
    return (
        f"<item><title>{title_xml}</title><link>{link}</link>"
        f'<guid isPermaLink="false">{guid}</guid><pubDate>{date}</pubDate>'
        f"<description>{description_xml}</description></item>"
    )


def billion_laughs(comment_bytes: int = 3 * 1024 * 1024) -> bytes:
    """Nine levels of ten-fold entities (10^9 "lol"s) behind a long comment."""
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?><!--'
        + "x" * comment_bytes
        + "-->"
        + f"<!DOCTYPE rss [{''.join(levels)}]>"
        + '<rss version="2.0"><channel><title>Laughs</title><item><title>&lol9;</title>'
        + "<guid>laugh-1</guid></item></channel></rss>"
    ).encode()


def hostile_feeds(now: float | None = None) -> list[HostileFeed]:
    """The feeds of issue 12's "Done when", in a fixed order."""
    at = now or time.time()
    long_title = " ".join(["Tinzaouaten clashes leave dozens dead"] * (LONG_TITLE_WORDS // 5))
    return [
        HostileFeed(
            "/bad-link.xml",
            _rss(
                [
                    _item(
                        "Boulkessi: fuel convoys attacked again",
                        "http://[::1/a",
                        "bad-1",
                        "Tanker drivers report ambushes on the main supply corridor.",
                        at=at,
                    ),
                    _item(
                        "Kidal: FLA fighters regroup after drone strikes",
                        "https://news.example.org/kidal-fla",
                        "good-1",
                        "Rebel commanders met in the Adrar des Ifoghas after air raids.",
                        at=at,
                    ),
                    _item(
                        "JNIM blockade of Nioro du Sahel enters third week",
                        "https://news.example.org/nioro-jnim",
                        "good-2",
                        "Traders say prices of millet and rice have doubled since October.",
                        at=at,
                    ),
                ],
                "Bad link wire",
            ),
        ),
        HostileFeed("/laughs.xml", billion_laughs()),
        HostileFeed(
            "/script.xml",
            _rss(
                [
                    _item(
                        "Menaka: MINUSMA base handed over",
                        "https://news.example.org/menaka",
                        "script-1",
                        escape("<script>" * 40_000),
                        at=at,
                    )
                ]
            ),
        ),
        HostileFeed(
            "/tags.xml",
            _rss(
                [
                    _item(
                        "Tessalit: Africa Corps convoy sighted",
                        "https://news.example.org/tessalit",
                        "tags-1",
                        escape(">" + "<a" * 100_000),
                        at=at,
                    )
                ]
            ),
        ),
        HostileFeed(
            "/long-title.xml",
            _rss(
                [
                    _item(
                        long_title,
                        "https://news.example.org/long",
                        "long-1",
                        "An absurdly long headline.",
                        at=at,
                    )
                ]
            ),
        ),
        HostileFeed(
            "/cp1252.xml",
            _rss(
                [
                    _item(
                        "Mali&#146;s junta extends transition &#150; Bamako reacts",
                        "https://news.example.org/transition",
                        "cp-1",
                        "Parties denounce a five-year extension voted by the council.",
                        at=at,
                    )
                ]
            ),
        ),
        HostileFeed(
            "/italic.xml",
            _rss(
                [
                    _item(
                        "Bamako court hears &lt;i&gt;unbalanced case",
                        "https://news.example.org/court",
                        "i-1",
                        "Defence lawyers walked out of the hearing on Tuesday.",
                        at=at,
                    )
                ]
            ),
        ),
        HostileFeed(
            "/atom-text.xml",
            (
                '<?xml version="1.0" encoding="utf-8"?>'
                '<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom desk</title>'
                "<entry>"
                '<title type="text">Assimi Goïta names &lt;b&gt;new&lt;/b&gt; premier</title>'
                "<id>urn:atom:1</id>"
                '<link href="https://news.example.org/premier"/>'
                f"<updated>{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(at - 600))}</updated>"
                '<summary type="text">Text, &lt;b&gt;not&lt;/b&gt; markup.</summary>'
                "</entry></feed>"
            ).encode(),
            "application/atom+xml",
        ),
    ]
