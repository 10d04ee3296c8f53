"""Benchmark: per-item cost of each source kind, from fetched bytes to keyed items.

Run from the repository root:  python -m bench.sources  [--items 50] [--repeat 7]
Per kind, one body of ``--items`` items is read as the pipeline reads it (parse, plain text,
item keys and canonical links): an RSS 2.0 feed (the baseline, in the same process), a JSON
Feed, a Telegram channel preview page (real-shaped HTML: forwards, media, Arabic), a page
without a feed read with CSS selectors (dates in French words through dateparser, and
without a date selector), and a GDELT ArtList answer. Figures are medians of ``--repeat``
runs on one core, after one warm-up run (dateparser's first call loads its locale data).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TextIO

from bot.core.models import FeedSpec, ParsedFeed
from bot.core.sources import gdelt_spec, page_spec, telegram_spec
from bot.feeds.parse_pool import parse_and_key
from bot.feeds.sources.base import key_items
from bot.feeds.sources.gdelt import parse_answer
from bot.feeds.sources.page import extract_page, page_items
from bot.feeds.sources.telegram_channel import parse_channel_page, post_item
from tests.fakes.feed_server import rfc822, rss
from tests.fakes.gdelt_api import article
from tests.fakes.tme import Channel, Post, channel_page

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre"]  # fmt: skip
HEADLINES = [
    "Mali : le JNIM revendique une attaque contre un poste de l'armée près de Ségou",
    "Niger: the junta reopens the border with Benin after months of closure",
    "هجوم مسلح على موقع للجيش قرب باماكو في مالي",
    "Burkina Faso : des déplacés regagnent Djibo après la levée du blocus",
    "Kidal: FLA fighters and the army clash north of the town",
]


def headline(i: int) -> str:
    return f"{HEADLINES[i % len(HEADLINES)]} ({i})"


def rss_body(n: int) -> bytes:
    items = [
        {
            "title": headline(i),
            "link": f"https://news.example.org/2026/11/article-{i}",
            "guid": f"https://news.example.org/2026/11/article-{i}",
            "description": f"<p>Summary of article {i}, with <b>markup</b>.</p>",
            "pubDate": rfc822((NOW - timedelta(minutes=i)).timestamp()),
        }
        for i in range(n)
    ]
    return rss(items, title="Sahel Wire").encode()


def json_feed_body(n: int) -> bytes:
    items = [
        {
            "id": f"https://micro.example/{i}",
            "url": f"https://micro.example/{i}",
            "title": headline(i),
            "content_html": f"<p>Summary of article {i}, with <b>markup</b>.</p>",
            "date_published": (NOW - timedelta(minutes=i)).isoformat(),
        }
        for i in range(n)
    ]
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Micro", "items": items}
    return json.dumps(feed, ensure_ascii=False).encode()


def telegram_body(n: int) -> bytes:
    posts = []
    for i in range(n):
        kind = i % 4
        posts.append(
            Post(
                1000 + i,
                "" if kind == 1 else f"{headline(i)}<br/>More details in the thread, 2nd line.",
                at=NOW - timedelta(minutes=n - i),
                photos=2 if kind == 1 else 0,
                forwarded_from=("Mali News", f"malinews/{i}") if kind == 2 else None,
                edited=kind == 3,
            )
        )
    return channel_page(Channel("sahelwatch", "Sahel Watch", posts), posts).encode()


def page_body(n: int) -> bytes:
    blocks = "".join(
        f"<article class='post'><h2><a href='/actu/{i}'>{headline(i)}</a></h2>"
        f"<span class='date'>{1 + i % 28} {MONTHS[i % 12]} 2026</span>"
        f"<p class='excerpt'>Résumé de l'article {i}.</p></article>"
        for i in range(n)
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Journal</title></head><body>"
        f"<nav><a href='/'>Accueil</a></nav><main>{blocks}</main></body></html>"
    ).encode()


def gdelt_body(n: int) -> bytes:
    articles = [
        article(
            f"https://www.lefaso.net/spip.php?article{i}",
            headline(i),
            at=NOW - timedelta(minutes=i),
            country="Burkina Faso",
        )
        for i in range(n)
    ]
    return json.dumps({"articles": articles}, ensure_ascii=False).encode()


def _telegram(body: bytes, spec: FeedSpec) -> int:
    page = parse_channel_page(body)
    items = [post_item(p, "Sahel Watch", spec.url) for p in page.posts]
    return len(key_items(ParsedFeed(title=page.title, items=items))[1])


def _page(body: bytes, spec: FeedSpec) -> int:
    assert spec.selectors is not None
    extract = extract_page(body, spec.target, spec.selectors, NOW, "text/html; charset=utf-8")
    items = page_items(extract, spec, NOW, first_read=False)
    return len(key_items(ParsedFeed(title=extract.title, items=items))[1])


def _gdelt(body: bytes, spec: FeedSpec) -> int:
    parsed, _ = parse_answer(body, spec)
    return len(key_items(parsed)[1])


def cases(n: int) -> list[tuple[str, Callable[[], int]]]:
    rss_bytes, json_bytes = rss_body(n), json_feed_body(n)
    tg, pg, gd = telegram_body(n), page_body(n), gdelt_body(n)
    tg_spec = telegram_spec("sahelwatch", "bench")
    dated = page_spec(
        "https://journal.example/actu/",
        {"item": "article.post", "title": "h2", "link": "h2 a", "date": ".date",
         "summary": ".excerpt"},
        "bench",
    )  # fmt: skip
    undated = page_spec(
        "https://journal.example/actu/",
        {"item": "article.post", "title": "h2", "link": "h2 a", "summary": ".excerpt"},
        "bench",
    )
    gd_spec = gdelt_spec('"JNIM" OR "GSIM"', "bench")
    return [
        ("rss (baseline)", lambda: len(parse_and_key(rss_bytes, "https://x.example/rss", None)[1])),
        ("json feed", lambda: len(parse_and_key(json_bytes, "https://x.example/f.json", None)[1])),
        ("telegram preview", lambda: _telegram(tg, tg_spec)),
        ("page, FR dates", lambda: _page(pg, dated)),
        ("page, no date", lambda: _page(pg, undated)),
        ("gdelt artlist", lambda: _gdelt(gd, gd_spec)),
    ]


def measure(run: Callable[[], int], repeat: int) -> tuple[int, float]:
    count = run()  # warm-up (imports, dateparser's locale data)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return count, statistics.median(times)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50, help="items per body (default 50)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per kind (median)")
    args = parser.parse_args(argv)
    rows = [(name, *measure(run, args.repeat)) for name, run in cases(args.items)]
    baseline = rows[0][2] / max(rows[0][1], 1)
    print(f"{'kind':<18} {'items':>5} {'us/item':>9} {'vs rss':>7}", file=out)
    for name, count, seconds in rows:
        per_item = seconds / max(count, 1)
        ratio = per_item / baseline if baseline else float("nan")
        print(f"{name:<18} {count:>5} {per_item * 1e6:>9.1f} {ratio:>6.1f}x", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
