"""The CLI twins: `main.py search|recent|stats|export|feeds|feeds export` on a seeded database."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.commands_seed import seed_alerts
from tests.conftest import ROOT, main_env, run_main, write_feed_list
from tests.fakes.feed_server import rss

pytestmark = pytest.mark.slow  # every test runs main.py


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("cli")
    seed_alerts(tmp / "nw.db", datetime.now(UTC)).db.conn.close()
    feeds = write_feed_list(tmp, ["http://127.0.0.1:9/a.xml", "http://127.0.0.1:9/b.xml"])
    return main_env(tmp / "nw.db", NEWSWATCH_FEEDS=str(feeds))


def test_search_apostrophe_and_operators(env: dict[str, str]) -> None:
    out = run_main(["search", "Jama'at"], env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("1 alert(s) match Jama'at") and "Kidal" in out.stdout
    hostile = run_main(["search", 'NEAR( "goita'], env)
    assert hostile.returncode == 0 and "Traceback" not in hostile.stderr
    empty = run_main(["search", "*"], env)
    assert empty.returncode == 2 and "Nothing to search" in empty.stderr


def test_search_by_unknown_type_or_place_is_a_user_error(env: dict[str, str]) -> None:
    kind = run_main(["search", "Mali type:picnic"], env)
    assert kind.returncode == 2 and kind.stdout == "" and "Traceback" not in kind.stderr
    assert kind.stderr.startswith("type:picnic is not an incident type; one of: battle, ")
    assert "sub-events: abduction, " in kind.stderr
    place = run_main(["search", "Mali place:Atlantis"], env)
    assert place.returncode == 2 and place.stdout == ""
    assert place.stderr.strip() == (
        "place:Atlantis is not in the gazetteer (docs/incidents.md: add a place)."
    )
    typed = run_main(["search", "type:battle"], env)  # the seeds carry no incident
    assert typed.returncode == 0 and typed.stdout.startswith("0 alert(s) match type:battles")


def test_recent_and_bad_span(env: dict[str, str]) -> None:
    out = run_main(["recent", "2"], env)
    assert out.returncode == 0
    assert out.stdout.count("\n[") == 1 and "army positions near Bamako" in out.stdout
    bad = run_main(["recent", "soon"], env)
    assert bad.returncode == 2 and "not a period" in bad.stderr


def test_stats(env: dict[str, str]) -> None:
    out = run_main(["stats", "7d"], env)
    assert out.returncode == 0
    # Stories, not reports: the two reports of the Bamako attack are one JNIM story.
    assert "Stories over the last 7d" in out.stdout and "JNIM: 3" in out.stdout
    assert "report(s)" in out.stdout
    assert "<b>" not in out.stdout


def test_export_csv(env: dict[str, str]) -> None:
    out = run_main(["export"], env)
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert out.returncode == 0 and len(rows) == 12
    assert rows[0]["created_at"] <= rows[-1]["created_at"]
    assert len(list(csv.DictReader(io.StringIO(run_main(["export", "1d"], env).stdout)))) == 5


def test_feeds_and_opml(env: dict[str, str]) -> None:
    out = run_main(["feeds"], env)
    assert out.returncode == 0 and out.stdout.count("http://127.0.0.1:9/") == 2
    assert "new" in out.stdout  # never fetched
    opml = run_main(["feeds", "export"], env)
    assert opml.returncode == 0 and opml.stdout.startswith("<?xml")
    assert 'xmlUrl="http://127.0.0.1:9/a.xml"' in opml.stdout


def test_feeds_retry_makes_a_disabled_feed_due_and_says_so(env: dict[str, str]) -> None:
    import sqlite3

    db = sqlite3.connect(env["NEWSWATCH_DB"])
    with db:
        db.execute(
            "INSERT INTO feeds (url, status, created_at, consecutive_failures, items_total)"
            " VALUES ('https://gone.example/rss', 'gone', '2026-01-01T00:00:00+00:00', 3, 0)"
        )
    out = run_main(["feeds", "retry", "gone.example"], env)
    assert out.returncode == 0, out.stderr
    assert "https://gone.example/rss (disabled after 410 Gone) is active again" in out.stdout
    status, failures = db.execute(
        "SELECT status, consecutive_failures FROM feeds WHERE url = 'https://gone.example/rss'"
    ).fetchone()
    assert (status, failures) == ("active", 0)
    missing = run_main(["feeds", "retry", "nowhere.example"], env)
    assert missing.returncode == 2 and "no feed matches 'nowhere.example'" in missing.stderr
    bare = run_main(["feeds", "retry"], env)
    assert bare.returncode == 2 and "give the feed's URL" in bare.stderr
    db.close()


def test_main_help_lists_the_subcommands(env: dict[str, str]) -> None:
    out = run_main(["--help"], env)
    for name in ("search", "recent", "stats", "export", "feeds"):
        assert name in out.stdout


@pytest.mark.parametrize(
    "command", [["recent"], ["search", "Mali"], ["feeds"], ["stats"], ["export"]]
)
def test_read_only_commands_never_create_a_database(tmp_path: Path, command: list[str]) -> None:
    """From any directory, with no database yet: nothing is created, and we say where we looked."""
    env = main_env(XDG_DATA_HOME=str(tmp_path / "xdg"))
    out = run_main(command, env)
    expected = tmp_path / "xdg" / "newswatch" / "newswatch.db"
    assert out.returncode == 1, out.stdout + out.stderr
    assert str(expected) in out.stderr and "NEWSWATCH_DB" in out.stderr
    assert not expected.exists() and not (tmp_path / "xdg").exists()
    assert "No alerts" not in out.stdout


def test_config_option_after_the_subcommand(tmp_path: Path, env: dict[str, str]) -> None:
    config = tmp_path / "nw.toml"
    config.write_text('# newswatch\n\ntimezone = "Mars/Olympus"\n')
    for args in (["--config", str(config), "recent"], ["recent", "--config", str(config)]):
        out = run_main(args, env)
        assert out.returncode == 2, out.stderr
        assert f"{config}:3: timezone: unknown time zone" in out.stderr
    good = tmp_path / "good.toml"
    good.write_text('timezone = "UTC"\n')
    assert run_main(["recent", "2", "--config", str(good)], env).returncode == 0


def test_lists_show_story_ids_and_story_is_the_twin_of_the_bot_command(env: dict[str, str]) -> None:
    """The CLI listed alert ids where the bot shows story ids, and had no `story`."""
    out = run_main(["recent", "2"], env)
    match = re.search(r"^\[story (\d+)\] ", out.stdout, re.M)
    assert match, out.stdout
    story = run_main(["story", match.group(1)], env)
    assert story.returncode == 0, story.stderr
    assert f"Story {match.group(1)}" in story.stdout and "https://" in story.stdout
    assert "RFI Afrique" in story.stdout and "France 24" in story.stdout
    missing = run_main(["story", "999999"], env)
    assert missing.returncode == 1 and "no story 999999" in missing.stderr


def test_match_into_a_closed_pipe_prints_no_traceback(tmp_path: Path) -> None:
    """`main.py match … | head` printed a BrokenPipeError traceback."""
    items = [
        {"title": f"Mali: report {i} on the situation near Kidal", "link": f"https://x.org/{i}",
         "guid": f"g{i}", "description": "Sahel news. " * 20}
        for i in range(3000)
    ]  # fmt: skip
    feed = tmp_path / "big.xml"
    feed.write_text(rss(items), encoding="utf-8")
    env = main_env()
    # Raw Popen, not run_main: the test closes main.py's stdout under it, as `head` does.
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "match", "--all", str(feed)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # what `head -1` does
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
