"""The fault table of issue 7 in one cycle: every faulty feed plus healthy ones, per feed."""

from __future__ import annotations

import asyncio
import itertools
import random
import socket
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bot.core.records import FeedState
from bot.core.schedule import SchedulePolicy
from bot.feeds.fetcher import FetchSettings
from tests.fakes.feed_server import Blackhole, FeedServer, gzip_bomb, rfc822, rss
from tests.harness import make_pipeline

NOW = time.time()
CAP = 1024 * 1024  # body cap for these tests (the default is 10 MB)
SETTINGS = FetchSettings(connect_timeout=1.0, read_timeout=1.5, deadline=3.0, max_body_bytes=CAP)


WORDS = [
    "convoy",
    "ambush",
    "harvest",
    "drought",
    "election",
    "ferry",
    "bridge",
    "clinic",
    "school",
    "market",
    "teachers",
    "salaries",
    "uranium",
    "airport",
    "curfew",
    "refugees",
    "river",
    "cattle",
    "bank",
    "strike",
    "radio",
    "license",
    "gold",
    "mine",
    "border",
    "tanker",
    "vaccine",
    "court",
    "verdict",
    "treaty",
    "summit",
    "railway",
    "cement",
    "flood",
    "pasture",
]


def _at(moment: datetime | None) -> datetime:
    """A stored time that must be there."""
    assert moment is not None
    return moment


def headline(tag: str, i: int) -> str:
    """A Mali headline whose wording differs per (tag, i), so stories do not merge: the items
    of one feed (one tag) share no word but "Mali" and the tag."""
    words = random.Random(tag).sample(WORDS, len(WORDS))
    return f"Mali {tag} {i}: " + " ".join(words[6 * i : 6 * i + 6])


def mali_feed(tag: str, n: int = 1) -> str:
    return rss(
        [
            {
                "title": headline(tag, i),
                "link": f"https://news.example.org/{tag}-{i}",
                "guid": f"{tag}-{i}",
                "description": f"Report {tag} number {i}.",
                "pubDate": rfc822(NOW - 600),
            }
            for i in range(n)
        ],
        title=f"Feed {tag}",
    )


class RecordingDeliverer:
    """Counts delivered alerts and admin notices; the real deliverers are tested elsewhere."""

    def __init__(self) -> None:
        self.alerts: list[int] = []
        self.notices: list[str] = []

    async def deliver(self, new_alerts: Any) -> None:
        self.alerts.extend(a.alert_id for a in new_alerts)

    async def notify_admins(self, text: str) -> None:
        self.notices.append(text)


def drive(fetcher: Any, scenario: Callable[[], Awaitable[Any]]) -> Any:
    """Run an async scenario and close the fetcher, in one event loop."""

    async def main() -> Any:
        try:
            return await scenario()
        finally:
            await fetcher.aclose()

    return asyncio.run(main())


@pytest.fixture
def unresolvable(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A host name whose lookup fails like a real NXDOMAIN, without asking any DNS server."""
    host = "feeds.nonexistent.invalid"
    real = socket.getaddrinfo

    def fake_getaddrinfo(name: Any, *args: Any, **kwargs: Any) -> Any:
        if name == host:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    yield host


# path -> (route options, expected: "items" | "error:<kind>:<substring>" | "items-or-error")
FAULTS: dict[str, tuple[dict[str, Any], str]] = {
    "/healthy.xml": ({}, "items"),
    "/healthy-gzip.xml": ({"fault": "gzip"}, "items"),
    "/hang.xml": ({"fault": "hang"}, "error:timeout:read timeout"),
    "/slow.xml": ({"fault": "slow"}, "error:deadline:overall fetch deadline"),
    "/500.xml": ({"status": 500}, "error:http_status:HTTP 500"),
    "/404.xml": ({"status": 404}, "error:http_status:HTTP 404"),
    "/410.xml": ({"status": 410}, "error:gone:HTTP 410"),
    "/429.xml": (
        {"status": 429, "headers": {"Retry-After": "7200"}},
        "error:rate_limited:HTTP 429",
    ),
    "/503.xml": (
        {"status": 503, "headers": {"Retry-After": "at:+10800"}},  # an HTTP date, set at serving
        "error:http_status:HTTP 503",
    ),
    "/loop-a.xml": (
        {"fault": "redirect", "target": "/loop-b.xml"},
        "error:redirect_loop:redirect loop",
    ),
    "/moved.xml": ({"fault": "permanent-redirect", "target": "/new-home.xml"}, "items"),
    "/html.xml": ({"fault": "html"}, "error:not_a_feed:HTML page"),
    "/empty.xml": ({"fault": "empty"}, "error:empty:empty body"),
    "/truncated.xml": ({"fault": "truncated"}, "items-or-error"),
    "/wrong-encoding.xml": ({"fault": "wrong-encoding"}, "items"),
    "/huge.xml": ({"fault": "huge", "size": 2 * CAP}, "error:too_large:cut off, not parsed"),
    "/huge-chunked.xml": ({"fault": "huge-chunked", "size": 2 * CAP}, "error:too_large:cut off"),
    "/gzip-bomb.xml": ({"fault": "gzip-bomb"}, "error:too_large:cut off, not parsed"),
}


def _dated(options: dict[str, Any]) -> dict[str, Any]:
    """Turn "at:+N" header values into an HTTP date N seconds from now (not from import)."""
    headers = {
        key: rfc822(time.time() + int(value[4:])) if value.startswith("at:+") else value
        for key, value in options.get("headers", {}).items()
    }
    return {**options, "headers": headers} if headers else options


def setup_routes(server: FeedServer) -> None:
    for path, (raw_options, _expected) in FAULTS.items():
        options = _dated(raw_options)
        tag = path.strip("/").removesuffix(".xml")
        server.set(path, mali_feed(tag, n=3 if path == "/truncated.xml" else 1), **options)
    server.set("/loop-b.xml", "", fault="redirect", target="/loop-a.xml")
    server.set("/new-home.xml", mali_feed("new-home"))
    server.set(
        "/malformed.xml",
        mali_feed("malformed").replace("Fighters struck", "Fighters & allies struck <b>"),
    )


@pytest.mark.slow
def test_fault_table_in_one_cycle(tmp_path: Path, unresolvable: str) -> None:
    with FeedServer() as server, Blackhole() as blackhole:
        setup_routes(server)
        urls = [server.url(p) for p in FAULTS]
        extra = {
            server.url("/malformed.xml"): "items",
            blackhole.url(): "error:connect_timeout:connect timeout",
            server.url("/healthy.xml").replace("http://", "https://"): "error:tls:TLS error",
            f"http://{unresolvable}/feed.xml": "error:dns:DNS failure",
            "file:///etc/passwd": "error:bad_url:only http(s) feeds are allowed",
            "ftp://127.0.0.1/feed.xml": "error:bad_url:only http(s) feeds are allowed",
        }
        expected = {server.url(p): e for p, (_o, e) in FAULTS.items()} | extra
        urls = list(expected)
        deliverer = RecordingDeliverer()
        pipeline, repo, fetcher, _out = make_pipeline(
            tmp_path / "nw.db",
            urls,
            settings=SETTINGS,
            deliverer=deliverer,
            chat_ids=(1,),
            stories=False,
        )
        pipeline.settings.policy = SchedulePolicy(pause_after_failures=5)
        gzip_bomb()  # built before tracing: the server's 200 MB of zeros is not the bot's memory
        tracemalloc.start()
        started = time.monotonic()
        try:
            report = drive(fetcher, lambda: pipeline.run_cycle(force=True))
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        elapsed = time.monotonic() - started

    states = repo.feeds.states(urls)
    now = datetime.now(UTC)
    problems = []
    for url, want in expected.items():
        state = states[url]
        error = state.last_error or ""
        if want == "items":
            ok = state.items_total >= 1 and state.consecutive_failures == 0
        elif want == "items-or-error":
            ok = state.items_total >= 1 or bool(error)
        else:
            _, kind, needle = want.split(":", 2)
            ok = needle.lower() in error.lower() and state.consecutive_failures == 1
            ok = ok and state.last_error_kind == kind  # named where it failed
            next_at = state.next_fetch_at
            ok = ok and next_at is not None and next_at > now  # backoff scheduled
        if not ok:
            problems.append(f"{url}: wanted {want}, got {state}")
    assert not problems, "\n".join(problems)

    # Other feeds are unaffected: every healthy-ish feed produced its alert, delivered.
    assert len(deliverer.alerts) == 6, deliverer.alerts
    assert report.errors == sum(1 for e in expected.values() if e.startswith("error")) + (
        0 if states[server.url("/truncated.xml")].items_total else 1
    )
    # 410 disables the feed (one notice); 429/503 Retry-After are honoured.
    assert states[server.url("/410.xml")].status == "gone"
    assert any("410" in n for n in deliverer.notices)
    for path, hours in (("/429.xml", 2), ("/503.xml", 3)):
        state = states[server.url(path)]
        wait = state.retry_not_before
        assert wait is not None and wait >= now + timedelta(hours=hours) - timedelta(minutes=2)
        next_at = state.next_fetch_at
        assert next_at is not None and next_at >= wait - timedelta(seconds=5)
    # A permanent redirect is applied only once a second fetch confirms it (issue 16).
    moved = states[server.url("/moved.xml")]
    assert moved.redirected_to is None
    # The slow drip was abandoned at the overall deadline; memory stayed bounded
    # (the gzip bomb expands to 200 MB, the huge bodies are 2 MB each).
    assert elapsed < SETTINGS.deadline + 5, elapsed
    assert peak < 40 * 1024 * 1024, f"peak traced memory {peak / 1e6:.1f} MB"
    print(f"fault table: {len(expected)} feeds, {elapsed:.2f}s, peak {peak / 1e6:.1f} MB")


def test_permanent_redirect_is_followed_next_time_without_realerting(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set("/old.xml", "", fault="permanent-redirect", target="/new.xml")
        server.set("/new.xml", mali_feed("moved", n=2))
        deliverer = RecordingDeliverer()
        pipeline, repo, fetcher, _ = make_pipeline(
            tmp_path / "nw.db", [server.url("/old.xml")], deliverer=deliverer, chat_ids=(1,)
        )

        async def scenario() -> int:
            await pipeline.run_cycle(force=True)
            first = repo.feeds.states()[server.url("/old.xml")].redirected_to
            assert first is None, "one 301 is not enough to move a feed (issue 16)"
            await pipeline.run_cycle(force=True)  # seen twice: applied
            before = len(server.hits_for("/old.xml"))
            server.set("/new.xml", mali_feed("moved", n=3))  # one new item
            await pipeline.run_cycle(force=True)
            return before

        before = drive(fetcher, scenario)
        assert len(server.hits_for("/old.xml")) == before == 2, "the old URL is not asked again"
        assert len(server.hits_for("/new.xml")) == 3
        state = repo.feeds.states()[server.url("/old.xml")]
        assert state.redirected_to == server.url("/new.xml")
        assert state.items_total == 3
        assert len(deliverer.alerts) == 3, "each item alerts once, across the move"


def test_permanent_redirect_counts_across_processes(tmp_path: Path) -> None:
    """Two `poll --once` runs (two processes, here two pipelines over one database file) see
    the same 301: the second one applies it, as two cycles of one `run` do."""
    with FeedServer() as server:
        server.set("/old.xml", "", fault="permanent-redirect", target="/new.xml")
        server.set("/new.xml", mali_feed("cron", n=1))
        old = server.url("/old.xml")
        states = []
        for _ in range(2):
            pipeline, repo, fetcher, _ = make_pipeline(
                tmp_path / "nw.db", [old], deliverer=RecordingDeliverer()
            )
            drive(fetcher, partial(pipeline.run_cycle, force=True))
            states.append(repo.feeds.states()[old])
        assert states[0].redirected_to is None
        assert states[0].redirect_candidate == server.url("/new.xml")
        assert states[1].redirected_to == server.url("/new.xml")
        assert states[1].redirect_candidate is None


def test_temporary_redirect_does_not_update_the_stored_url(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set("/tmp.xml", "", fault="redirect", target="/elsewhere.xml")
        server.set("/elsewhere.xml", mali_feed("tmp"))
        pipeline, repo, fetcher, _ = make_pipeline(
            tmp_path / "nw.db", [server.url("/tmp.xml")], deliverer=RecordingDeliverer()
        )
        drive(fetcher, lambda: pipeline.run_cycle(force=True))
        state = repo.feeds.states()[server.url("/tmp.xml")]
        assert state.redirected_to is None
        assert state.items_total == 1


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def test_backoff_pause_after_n_failures_one_notice_then_one_recovery_notice(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set("/flaky.xml", "oops", status=500)
        server.set("/fine.xml", mali_feed("fine"))
        deliverer = RecordingDeliverer()
        pipeline, repo, fetcher, _ = make_pipeline(
            tmp_path / "nw.db",
            [server.url("/flaky.xml"), server.url("/fine.xml")],
            deliverer=deliverer,
        )
        clock = Clock()
        pipeline.clock = clock
        pipeline.settings.policy = SchedulePolicy(pause_after_failures=3, jitter=0.0)
        flaky = server.url("/flaky.xml")
        delays = []

        async def scenario() -> None:
            for _ in range(6):  # three failures pause it; three more while paused
                await pipeline.run_cycle()
                state = repo.feeds.states()[flaky]
                next_at = state.next_fetch_at
                assert next_at is not None
                delays.append(round((next_at - clock.now).total_seconds()))
                clock.now = next_at + timedelta(seconds=1)  # jump to when it is due again
            assert state.status == "paused"
            assert state.consecutive_failures == 6
            paused_notices = [n for n in deliverer.notices if "paused" in n]
            assert len(paused_notices) == 1, deliverer.notices
            assert flaky in paused_notices[0] and "HTTP 500" in paused_notices[0]
            # Exponential backoff: 60, 120, 240, … seconds (jitter off here).
            assert delays == [60, 120, 240, 480, 960, 1920], delays

            server.set("/flaky.xml", mali_feed("flaky"))
            await pipeline.run_cycle()
            await pipeline.run_cycle(force=True)

        drive(fetcher, scenario)
    state = repo.feeds.states()[flaky]
    assert state.status == "active" and state.consecutive_failures == 0
    recovered = [n for n in deliverer.notices if "recovered" in n]
    assert len(recovered) == 1 and flaky in recovered[0], deliverer.notices
    assert len(deliverer.notices) == 2


def test_paused_feed_is_not_fetched_before_its_backoff_even_when_forced(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set("/down.xml", "", status=502)
        pipeline, repo, fetcher, _ = make_pipeline(
            tmp_path / "nw.db", [server.url("/down.xml")], deliverer=RecordingDeliverer()
        )
        pipeline.settings.policy = SchedulePolicy(pause_after_failures=1)

        async def scenario() -> None:
            await pipeline.run_cycle(force=True)
            await pipeline.run_cycle(force=True)

        drive(fetcher, scenario)
        assert len(server.hits_for("/down.xml")) == 1
        assert repo.feeds.states()[server.url("/down.xml")].status == "paused"


def test_retry_after_is_honoured_even_by_a_forced_cycle(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set("/busy.xml", "", status=429, headers={"Retry-After": "600"})
        pipeline, _repo, fetcher, _ = make_pipeline(
            tmp_path / "nw.db", [server.url("/busy.xml")], deliverer=RecordingDeliverer()
        )

        async def scenario() -> None:
            await pipeline.run_cycle(force=True)
            await pipeline.run_cycle(force=True)

        drive(fetcher, scenario)
        assert len(server.hits_for("/busy.xml")) == 1


def test_gone_feed_is_never_fetched_again(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set("/gone.xml", "", status=410)
        deliverer = RecordingDeliverer()
        pipeline, _repo, fetcher, _ = make_pipeline(
            tmp_path / "nw.db", [server.url("/gone.xml")], deliverer=deliverer
        )

        async def scenario() -> None:
            for _ in range(3):
                await pipeline.run_cycle(force=True)

        drive(fetcher, scenario)
        assert len(server.hits_for("/gone.xml")) == 1
        assert len(deliverer.notices) == 1
        assert f"/retry {server.url('/gone.xml')}" in deliverer.notices[0]


def test_a_retried_gone_feed_is_fetched_again_and_can_recover(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set("/gone.xml", "", status=410)
        deliverer = RecordingDeliverer()
        pipeline, repo, fetcher, _ = make_pipeline(
            tmp_path / "nw.db", [server.url("/gone.xml")], deliverer=deliverer
        )
        retried: list[tuple[str, str]] = []

        async def scenario() -> None:
            await pipeline.run_cycle(force=True)
            await pipeline.run_cycle(force=True)  # gone: not fetched
            server.set("/gone.xml", mali_feed("back"))  # the publisher restored it
            retried.append(repo.feeds.retry("gone.xml", datetime.now(UTC)))
            await pipeline.run_cycle()  # not forced: the retry made it due

        drive(fetcher, scenario)
        url = server.url("/gone.xml")
        assert retried == [(url, "gone")]
        state = repo.feeds.states()[url]
        assert len(server.hits_for("/gone.xml")) == 2
        assert (state.status, state.consecutive_failures) == ("active", 0)


@pytest.mark.slow
def test_fetch_starts_are_spread_over_the_cycle(tmp_path: Path) -> None:
    with FeedServer() as server:
        paths = [f"/f{i}.xml" for i in range(8)]
        for path in paths:
            server.set(path, mali_feed(path.strip("/.xml")))
        pipeline, _repo, fetcher, _ = make_pipeline(
            tmp_path / "nw.db", [server.url(p) for p in paths], deliverer=RecordingDeliverer()
        )
        pipeline.settings.spread_seconds = 1.6
        drive(fetcher, lambda: pipeline.run_cycle())
        starts = sorted(h.at for h in server.hits)
    assert len(starts) == 8
    span = starts[-1] - starts[0]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert 0.6 < span < 1.8, span
    assert max(gaps) < 0.6, gaps


def test_feed_hints_set_the_next_fetch_within_bounds(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set("/ttl.xml", rss([{"title": "Bamako", "guid": "t"}], ttl=120))
        server.set("/maxage.xml", mali_feed("maxage"), headers={"Cache-Control": "max-age=5400"})
        server.set(
            "/expires.xml", mali_feed("expires"), headers={"Expires": rfc822(time.time() + 7200)}
        )
        server.set("/huge-ttl.xml", rss([{"title": "Gao", "guid": "h"}], ttl=100000))
        server.set("/plain.xml", mali_feed("plain"))
        paths = ["/ttl.xml", "/maxage.xml", "/expires.xml", "/huge-ttl.xml", "/plain.xml"]
        pipeline, repo, fetcher, _ = make_pipeline(
            tmp_path / "nw.db", [server.url(p) for p in paths], deliverer=RecordingDeliverer()
        )
        clock = Clock()
        pipeline.clock = clock
        pipeline.settings.policy = SchedulePolicy(
            interval=300, min_interval=60, max_interval=6 * 3600, jitter=0.0
        )
        drive(fetcher, lambda: pipeline.run_cycle(force=True))
        states = repo.feeds.states()
    delays = {
        p: (_at(states[server.url(p)].next_fetch_at) - clock.now).total_seconds() for p in paths
    }
    assert delays["/ttl.xml"] == 7200
    assert delays["/maxage.xml"] == 5400
    assert 7100 <= delays["/expires.xml"] <= 7200
    assert delays["/huge-ttl.xml"] == 6 * 3600  # bounded by max_interval
    assert delays["/plain.xml"] == 300


def test_a_failed_batch_of_feed_states_does_not_end_the_cycle(tmp_path: Path) -> None:
    import sqlite3

    with FeedServer() as server:
        server.set("/down.xml", "", status=500)
        server.set("/ok.xml", mali_feed("ok"))
        deliverer = RecordingDeliverer()
        pipeline, repo, fetcher, _ = make_pipeline(
            tmp_path / "nw.db",
            [server.url("/down.xml"), server.url("/ok.xml")],
            deliverer=deliverer,
        )

        def locked(changes: Sequence[tuple[FeedState, FeedState]]) -> None:
            raise sqlite3.OperationalError("database is locked")

        repo.feeds.save = locked  # type: ignore[method-assign]
        report = drive(fetcher, lambda: pipeline.run_cycle(force=True))
    assert report.errors == 1 and report.items_new > 0  # the cycle ran to its end
    assert deliverer.alerts  # and delivered what it stored
    states = repo.feeds.states()
    assert states[server.url("/ok.xml")].last_success_at  # stored with its items
    assert states[server.url("/down.xml")].consecutive_failures == 0  # lost: due again


def test_a_bug_in_the_fetch_path_fails_that_feed_not_the_cycle(tmp_path: Path) -> None:
    # An unexpected exception out of the fetcher (a transport bug) is the feed's failure,
    # recorded with the kind "internal"; the other feeds of the cycle are stored and alerted.
    with FeedServer() as server:
        good = rss([{"title": "JNIM attack near Boulkessi", "link": "https://a.example/1",
                     "guid": "a1", "pubDate": rfc822(time.time() - 600)}])  # fmt: skip
        server.set("/good.xml", good)
        server.set("/bug.xml", good)
        urls = [server.url("/good.xml"), server.url("/bug.xml")]
        deliverer = RecordingDeliverer()
        pipeline, repo, fetcher, _ = make_pipeline(tmp_path / "nw.db", urls, deliverer=deliverer)
        real_fetch = fetcher.fetch

        async def fetch(url: str, *args: Any, **kwargs: Any) -> Any:
            if url.endswith("/bug.xml"):
                raise RuntimeError("transport bug")
            return await real_fetch(url, *args, **kwargs)

        fetcher.fetch = fetch  # type: ignore[method-assign]
        reports: list[Any] = []

        async def scenario() -> None:
            reports.append(await pipeline.run_cycle(force=True))

        drive(fetcher, scenario)
        states = repo.feeds.states(urls)
        bug = states[urls[1]]
        assert bug.last_error_kind is not None and bug.last_error_kind.value == "internal"
        assert bug.consecutive_failures == 1 and "RuntimeError" in (bug.last_error or "")
        assert states[urls[0]].last_success_at is not None
        assert reports[0].alerts == 1
