"""Feed lists: text files and OPML in, OPML out; only http(s) feeds are accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.models import FeedSpec
from bot.core.urls import check_feed_url
from bot.feeds.feed_list import load_feed_list, to_opml


def test_text_list_with_comments_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "feeds.txt"
    path.write_text(
        "# my feeds\nhttps://a.example/rss\n\nhttps://b.example/feed # note\n"
        "https://a.example/rss\nfile:///etc/passwd\n"
    )
    specs, problems = load_feed_list(path)
    assert [s.url for s in specs] == ["https://a.example/rss", "https://b.example/feed"]
    assert [str(p) for p in problems] == [f"{path}:6: only http(s) feeds are allowed, not 'file'"]


def test_opml_round_trip(tmp_path: Path) -> None:
    feeds = [
        FeedSpec(url="https://www.rfi.fr/fr/afrique/rss", title="RFI Afrique"),
        FeedSpec(url="https://example.org/feed?a=1&b=2", title='Quotes "and" <brackets>'),
    ]
    path = tmp_path / "feeds.opml"
    path.write_text(to_opml(feeds))
    loaded, problems = load_feed_list(path)
    assert problems == []
    assert [(f.url, f.title) for f in loaded] == [(f.url, f.title) for f in feeds]


def test_broken_opml_reports_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.opml"
    path.write_text('<?xml version="1.0"?>\n<opml><body>\n<outline xmlUrl="x"\n</body></opml>')
    specs, problems = load_feed_list(path)
    assert specs == []
    assert problems and str(problems[0]).startswith(f"{path}:")
    assert "not well-formed" in problems[0].message


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.org/rss", True),
        ("http://127.0.0.1:8080/feed.xml", True),
        ("file:///etc/passwd", False),
        ("ftp://example.org/feed", False),
        ("javascript:alert(1)", False),
        ("/relative/path.xml", False),
        ("https:///nohost", False),
    ],
)
def test_only_http_feeds(url: str, ok: bool) -> None:
    assert (check_feed_url(url) is None) is ok
