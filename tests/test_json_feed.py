"""JSON Feed 1.0 and 1.1 read as a first-class format, beside RSS and Atom."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.feeds.json_feed import parse_any, parse_json_feed
from bot.feeds.parse_pool import parse_and_key

FEED_11 = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Sahel Microblog",
    "home_page_url": "https://micro.example/",
    "language": "fr",
    "items": [
        {
            "id": "https://micro.example/2026/11/27/jnim",
            "url": "/2026/11/27/jnim",
            "title": "Le JNIM revendique une attaque &amp; des enlèvements",
            "content_html": "<p>Des hommes armés ont attaqué un poste <b>près de Ségou</b>.</p>",
            "date_published": "2026-11-27T08:15:00+01:00",
            "authors": [{"name": "A. Traoré"}],
        },
        {
            "id": "post-2",
            "content_text": "Bamako : couvre-feu levé ce soir dans le district. Plus à venir.",
            "date_modified": "2026-11-27T09:00:00Z",
        },
        {"id": 3, "external_url": "https://elsewhere.example/a", "summary": "Un lien."},
        {"id": "empty"},
        "not an object",
    ],
}
FEED_10 = {
    "version": "https://jsonfeed.org/version/1",
    "title": "Old JSON Feed",
    "items": [{"id": "1", "url": "https://old.example/1", "title": "Hello", "content_text": "x"}],
}


def test_json_feed_11_items() -> None:
    parsed = parse_json_feed(json.dumps(FEED_11).encode(), "https://micro.example/feed.json")
    assert parsed.error is None and parsed.title == "Sahel Microblog"
    first, second, third = parsed.items
    assert first.title == "Le JNIM revendique une attaque & des enlèvements"
    assert first.link == "https://micro.example/2026/11/27/jnim"
    assert first.summary == "Des hommes armés ont attaqué un poste près de Ségou."
    assert first.published == datetime(2026, 11, 27, 7, 15, tzinfo=UTC)
    assert first.language == "fr" and first.source == "Sahel Microblog"
    assert second.title.startswith("Bamako : couvre-feu levé"), "no title: the text's first words"
    assert second.published == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert second.link is None and second.guid == "post-2"
    assert third.guid == "3" and third.link == "https://elsewhere.example/a"


def test_json_feed_10_and_the_pipeline_keys() -> None:
    parsed, keys, canonical = parse_and_key(
        json.dumps(FEED_10).encode(), "https://old.example/feed.json", "application/json"
    )
    assert [i.title for i in parsed.items] == ["Hello"]
    assert keys == ["g:old.example 1"] and canonical == ["old.example/1"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "without an 'items' list"),
        (b'{"items": []}', "JSON without a JSON Feed version"),
        (b"[1, 2]", "JSON without a JSON Feed version"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": [', "could not be parsed"),
    ],
)
def test_bad_json_gets_a_clear_error(body: bytes, error: str) -> None:
    parsed = parse_any(body, "https://x.example/feed.json")
    assert parsed.error is not None and error in str(parsed.error)


def test_xml_still_goes_to_feedparser() -> None:
    rss = (
        b"<rss version='2.0'><channel><title>T</title><item><title>A</title></item></channel></rss>"
    )
    assert [i.title for i in parse_any(rss, "https://x.example/rss").items] == ["A"]
