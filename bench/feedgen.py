"""Deterministic synthetic feeds, served over HTTP/1.1 with ETag/Last-Modified/304.

Run as a separate process so its CPU never counts against the measured tool:
    python -m bench.feedgen --feeds 1000 --items 50 [--port 0]
It prints ``PORT <n>`` on stdout once listening. Feed ``i`` is at ``/feeds/<i>.xml``.

Control endpoints (GET, answered with JSON):
    /_control/bump?ids=1,2,3   those feeds get ``NEW_PER_BUMP`` new items at the top (now-dated);
                               with &watched=1 the newest one mentions JNIM and Bamako
    /_control/reset            every feed back to version 0
    /_control/prebuild         build every version-0 body now (before timing a cold cycle)
    /_control/stats[?clear=1]  request counts by status since the last reset (then clear)

Each item is about 650 bytes (50 items: about 32 KB). About 2% of items mention a watched
name (Mali, JNIM, Bamako, Assimi Goïta...), and some mention traps (Somalia, Malibu).
Item ``s`` of every feed is fixed by (seed, feed, s): the same run is the same bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

NEW_PER_BUMP = 5
ITEM_SPACING = 1800  # seconds between the base items' dates: 50 items span about 25 hours

WORDS = (  # noqa: SIM905 - a sentence reads better than a list of words
    "government officials said on monday that the regional talks would resume after a pause"
    " while analysts expect markets to react cautiously to new figures on inflation exports"
    " and the harvest season farmers report rains arrived late this year in several provinces"
    " le gouvernement a annoncé une réforme du secteur de l'énergie après des semaines de"
    " négociations avec les syndicats et les partenaires sociaux dans la capitale"
).split()
SYLLABLES = "ba ko ri ta mu se lo ne di ga vu pe zi ho ka ru mi so te la".split()  # noqa: SIM905


def _vocabulary(size: int = 6000) -> list[str]:
    """Pseudo-words: news stories differ in most of their words, so the story grouper (which
    compares title+summary tokens) sees distinct stories, as with real feeds. A handful of
    real words would make every item look like every other one."""
    rng = random.Random(0)
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


VOCABULARY = _vocabulary()
WATCHED = (
    "Mali",
    "JNIM",
    "Bamako",
    "Assimi Goïta",
    "Africa Corps",
    "Kidal",
    "Tombouctou",
    "MINUSMA",
)
TRAPS = ("Somalia", "Malibu", "Somali", "Malik")


def _rng(seed: int, feed: int, seq: int) -> random.Random:
    return random.Random(seed * 1_000_003 + feed * 100_003 + seq)


def item_fields(
    seed: int, feed: int, seq: int, published: float, watched: bool = False
) -> dict[str, str]:
    """The title, link, guid, description and date of item ``seq`` of ``feed``.

    ``watched`` forces a title that the default watchlist alerts on (latency probes).
    """
    rng = _rng(seed, feed, seq)
    title_words = [rng.choice(VOCABULARY) for _ in range(rng.randint(5, 8))]
    title_words += [rng.choice(WORDS) for _ in range(rng.randint(3, 5))]
    roll = rng.random()
    if watched:
        title_words[2:2] = ["JNIM", "fighters", "near", "Bamako"]
    elif roll < 0.02:
        title_words.insert(rng.randrange(len(title_words)), rng.choice(WATCHED))
    elif roll < 0.04:
        title_words.insert(rng.randrange(len(title_words)), rng.choice(TRAPS))
    title = " ".join(title_words).capitalize()
    paragraphs = []
    for _ in range(3):
        words = [rng.choice(VOCABULARY if i % 2 else WORDS) for i in range(rng.randint(13, 19))]
        paragraphs.append(" ".join(words))
    description = "".join(f"<p>{p.capitalize()}.</p>" for p in paragraphs)
    return {
        "title": title,
        "link": f"https://news{feed % 97}.example.org/{feed}/story-{seq}",
        "guid": f"urn:bench:{feed}:{seq}",
        "description": description,
        "pubDate": formatdate(published, usegmt=True),
    }


class FeedSet:
    """The versions of every feed, and their bodies (built on first request, then cached)."""

    def __init__(self, feeds: int, items: int, seed: int = 1, base: float | None = None):
        self.feeds = feeds
        self.items = items
        self.seed = seed
        self.base = base if base is not None else time.time()
        self.reset()

    def reset(self) -> None:
        self.versions = [0] * self.feeds
        # bump_times[feed][v-1] = when version v appeared (its new items carry that date)
        self.bump_times: list[list[float]] = [[] for _ in range(self.feeds)]
        self.forced: set[tuple[int, int]] = set()  # (feed, seq) items made to alert
        # Version-0 bodies never change: keep them across resets (see ``prebuild``).
        old = getattr(self, "_cache", {})
        self._cache: dict[tuple[int, int], bytes] = {k: v for k, v in old.items() if k[1] == 0}

    def prebuild(self) -> int:
        """Build every version-0 body now, so serving a cold cycle costs the server little."""
        return sum(len(self.body(feed)) for feed in range(self.feeds) if not self.versions[feed])

    def bump(self, ids: list[int], at: float, watched: bool = False) -> dict[int, int]:
        """New items on top of each feed in ``ids``; returns each feed's newest item seq.

        The new bodies are built here, before the next cycle is timed, as ``prebuild`` does
        for a cold cycle: rendering feeds is the server's work, not the measured tool's.
        """
        newest = {}
        for feed in ids:
            self.versions[feed] += 1
            self.bump_times[feed].append(at)
            newest[feed] = self.items + self.versions[feed] * NEW_PER_BUMP - 1
            if watched:
                self.forced.add((feed, newest[feed]))
            self.body(feed)
        return newest

    def forget(self, feed: int) -> None:
        """Drop the cached body of ``feed``'s current version (a caller keeps its own copy)."""
        self._cache.pop((feed, self.versions[feed]), None)

    def _published(self, feed: int, seq: int) -> float:
        if seq < self.items:
            return self.base - (self.items - seq) * ITEM_SPACING
        version = (seq - self.items) // NEW_PER_BUMP
        return self.bump_times[feed][version]

    def etag(self, feed: int) -> str:
        return f'"b{self.seed}-{feed}-{self.versions[feed]}"'

    def last_modified(self, feed: int) -> str:
        version = self.versions[feed]
        when = self.bump_times[feed][version - 1] if version else self.base
        return formatdate(when, usegmt=True)

    def body(self, feed: int) -> bytes:
        version = self.versions[feed]
        cached = self._cache.get((feed, version))
        if cached is not None:
            return cached
        newest = self.items + version * NEW_PER_BUMP  # exclusive
        seqs = range(newest - 1, newest - 1 - self.items, -1)
        atom = feed % 5 == 4  # one feed in five is Atom, the rest RSS 2.0
        parts = [render_atom_head(feed) if atom else render_rss_head(feed)]
        for seq in seqs:
            published = self._published(feed, seq)
            fields = item_fields(self.seed, feed, seq, published, (feed, seq) in self.forced)
            parts.append(render_atom_entry(fields) if atom else render_rss_item(fields))
        parts.append("</feed>" if atom else "</channel></rss>")
        data = "\n".join(parts).encode("utf-8")
        if version > 1:
            self._cache.pop((feed, version - 1), None)
        self._cache[(feed, version)] = data
        return data


def render_rss_head(feed: int) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>Bench Wire {feed}</title><link>https://news{feed % 97}.example.org/</link>"
        "<description>Synthetic feed for the newswatch cycle benchmark</description>"
    )


def render_rss_item(f: dict[str, str]) -> str:
    return (
        f"<item><title>{escape(f['title'])}</title><link>{f['link']}</link>"
        f'<guid isPermaLink="false">{f["guid"]}</guid><pubDate>{f["pubDate"]}</pubDate>'
        f"<description>{escape(f['description'])}</description></item>"
    )


def render_atom_head(feed: int) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Bench Journal {feed}</title><id>urn:bench:feed:{feed}</id>"
        f'<link href="https://news{feed % 97}.example.org/"/>'
        "<updated>2026-01-01T00:00:00Z</updated>"
    )


def render_atom_entry(f: dict[str, str]) -> str:
    updated = parsedate_to_datetime(f["pubDate"]).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"<entry><title>{escape(f['title'])}</title><id>{f['guid']}</id>"
        f'<link href="{f["link"]}"/><updated>{updated}</updated>'
        f'<summary type="html">{escape(f["description"])}</summary></entry>'
    )


class Server:
    """A small asyncio HTTP/1.1 server (keep-alive) for a FeedSet."""

    def __init__(self, feeds: FeedSet):
        self.feeds = feeds
        self.stats: dict[str, int] = {}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    break
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = [*lines[0].split(" "), "", "", ""][:3]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, _, value = line.partition(":")
                        headers[key.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                if length:
                    await reader.readexactly(length)
                status, extra, body, ctype = self.respond(method, target, headers)
                keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
                head_lines = [
                    f"HTTP/1.1 {status} {REASONS.get(status, 'OK')}",
                    f"Content-Length: {len(body)}",
                    "Connection: keep-alive" if keep else "Connection: close",
                ]
                if ctype:
                    head_lines.append(f"Content-Type: {ctype}")
                head_lines.extend(f"{k}: {v}" for k, v in extra.items())
                payload = ("\r\n".join(head_lines) + "\r\n\r\n").encode("latin-1")
                writer.write(payload + (body if method != "HEAD" else b""))
                await writer.drain()
                if not keep:
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    def respond(
        self, method: str, target: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes, str | None]:
        parts = urlsplit(target)
        path = parts.path
        if path.startswith("/_control/"):
            return self.control(path, parse_qs(parts.query))
        feed = -1
        if path.startswith("/feeds/") and path.endswith(".xml"):
            stem = path[len("/feeds/") : -len(".xml")]
            feed = int(stem) if stem.isdigit() else -1
        if not 0 <= feed < self.feeds.feeds:
            self._count(404)
            return 404, {}, b"not found", "text/plain"
        etag = self.feeds.etag(feed)
        modified = self.feeds.last_modified(feed)
        validators = {"ETag": etag, "Last-Modified": modified}
        inm = headers.get("if-none-match")
        ims = headers.get("if-modified-since")
        fresh = inm == etag if inm is not None else (ims is not None and _not_after(modified, ims))
        if fresh:
            self._count(304)
            return 304, validators, b"", None
        self._count(200)
        return 200, validators, self.feeds.body(feed), "application/rss+xml; charset=utf-8"

    def control(
        self, path: str, query: dict[str, list[str]]
    ) -> tuple[int, dict[str, str], bytes, str | None]:
        now = time.time()
        if path == "/_control/bump":
            ids = [int(x) for x in ",".join(query.get("ids", [])).split(",") if x.strip()]
            newest = self.feeds.bump(ids, now, watched=query.get("watched") == ["1"])
            answer: dict[str, object] = {"bumped": len(ids), "at": now, "newest": newest}
        elif path == "/_control/reset":
            self.feeds.reset()
            self.stats = {}
            answer = {"reset": True, "at": now}
        elif path == "/_control/prebuild":
            answer = {"bytes": self.feeds.prebuild(), "at": now}
        elif path == "/_control/stats":
            answer = dict(self.stats)
            if query.get("clear") == ["1"]:
                self.stats = {}
        else:
            return 404, {}, b"{}", "application/json"
        return 200, {}, json.dumps(answer).encode(), "application/json"

    def _count(self, status: int) -> None:
        key = str(status)
        self.stats[key] = self.stats.get(key, 0) + 1


def _not_after(modified: str, since: str) -> bool:
    try:
        return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found"}


async def serve(feeds: FeedSet, port: int) -> None:
    server = Server(feeds)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", port, backlog=1024)
    bound = listener.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    async with listener:
        await listener.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--base", type=float, default=None, help="epoch of the newest base item")
    args = parser.parse_args(argv)
    feeds = FeedSet(args.feeds, args.items, args.seed, args.base)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(feeds, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
