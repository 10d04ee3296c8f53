"""SIGKILL at many moments of `poll --once`, then a restart: nothing lost, nothing re-alerted.

Each scenario gets a fresh database, feed server and fake Bot API. A reference run without a
kill gives the expected messages; every scenario then kills one run at its own point (during
the fetch of a slow feed, during parsing/storage of a large feed, once the small feed is stored
and the large one not, once both are stored and the cycle still runs, at the first accepted
message, at the third), restarts to completion, and checks the messages, the database and
``PRAGMA integrity_check``. The points that matter are conditions, not delays: the kill comes
when the database or the fake Bot API shows them. The only allowed duplicate is the documented
window: Telegram accepted a message and the process died before the outbox committed ``sent``.

No outcome depends on how fast the machine is. The fetch limits are the defaults (a 60 s
deadline), so the feeds that must be stored always are: with a 1.2 s deadline, a loaded
machine failed the big feed's fetch (the cycle's first processing holds the event loop for
seconds, and the deadline runs meanwhile), and its alerts were missing from the run that was
compared. The slow feed drips only in a run that is killed during its fetch (the kill, not a
time limit, ends that run); every run that must finish gets it as a dropped connection, a
failure at once.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT, TOKEN, main_env, run_main
from tests.fakes.feed_server import FeedServer, rfc822, rss
from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.slow  # SIGKILLs main.py at seven points

CHATS = (5550001, -1005550002)
NOW = time.time()
HEADLINES = [
    "Mali: JNIM fighters ambush an army convoy near Boulkessi",
    "Assimi Goïta reshuffles the transitional government in Bamako",
    "Africa Corps instructors arrive at the Kidal base",
    "Azawad Liberation Front claims a drone strike near Tinzaouaten",
    "Wagner Group veterans reported in Ménaka region",
    "MINUSMA legacy: UN report on Timbuktu manuscripts",
    "FAMa soldiers secure the road between Gao and Ansongo",
    "Lavrov meets Sahel ministers to discuss the AES alliance",
]


def big_feed(n: int) -> str:
    """A large feed: many non-matching items (parse and dedup work) and a few alerts."""
    items = [
        {
            "title": f"Weather bulletin {i} for coastal towns",
            "link": f"https://wx.example.org/bulletin-{i}",
            "guid": f"wx-{i}",
            "description": "Light winds, clear skies. " * 8,
            "pubDate": rfc822(NOW - 900 - i),
        }
        for i in range(n)
    ]
    for k, title in enumerate(HEADLINES[4:]):
        items.insert(k * 97, {
            "title": title,
            "link": f"https://big.example.org/story-{k}",
            "guid": f"big-{k}",
            "description": "Reported by our correspondents.",
            "pubDate": rfc822(NOW - 300),
        })  # fmt: skip
    return rss(items, title="Big Wire")


BIG_FEED = big_feed(1500)
SMALL_FEED = rss(
    [
        {
            "title": title,
            "link": f"https://small.example.org/story-{k}",
            "guid": f"small-{k}",
            "description": "Breaking news from the Sahel.",
            "pubDate": rfc822(NOW - 600),
        }
        for k, title in enumerate(HEADLINES[:4])
    ],
    title="Sahel Wire",
)
CONFIG = "fetch_spread_seconds = 0\n"  # and the default fetch limits (see the docstring)


@dataclass
class Scenario:
    name: str
    # "none" | "delay:<s>" (after start) | "fetch:<s>" (after the first feed request)
    # | "slow-feed-hit" | "first-message" | "third-message" | "stored:<n>" (n items committed)
    trigger: str
    big_delay: float = 0.0  # seconds before the big feed answers (a busy server)
    hold_big: bool = False  # the big feed answers only after the kill
    results: dict[str, object] = field(default_factory=dict)

    @property
    def kill_while_fetching(self) -> bool:
        """The kill is meant to land before the cycle ends: the slow feed drips meanwhile."""
        return self.trigger == "slow-feed-hit" or self.trigger.startswith(
            ("delay:", "fetch:", "stored:")
        )


def run_scenario(scenario: Scenario, tmp: Path) -> Scenario:
    tmp.mkdir(parents=True, exist_ok=True)
    with FeedServer() as feeds, FakeTelegramAPI(TOKEN) as api:
        feeds.set("/small.xml", SMALL_FEED)
        held = threading.Event() if scenario.hold_big else None
        feeds.set("/big.xml", BIG_FEED, delay=scenario.big_delay, hold=held)
        # Dripping, it holds the cycle open until the kill; otherwise it fails at once.
        feeds.set("/slow.xml", SMALL_FEED, fault="slow" if scenario.kill_while_fetching else "drop")
        feed_list = tmp / "feeds.txt"
        feed_list.write_text(
            "\n".join(feeds.url(p) for p in ("/small.xml", "/big.xml", "/slow.xml")) + "\n"
        )
        (tmp / "newswatch.toml").write_text(CONFIG, encoding="utf-8")
        env = main_env(
            tmp / "nw.db",
            NEWSWATCH_FEEDS=str(feed_list),
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=api.base_url,
            NEWSWATCH_CHAT_IDS=",".join(map(str, CHATS)),
        )
        # Slow delivery: Telegram asks us to wait once, so delivery spans a second or more.
        api.inject("sendMessage", "429", count=1, retry_after=1)
        config = ["--config", str(tmp / "newswatch.toml")]
        killed_after = None
        if scenario.trigger != "none":
            # Raw Popen, not MainProcess: the test is the SIGKILL at a chosen moment of the
            # cycle (its output is not read, so a kill never waits on a pipe).
            proc = subprocess.Popen(
                [sys.executable, str(ROOT / "main.py"), *config, "poll", "--once"], env=env,
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            started = time.monotonic()
            wait_for_trigger(scenario.trigger, feeds, api, proc, tmp / "nw.db")
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed_after = round(time.monotonic() - started, 2)
            proc.wait(timeout=30)
            scenario.results["killed_after"] = killed_after
            scenario.results["phase"] = phase_at_kill(tmp / "nw.db", api)
            feeds.set("/slow.xml", SMALL_FEED, fault="drop")  # the restart runs to its end
            if held is not None:  # the restart gets the big feed at once
                held.set()
                feeds.set("/big.xml", BIG_FEED, delay=scenario.big_delay)
        final = run_main([*config, "poll", "--once"], env, timeout=120)
        assert final.returncode == 0, final.stderr[-3000:]
        if scenario.trigger == "none":  # a further run sends nothing more
            sent = len(api.state.messages)
            again = run_main([*config, "poll", "--once"], env, timeout=120)
            assert again.returncode == 0, again.stderr[-3000:]
            assert len(api.state.messages) == sent
        scenario.results["messages"] = Counter((str(m.chat_id), m.text) for m in api.state.messages)
        db = sqlite3.connect(tmp / "nw.db")
        try:
            scenario.results["integrity"] = db.execute("PRAGMA integrity_check").fetchone()[0]
            scenario.results["alerts"] = db.execute("SELECT count(*) FROM alerts").fetchone()[0]
            scenario.results["distinct_alert_keys"] = db.execute(
                "SELECT count(DISTINCT item_key) FROM alerts"
            ).fetchone()[0]
            scenario.results["pending"] = db.execute(
                "SELECT count(*) FROM deliveries WHERE status = 'pending'"
            ).fetchone()[0]
            scenario.results["items"] = db.execute("SELECT count(*) FROM items").fetchone()[0]
        finally:
            db.close()
    return scenario


def wait_for_trigger(
    trigger: str,
    feeds: FeedServer,
    api: FakeTelegramAPI,
    proc: subprocess.Popen[bytes],
    db_path: Path,
) -> None:
    deadline = time.monotonic() + 120  # a safety net only: each trigger is a condition
    if trigger.startswith("delay:"):
        time.sleep(float(trigger.split(":", 1)[1]))
        return
    if trigger.startswith("fetch:"):
        while time.monotonic() < deadline and proc.poll() is None and not feeds.hits:
            time.sleep(0.002)
        time.sleep(float(trigger.split(":", 1)[1]))
        return
    while time.monotonic() < deadline and proc.poll() is None:
        if trigger == "slow-feed-hit" and feeds.hits_for("/slow.xml"):
            time.sleep(0.3)  # in the middle of the 1 byte/s drip
            return
        if trigger == "first-message" and api.state.messages:
            return  # Telegram accepted it; the outbox has not committed "sent" yet (likely)
        if trigger == "third-message" and len(api.state.messages) >= 3:
            return
        if trigger.startswith("stored:") and items_committed(db_path) >= int(trigger[7:]):
            return
        time.sleep(0.002)


def items_committed(db_path: Path) -> int:
    """Items the running process has committed (0 before its schema exists), read only."""
    if not db_path.exists():
        return 0
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            return int(db.execute("SELECT count(*) FROM items").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:  # the schema is being created
        return 0


def phase_at_kill(db_path: Path, api: FakeTelegramAPI) -> str:
    if api.state.messages:
        return f"delivery ({len(api.state.messages)} sent)"
    if not db_path.exists():
        return "start-up"
    try:
        db = sqlite3.connect(db_path)
        try:
            items = db.execute("SELECT count(*) FROM items").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return "start-up (schema)"
    if not items:
        return "fetch/parse/storage (no feed committed yet)"
    if items < 1500:
        return f"mid-cycle ({items} items committed)"
    return f"all stored ({items} items), cycle still running"


TRIGGERS = [
    "slow-feed-hit",
    "first-message",
    "third-message",
    "delay:0.5",
    *(f"fetch:{d}" for d in (0.2, 0.6, 1.0)),
    "stored:4",  # the small feed's items, the big feed held back: one feed stored, not the other
    f"stored:{1500 + 8}",  # every item, the slow feed still dripping: the cycle has not ended
]


def test_sigkill_loop_loses_nothing_and_realerts_nothing(tmp_path: Path) -> None:
    started = time.monotonic()
    scenarios = [Scenario("reference", "none")] + [
        Scenario(t.replace(":", "-"), t, hold_big=t == "stored:4") for t in TRIGGERS
    ]
    with ThreadPoolExecutor(max_workers=3) as pool:
        reference, *done = pool.map(lambda s: run_scenario(s, tmp_path / s.name), scenarios)
    expected: Counter[tuple[str, str]] = reference.results["messages"]  # type: ignore[assignment]
    assert expected and all(n == 1 for n in expected.values()), expected
    assert {chat for chat, _ in expected} == {str(c) for c in CHATS}
    assert len(expected) == len(HEADLINES) * len(CHATS), "every headline is its own alert"
    lines = []
    total_duplicates = 0
    for scenario in done:
        r = scenario.results
        got: Counter[tuple[str, str]] = r["messages"]  # type: ignore[assignment]
        duplicates = sum(n - 1 for n in got.values() if n > 1)
        total_duplicates += duplicates
        lines.append(
            f"{scenario.name:>14}: killed after {r['killed_after']}s in {r['phase']};"
            f" duplicates={duplicates}"
        )
        assert r["integrity"] == "ok", scenario.name
        assert set(got) == set(expected), f"{scenario.name}: lost or extra messages"
        # Chats are sent to concurrently, so a kill during delivery may catch one message per
        # chat accepted by Telegram but not yet committed as sent: at most one duplicate per
        # chat, and none at all when the kill came before delivery.
        per_chat = Counter(chat for (chat, _text), n in got.items() for _ in range(n - 1))
        allowed = 1 if str(r["phase"]).startswith("delivery (") else 0
        assert all(n <= allowed for n in per_chat.values()), lines[-1]
        assert r["alerts"] == reference.results["alerts"] == r["distinct_alert_keys"]
        assert r["items"] == reference.results["items"]
        assert r["pending"] == 0
    took = time.monotonic() - started
    report = "\n".join(lines) + f"\ntotal duplicates={total_duplicates}, {took:.1f}s"
    print("\n" + report)
    # The kills at a condition landed where they were meant to (the others vary with timing).
    phases = {s.name: str(s.results["phase"]) for s in done}
    assert phases["stored-4"] == "mid-cycle (4 items committed)", report
    assert phases["stored-1508"] == "all stored (1508 items), cycle still running", report
    assert phases["first-message"].startswith("delivery ("), report
    assert phases["third-message"].startswith("delivery ("), report


def test_a_good_feed_answering_after_seconds_is_stored_after_the_restart(tmp_path: Path) -> None:
    """Stop 25's flake, made certain: under load, the big feed's body was not read within the
    test's old 1.2 s fetch deadline (the event loop was held by the cycle's first processing),
    so the restart stored and alerted the small feed only. Here the big feed answers after
    2 s every time, in the killed run and in the restart: all of its alerts still arrive."""
    scenario = run_scenario(Scenario("big-after-2s", "slow-feed-hit", big_delay=2.0), tmp_path)
    r = scenario.results
    got: Counter[tuple[str, str]] = r["messages"]  # type: ignore[assignment]
    arrived = {(chat, h) for chat, text in got for h in HEADLINES if h in text}
    assert arrived == {(str(c), h) for c in CHATS for h in HEADLINES}, r["phase"]
    assert len(got) == len(HEADLINES) * len(CHATS), "every headline is its own alert"
    # The slow feed holds the killed cycle open: the kill always comes before delivery.
    assert all(n == 1 for n in got.values()), "killed before delivery: no duplicate"
    assert (r["alerts"], r["pending"], r["integrity"]) == (len(HEADLINES), 0, "ok")
