"""End-to-end replay of a labelled JSONL through the real pipeline: one feed per outlet on a
local feed server, ``poll`` cycles every 6 simulated hours with an injected clock, the real
matcher, story grouper, SQLite outbox and TelegramDeliverer talking to the fake Bot API.

    python -m bench.stories_e2e                  # both arrival modes, both texts (minutes)
    python -m bench.stories_e2e --limit 40       # a slice (the CI smoke test)
    python -m bench.stories_e2e --explain        # + each wrong merge, each relevant story
                                                 #   never alerted (with its titles)

Each item appears in its outlet's feed (newest 50 kept) at its arrival time (see
bench/story_data.py: ``time order`` spreads a published day over its hours; ``one hour`` puts
every item within one hour, so they all arrive in one cycle, with no ``pubDate`` (feeds that
give no dates: the grouper knows no gap); ``one hour, dated`` does the same after the last
publication date, each item carrying its own date in ``pubDate``). A cycle runs at every 6-hour
step at which some feed changed (empty steps do nothing but answer 304s), after one cycle on
empty feeds so first fetches are not backfills (72 h before a burst of undated reports: the
bot was down). In ``time order, undated`` the feeds are also polled at the step before each
of those (304s), as a bot running all along would: the pipeline then bounds each undated
report's date by its arrival (bot.core.arrival_bound). Every alert gets its own message
(digest_threshold is set out of reach: digests are excepted from wrong merges anyway).
Figures, from the final text of every message (after the "also reported by" edits):
messages per alerted story, messages per alerted relevant story, wrong merges per 100 alerted
stories (a message whose links belong to two or more true stories) and the share of relevant
stories that got a message. The grouper dates an undated report by the day its link states
(bot.core.link_dates), as the bot does; ``--no-link-dates``: as before, never.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from bench.story_data import (
    ALL_MODES,
    DEV_SET,
    MODES,
    TEXTS,
    LabelledItem,
    arrival_times,
    dated_flags,
    event_times,
    load_items,
)
from bot.core.models import FeedSpec
from bot.core.urls import canonical_url
from bot.cycle.pipeline import CycleSettings, Pipeline
from bot.cycle.story_grouping import StoryGrouper
from bot.cycle.watchlist_files import WatchlistReloader
from bot.feeds.fetcher import Fetcher, FetchSettings
from bot.telegram.application import build_application
from bot.telegram.delivery import ChatPacer, TelegramDeliverer
from storage.db import open_database
from storage.repository import Repository
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI

ROOT = Path(__file__).resolve().parent.parent
CHAT = 4_200_001  # a private chat: Telegram's group limits do not apply
CYCLE = timedelta(hours=6)
HREF = re.compile(r'href="([^"]+)"')


@dataclass(frozen=True, slots=True)
class Replay:
    mode: str
    text: str
    cycles: int
    items: int
    alerted_items: int
    stories_alerted: int
    relevant_stories: int
    relevant_alerted: int
    messages: int
    relevant_messages: int
    wrong_messages: int
    seconds: float
    wrong_examples: tuple[tuple[str, ...], ...] = ()
    # relevant stories that got no message: (story, its items as "lang: title")
    unalerted: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def per_story(self) -> float:
        return self.messages / max(1, self.stories_alerted)

    @property
    def per_relevant_story(self) -> float:
        return self.relevant_messages / max(1, self.relevant_alerted)

    @property
    def wrong_per_100(self) -> float:
        return 100.0 * self.wrong_messages / max(1, self.stories_alerted)

    @property
    def relevant_share(self) -> float:
        return self.relevant_alerted / max(1, self.relevant_stories)


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _feed(
    items: Sequence[tuple[LabelledItem, datetime, datetime | None]], outlet: str, text: str
) -> str:
    """An outlet's feed: its 50 newest visible items, each with its date (``pubDate``) when
    the mode gives one."""
    entries = []
    for item, _at, dated in sorted(items, key=lambda p: p[1], reverse=True)[:50]:
        entry = {"guid": item.id, "title": item.title, "link": item.url}
        if dated is not None:
            entry["pubDate"] = rfc822(dated.timestamp())
        if text == "title+summary" and item.summary:
            entry["description"] = item.summary
        entries.append(entry)
    return rss(entries, title=outlet)


async def replay(
    items: Sequence[LabelledItem], mode: str, text: str, db: Path, link_dates: bool = True
) -> Replay:
    started = time.monotonic()
    times = arrival_times(items, mode)
    # pubDate only in the dated modes: an undated feed's bound is the pipeline's to find
    has_dates = dated_flags(items, mode, arrival_bound=False)
    dates: list[datetime | None] = [
        at if has_date else None
        for at, has_date in zip(event_times(items, mode), has_dates, strict=True)
    ]
    outlets = sorted({i.outlet for i in items})
    paths = {o: f"/o/{n}" for n, o in enumerate(outlets)}
    first = min(times)
    # cycle k runs at first + k * 6 h; an item is visible from the first cycle at or after it
    step_of = [
        max(1, -(-int((t - first).total_seconds()) // int(CYCLE.total_seconds()))) for t in times
    ]
    steps = sorted(set(step_of))
    # ``time order, undated``: the bot polls all along, so the feeds are also polled (304s)
    # at the step before each step that changes them: the previous poll of a new report is
    # 6 h before it, as with a steady flow (bot.core.arrival_bound). The other modes poll only
    # when feeds change; empty steps would only answer 304s.
    quiet = (
        sorted({s - 1 for s in steps if s > 1} - set(steps))
        if mode == "time order, undated"
        else []
    )
    # The first cycle reads the feeds empty, so that later fetches are not first fetches;
    # before a burst of undated reports it comes 72 h before (the bot down meanwhile: the
    # burst's reports get no bound; ``one hour`` and ``72 h bursts, undated``).
    bursts = mode in ("one hour", "72 h bursts, undated")
    warm_up = timedelta(hours=72) if bursts else timedelta(minutes=1)
    quiet_steps = set(quiet)
    reloader = WatchlistReloader(ROOT / "watchlists")
    reloader.load()
    matcher = reloader.matcher
    clock = _Clock(first)
    with FeedServer() as server, FakeTelegramAPI() as api:
        for outlet in outlets:
            server.set(paths[outlet], rss([], title=outlet))
        app = build_application(api.state.token, api.base_url)
        await app.bot.initialize()
        repo = Repository(open_database(db))
        fetcher = Fetcher(FetchSettings(deadline=30.0))
        deliverer = TelegramDeliverer(
            app.bot,
            repo,
            timezone="Africa/Bamako",
            admin_ids=(),
            digest_threshold=1_000_000,
            pacer=ChatPacer(interval=0.0),
            clock=clock,
        )
        specs = [FeedSpec(url=server.url(paths[o]), title=o) for o in outlets]
        pipeline = Pipeline(
            repo,
            fetcher,
            matcher=lambda: matcher,
            feeds=lambda: specs,
            deliverer=deliverer,
            settings=CycleSettings(chat_ids=(CHAT,), backfill_hours=24),
            stories=StoryGrouper(repo, timedelta(hours=72), link_dates=link_dates),
            clock=clock,
        )
        try:
            clock.now = first - warm_up
            await pipeline.run_cycle()  # first fetches, on empty feeds
            visible: dict[str, list[tuple[LabelledItem, datetime, datetime | None]]] = defaultdict(
                list
            )
            for step in sorted([*steps, *quiet]):
                clock.now = first + step * CYCLE
                if step in quiet_steps:
                    await pipeline.run_cycle()  # the feeds unchanged: 304s
                    continue
                changed = set()
                for item, at, dated, s in zip(items, times, dates, step_of, strict=True):
                    if s == step:
                        visible[item.outlet].append((item, at, dated))
                        changed.add(item.outlet)
                for outlet in changed:
                    server.set(paths[outlet], _feed(visible[outlet], outlet, text))
                await pipeline.run_cycle()
            clock.now += CYCLE  # a last drain: edits still due
            await deliverer.drain()
            alerted_links = [
                canonical_url(r[0]) for r in repo.db.execute("SELECT link FROM alerts") if r[0]
            ]
            texts = [t for (chat, _mid), t in api.state.message_texts.items() if chat == CHAT]
        finally:
            await fetcher.aclose()
            await app.bot.shutdown()
    by_url = {canonical_url(i.url): i for i in items}
    alerted_stories = {by_url[u].story for u in alerted_links if u in by_url}
    relevant = {i.story for i in items if i.relevant}
    relevant_alerted = alerted_stories & relevant
    wrong = relevant_messages = 0
    examples = []
    for message in texts:
        linked = [by_url.get(canonical_url(html.unescape(h))) for h in HREF.findall(message)]
        stories = {i.story for i in linked if i is not None}
        wrong += len(stories) >= 2
        if len(stories) >= 2:
            examples.append(tuple(f"{i.story}: {i.title}" for i in linked if i is not None))
        head = next((i for i in linked if i is not None), None)
        relevant_messages += head is not None and head.story in relevant
    return Replay(
        mode=mode,
        text=text,
        cycles=len(steps) + len(quiet) + 1,
        items=len(items),
        alerted_items=len(alerted_links),
        stories_alerted=len(alerted_stories),
        relevant_stories=len(relevant),
        relevant_alerted=len(relevant_alerted),
        messages=len(texts),
        relevant_messages=relevant_messages,
        wrong_messages=wrong,
        seconds=time.monotonic() - started,
        wrong_examples=tuple(examples),
        unalerted=tuple(
            (story, tuple(f"{i.lang}: {i.title}" for i in items if i.story == story))
            for story in sorted(relevant - relevant_alerted)
        ),
    )


def replay_table(
    data: Path,
    limit: int,
    out: TextIO,
    modes: Sequence[str] = MODES,
    texts: Sequence[str] = TEXTS,
    explain: bool = False,
    link_dates: bool = True,
) -> None:
    items = load_items(data)
    if limit:
        items = items[:limit]
    print(
        "\nend to end (feed server, poll every 6 h, Telegram fake):\n"
        f"{'text':<14}{'arrival':<17}{'cycles':>7}{'alerts':>8}{'messages':>9}"
        f"{'stories':>8}{'msg/story':>10}{'msg/relevant':>13}{'wrong/100':>10}"
        f"{'relevant alerted':>18}{'s':>6}",
        file=out,
    )
    for text in texts:
        for mode in modes:
            with tempfile.TemporaryDirectory() as tmp:
                r = asyncio.run(replay(items, mode, text, Path(tmp) / "replay.db", link_dates))
            print(
                f"{text:<14}{mode:<17}{r.cycles:>7}{r.alerted_items:>8}{r.messages:>9}"
                f"{r.stories_alerted:>8}{r.per_story:>10.2f}{r.per_relevant_story:>13.2f}"
                f"{r.wrong_per_100:>10.2f}"
                f"{f'{r.relevant_alerted}/{r.relevant_stories} {r.relevant_share:.0%}':>18}"
                f"{r.seconds:>6.0f}",
                file=out,
                flush=True,
            )
            if explain:
                for example in r.wrong_examples:
                    print("    wrong merge: " + " | ".join(example), file=out)
                for story, titles in r.unalerted:
                    print(f"    never alerted: {story}: " + " | ".join(titles), file=out)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEV_SET)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--texts", nargs="+", default=list(TEXTS), choices=TEXTS)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=ALL_MODES)
    parser.add_argument(
        "--explain",
        action="store_true",
        help="list the wrong merges and the relevant stories never alerted",
    )
    parser.add_argument(
        "--no-link-dates",
        dest="link_dates",
        action="store_false",
        help="as before link dates: the grouper never dates an undated report by its link"
        " (bot.core.link_dates)",
    )
    args = parser.parse_args(argv)
    replay_table(args.data, args.limit, out, args.modes, args.texts, args.explain, args.link_dates)
    return 0


if __name__ == "__main__":
    sys.exit(main())
