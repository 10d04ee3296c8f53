"""/map and `newswatch map`: incidents drawn where they happened, coloured by type, sized by
toll, over the shipped outlines; Arabic place names shaped; the bot sends it as a photo."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.core.incidents import EventType
from bot.core.matching import Hit
from bot.core.records import IncidentRecord
from bot.core.watchlist import Priority
from bot.data.gazetteer_file import load_default_boundaries
from bot.data.incident_data import load_default_tagger
from bot.render.incident_map import TYPE_COLOURS, map_for, points_from_rows, render_map
from storage.db import open_database
from storage.repository import AlertDraft, NewItem, Repository
from tests.bot_process import RunningBot
from tests.conftest import TOKEN, main_env, telegram_env, write_feed_list
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import ROOT

ADMIN = 7101
ADMIN_CHAT = 71010
FEED = "https://feeds.example.org/sahel.xml"
INCIDENTS = [
    # title, hours ago
    ("Mali: at least 12 soldiers killed in jihadist attack on Boulkessi camp", 5),
    ("Mali: MINUSMA hands over its Ansongo camp to the army", 30),
    ("Drone strike kills 8 in Kidal, Mali", 60),
    ("Mali: JNIM attack on Timbuktu airport and army camp", 90),
]


def _image(png: bytes) -> Any:
    from matplotlib import image

    return image.imread(io.BytesIO(png), format="png")


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    return tuple(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def _near_colour(img: Any, x: float, y: float, colour: str, radius: int = 2) -> bool:
    want = _rgb(colour)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            r, g, b = img[round(y) + dy, round(x) + dx][:3]
            if max(abs(r - want[0]), abs(g - want[1]), abs(b - want[2])) < 0.12:
                return True
    return False


def _rows(titles: list[tuple[str, int]] = INCIDENTS) -> list[IncidentRecord]:
    tagger = load_default_tagger()
    rows: list[IncidentRecord] = []
    for i, (title, _hours) in enumerate(titles):
        rows.append(
            IncidentRecord(
                id=i + 1, story_id=i + 1, title=title, incident=tagger.tag(title).fields(), at=None
            )
        )
    return rows


def test_points_are_drawn_where_the_incidents_are() -> None:
    rendered, caption = map_for(_rows(), load_default_boundaries(), period_label="30d")
    img = _image(rendered.png)
    assert img.shape[:2] == (rendered.height, rendered.width) == (600, 800)
    points = points_from_rows(_rows())
    boulkessi = next(i for i, p in enumerate(points) if p.label == "Boulkessi")
    x, y = rendered.pixels[boulkessi]
    assert _near_colour(img, x, y, TYPE_COLOURS[EventType.BATTLES])
    drone = next(i for i, p in enumerate(points) if p.label == "Kidal")
    assert _near_colour(img, *rendered.pixels[drone], TYPE_COLOURS[EventType.EXPLOSIONS])
    # nowhere near a point: land colour, not a marker colour
    assert not _near_colour(img, 60, 60, TYPE_COLOURS[EventType.BATTLES])
    assert "4 incident(s)" in caption and "Battle: 2" in caption and "20 killed" in caption


def test_marker_size_grows_with_the_toll() -> None:
    from bot.render.incident_map import marker_size

    assert marker_size(None) < marker_size(1) < marker_size(12) < marker_size(200)


def test_arabic_place_names_are_shaped_right_to_left() -> None:
    """Arabic letters are joined (contextual forms): the shaped word is narrower than the same
    letters kept apart with zero-width non-joiners, and the label is drawn in Arabic."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 2), dpi=100)
    canvas = FigureCanvasAgg(figure)
    joined = figure.text(0.1, 0.6, "تمبكتو", fontsize=20)
    apart = figure.text(0.1, 0.2, "\u200c".join("تمبكتو"), fontsize=20)
    canvas.draw()  # type: ignore[no-untyped-call]  # matplotlib's Agg canvas is untyped
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    w_joined = joined.get_window_extent(renderer).width
    w_apart = apart.get_window_extent(renderer).width
    assert w_joined < 0.9 * w_apart
    # the glyphs really are the Arabic contextual forms, last letter leftmost (right to left)
    from matplotlib import font_manager, ft2font

    font = ft2font.FT2Font(font_manager.findfont("DejaVu Sans"))
    layout = font._layout("تمبكتو", ft2font.LoadFlags.DEFAULT)
    names = [font.get_glyph_name(item.glyph_index) for item in layout]
    assert names[0] == "uniFEEE"  # و final form, drawn first (leftmost)
    assert names[-1] == "uniFE97"  # ت initial form, drawn last (rightmost)
    rows = _rows([("Mali: JNIM attack on Timbuktu airport and army camp", 1)])
    (point,) = points_from_rows(rows, arabic=True)
    assert point.label == "تمبكتو"
    rendered = render_map([point], load_default_boundaries(), "خريطة")
    assert rendered.png.startswith(b"\x89PNG")


# Stored values this version cannot read, or does not know: (event_type, places, fatalities,
# severity) written straight into alerts rows, as a newer version, a hand edit or a damaged row
# may leave them.
BAD_ROWS = [
    ("battles", '{"not": "a list"}', 3, "high"),  # places not a list: no place
    ("battles", "not json", None, "low"),  # unreadable: no place
    # entries that are no object are skipped; a coordinate that is no number is no coordinate:
    # the first place with both coordinates is drawn
    ("battles", '[1, "x", null, {"id": "ml-gao", "name": "Gao", "lat": "abc", "lon": -0.04},'
     ' {"id": "ml-kidal", "name": "Kidal", "lat": 18.44, "lon": 1.41}]', "many", "medium"),
    # a type, kind and severity this version does not know: still drawn (grey) and exported
    ("looting", '[{"id": "ml-mopti", "name": "Mopti", "lat": 14.49, "lon": -4.19,'
     ' "kind": "metropolis"}]', 2, "extreme"),
    ("battles", '[{"id": "x", "name": "Nowhere", "lat": NaN, "lon": 1e999}]', 1, None),
]  # fmt: skip


def test_bad_stored_incidents_never_break_the_map_or_the_export(tmp_path: Path) -> None:
    from bot.core.alert_views import alert_view
    from bot.core.reports import alerts_csv
    from bot.render.incident_map import UNKNOWN_COLOUR
    from storage.queries import Queries

    repo = Repository(open_database(tmp_path / "newswatch.db"))
    now = datetime.now(UTC)
    for n, (event_type, places, fatalities, severity) in enumerate(BAD_ROWS):
        draft = AlertDraft(
            source="Wire", title=f"Bad row {n}", link=None, summary="", published=now,
            entities=("Mali",), matches=(), priority=Priority.NORMAL, chats=(),
        )  # fmt: skip
        [stored] = repo.alerts.store_feed_items(
            FEED, [NewItem(f"bad-{n}", None, FEED, draft.title, None, now, alert=draft)], now, None
        )
        repo.db.execute(
            "UPDATE alerts SET event_type = ?, places = ?, fatalities = ?, severity = ?"
            " WHERE id = ?",
            [event_type, places, fatalities, severity, stored.alert_id],
        )
    queries = Queries(repo.db)
    rows = queries.incident_rows(now - timedelta(days=1), now + timedelta(days=1))
    points = points_from_rows(rows)
    assert [(p.label, p.event_type, p.fatalities) for p in points] == [
        ("Kidal", EventType.BATTLES, None),
        ("Mopti", None, 2),
    ]
    rendered, caption = map_for(rows, load_default_boundaries(), period_label="1d")
    img = _image(rendered.png)
    assert _near_colour(img, *rendered.pixels[0], TYPE_COLOURS[EventType.BATTLES])
    assert _near_colour(img, *rendered.pixels[1], UNKNOWN_COLOUR)
    assert "2 incident(s)" in caption and "Battle: 1" in caption
    # the export keeps what is stored, and every alert still has its message
    exported = list(queries.export_rows())
    csv_text = alerts_csv(exported)
    assert "looting" in csv_text and "extreme" in csv_text and "Mopti" in csv_text
    kidal = next(a for a in exported if a.title == "Bad row 2")
    assert [p.name for p in kidal.incident.places] == ["Gao", "Kidal"]
    assert kidal.incident.places[0].point is None and kidal.incident.fatalities is None
    assert alert_view(kidal).incident == "⚔️ Battle · Gao, Kidal"
    looting = next(a for a in exported if a.title == "Bad row 3")
    assert looting.incident.is_incident and looting.incident.severity is None
    assert alert_view(looting).incident == ""  # no icon for a type this version does not know
    repo.db.conn.close()


# ----- the bot ------------------------------------------------------------------------------
def _seed(db_path: Path, now: datetime) -> None:
    repo = Repository(open_database(db_path))
    tagger = load_default_tagger()
    for title, hours in INCIDENTS:
        at = now - timedelta(hours=hours)
        key = hashlib.sha1(title.encode()).hexdigest()
        link = f"https://news.example.org/{key[:10]}"
        draft = AlertDraft(
            source="Wire", title=title, link=link, summary="", published=at,
            entities=("Mali",), matches=(Hit("Mali", "Mali", "title"),),
            priority=Priority.NORMAL, chats=(), incident=tagger.tag(title).fields(),
        )  # fmt: skip
        repo.alerts.store_feed_items(
            FEED, [NewItem(key, link, FEED, title, link, at, alert=draft)], at, None
        )
    repo.db.conn.close()


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    tmp = tmp_path_factory.mktemp("map")
    now = datetime.now(UTC)
    _seed(tmp / "newswatch.db", now)
    with FakeTelegramAPI(TOKEN) as api:
        env = main_env(
            tmp / "newswatch.db",
            NEWSWATCH_FEEDS=str(write_feed_list(tmp, [])),
            NEWSWATCH_ADMIN_IDS=str(ADMIN),
        )
        env = telegram_env(env, api, str(ADMIN_CHAT))
        proc = RunningBot(env)
        try:
            assert api.wait_for(lambda s: bool(s.commands), timeout=40), proc.output()
            yield SimpleNamespace(api=api, proc=proc, tmp=tmp, env=env, now=now)
        finally:
            proc.stop()


@pytest.mark.slow
def test_map_command_sends_the_map(bot: SimpleNamespace) -> None:
    before = len(bot.api.state.photos)
    bot.api.push_message("/map 30d", chat_id=ADMIN_CHAT, user_id=ADMIN)
    assert bot.api.wait_for(lambda s: len(s.photos) > before, timeout=60), bot.proc.output()
    photo = bot.api.state.photos[-1]
    png = photo["bytes"]
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
    img = _image(png)
    assert img.shape[:2] == (600, 800)
    # the same rows drawn here give the pixel of Boulkessi; the bot's PNG has a battle there
    expected = map_for(_rows(), load_default_boundaries(), period_label="30d")[0]
    points = points_from_rows(_rows())
    index = next(i for i, p in enumerate(points) if p.label == "Boulkessi")
    assert _near_colour(img, *expected.pixels[index], TYPE_COLOURS[EventType.BATTLES])
    assert "4 incident(s) with a known place in the last 30d" in photo["caption"]


@pytest.mark.slow
def test_map_command_with_a_short_period_and_arabic_labels(bot: SimpleNamespace) -> None:
    before = len(bot.api.state.photos)
    bot.api.push_message("/map 10h ar", chat_id=ADMIN_CHAT, user_id=ADMIN)
    assert bot.api.wait_for(lambda s: len(s.photos) > before, timeout=60), bot.proc.output()
    photo = bot.api.state.photos[-1]
    assert "1 incident(s) with a known place in the last 10h" in photo["caption"]
    # The label next to Boulkessi is the shaped Arabic name: the bot's pixels there are those of
    # the Arabic rendering made here (shaping checked above), not those of the Latin one.
    rows = _rows(INCIDENTS[:1])
    boundaries = load_default_boundaries()
    arabic = map_for(rows, boundaries, period_label="10h", arabic=True)[0]
    latin = map_for(rows, boundaries, period_label="10h", arabic=False)[0]
    x, y = (round(v) for v in arabic.pixels[0])
    window = (slice(y - 22, y + 2), slice(x + 4, x + 60))
    got, want, other = _image(photo["bytes"]), _image(arabic.png), _image(latin.png)
    assert (got[window] == want[window]).all()
    assert not (got[window] == other[window]).all()


@pytest.mark.slow
def test_map_cli_writes_a_png(bot: SimpleNamespace, tmp_path: Path) -> None:
    out = tmp_path / "m.png"
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "map", "30d", "--out", str(out)],
        env=bot.env, capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"\x89PNG") and "4 incident(s)" in done.stdout


@pytest.mark.slow
def test_incident_fields_are_stored(bot: SimpleNamespace) -> None:
    db = sqlite3.connect(bot.tmp / "newswatch.db")
    row = db.execute(
        "SELECT event_type, fatalities, severity, places FROM alerts WHERE title LIKE '%Boulkessi%'"
    ).fetchone()
    assert row[:3] == ("battles", 12, "high")
    assert json.loads(row[3])[0]["name"] == "Boulkessi"


# ----- search, stats, export and priority with incident fields ------------------------------
def _reply(bot: SimpleNamespace, text: str) -> str:
    from tests.fakes.telegram_api import parse_telegram_html

    before = len(bot.api.messages_to(ADMIN_CHAT))
    bot.api.push_message(text, chat_id=ADMIN_CHAT, user_id=ADMIN)
    assert bot.api.wait_for(lambda s: len(bot.api.messages_to(ADMIN_CHAT)) > before, timeout=30)
    return parse_telegram_html(bot.api.messages_to(ADMIN_CHAT)[-1].text)


@pytest.mark.slow
def test_search_by_type_and_place(bot: SimpleNamespace) -> None:
    text = _reply(bot, "/search type:drone place:Kidal")
    assert "1 alert(s)" in text and "Drone strike kills 8 in Kidal" in text
    text = _reply(bot, "/search type:battle")
    assert "2 alert(s)" in text and "Boulkessi" in text and "Timbuktu" in text
    assert "not in the gazetteer" in _reply(bot, "/search place:Atlantis")
    assert "not an incident type" in _reply(bot, "/search type:picnic")
    assert "No alerts match" in _reply(bot, "/search type:riot")


@pytest.mark.slow
def test_stats_by_event_type(bot: SimpleNamespace) -> None:
    text = _reply(bot, "/stats 30d")
    assert "By event type" in text
    assert "battles: 2" in text and "explosions_remote_violence: 1" in text


@pytest.mark.slow
def test_export_has_incident_columns(bot: SimpleNamespace) -> None:
    import csv

    before = len(bot.api.state.documents)
    bot.api.push_message("/export 30d", chat_id=ADMIN_CHAT, user_id=ADMIN)
    assert bot.api.wait_for(lambda s: len(s.documents) > before, timeout=30)
    rows = list(csv.DictReader(io.StringIO(bot.api.state.documents[-1]["bytes"].decode())))
    row = next(r for r in rows if "Boulkessi" in r["title"])
    assert (row["event_type"], row["sub_event"], row["fatalities"]) == (
        "battles", "armed clash", "12",
    )  # fmt: skip
    assert row["places"] == "Boulkessi" and (row["lat"], row["lon"]) == ("15.14", "-1.08")
    assert row["severity"] == "high"


@pytest.mark.slow
def test_priority_command(bot: SimpleNamespace) -> None:
    assert "Every matched alert comes at once" in _reply(bot, "/priority")
    assert "Only high-severity incidents" in _reply(bot, "/priority high-only")
    assert "every entity: high" in _reply(bot, "/priority")
    assert "Mali: only incidents of severity medium" in _reply(bot, "/priority Mali medium")
    assert "No minimum severity" in _reply(bot, "/priority off")
    assert "Usage" in _reply(bot, "/priority Mali extreme")
    # A level this version does not know (a newer version's, or typed by hand) is shown as
    # ignored, never a crash; /priority off clears it.
    with closing(sqlite3.connect(bot.tmp / "newswatch.db", timeout=30)) as db, db:
        db.execute(
            "INSERT INTO severity_prefs (chat_id, entity, min_severity, updated_at)"
            " VALUES (?, 'mali', 'critical', ?)",
            [ADMIN_CHAT, bot.now.isoformat()],
        )
    assert "mali: 'critical' (unknown level: ignored" in _reply(bot, "/priority")
    assert "No minimum severity" in _reply(bot, "/priority off")
    assert "Every matched alert comes at once" in _reply(bot, "/priority")
