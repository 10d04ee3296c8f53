"""Stored story signatures (migration 0016, bot.core.story_codec, bot.cycle.story_signatures):
a restart reads them back instead of computing them, and groups exactly as if it had computed
them; a signature of another tag, of other inputs or with corrupt bytes is computed again,
never used and never a crash. Real SQLite files throughout."""

from __future__ import annotations

import contextlib
import json
import logging
import pickle
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.models import Item
from bot.core.story_codec import (
    CODEC_VERSION,
    SignatureCodecError,
    decode_signature,
    encode_signature,
    inputs_digest,
)
from bot.core.story_model import Signature, signature
from bot.core.watchlist import Priority
from bot.cycle.story_grouping import StoryGrouper
from bot.cycle.story_signatures import ROOTS, code_modules, signature_tag, tag_of
from storage.alerts import AlertDraft, NewItem
from storage.db import open_database
from storage.maintenance import prune
from storage.repository import Repository
from tests.harness import default_matcher

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=72)
DATA = Path(__file__).parent / "data"
MATCHER = default_matcher()

# (title, summary, entities): Latin and Arabic script, numbers, instances, no summary, places
CASES = [
    ("Mali: JNIM claims attack on army camp in Boulkessi", "", ("JNIM", "Boulkessi")),
    (
        "Attaque à Kidal : 12 soldats tués, selon l'armée malienne",
        "Des hommes armés ont attaqué un poste de l'armée à Kidal, tuant douze soldats.",
        ("Kidal", "Mali"),
    ),
    ("مقتل 12 جنديا في هجوم على معسكر للجيش في كيدال", "هجوم جديد في شمال مالي", ("Kidal",)),
    ("Game 2 of the Bamako derby postponed", "Round 3 will be played in Ségou.", ("Bamako",)),
    ("Freed hostage Olivier Dubois arrives in Paris", "He was held by JNIM.", ("JNIM",)),
    ("", "", ()),
]


def _grouper(repo: Any, store: bool = True) -> StoryGrouper:
    return StoryGrouper(repo, WINDOW, store_signatures=store)


def _items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(
        (DATA / "stories_labelled.json").read_text(encoding="utf-8")
    )["items"]
    return items


def _store(
    repo: Repository, grouper: StoryGrouper, items: list[dict[str, Any]], at: datetime
) -> list[int | None]:
    """Each item into the database and through the grouper as the pipeline does: store the
    draft without its story, then group the pending alerts (which stores the signature).
    Returns the story ids."""
    stories = []
    for n, entry in enumerate(items):
        title, summary = entry["title"], entry["summary"]
        when = at + timedelta(hours=entry["hours"])
        entities = MATCHER.match(title, summary).entities
        item = Item(
            "https://example.org/feed",
            "Example",
            None,
            f"https://example.org/{n}",
            title,
            summary,
            None,
        )
        draft = AlertDraft(
            source=entry["outlet"],
            title=title,
            link=item.link,
            summary=summary,
            published=None,
            entities=tuple(entities),
            matches=(),
            priority=Priority.NORMAL,
            chats=(),
            group_later=True,
        )
        key = f"{entry['story']}-{n}-{at.isoformat()}"
        stored = repo.alerts.store_feed_items(
            "https://example.org/feed",
            [NewItem(key, None, "https://example.org/feed", title, item.link, None, alert=draft)],
            when,
            None,
        )
        assert stored == []
        filed, left = grouper.group_pending(when)
        assert left == 0
        # None: the story already had an alert from that outlet (one row per story and outlet)
        stories.append(filed[0].story_id if filed else None)
    return stories


def _signatures(grouper: StoryGrouper) -> list[Any]:
    return [m[0] if m is not None else None for m in grouper.index._members]


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    return Repository(open_database(tmp_path / "nw.db"))


# ----- the codec --------------------------------------------------------------------------
@pytest.mark.parametrize(("title", "summary", "entities"), CASES)
def test_a_signature_reads_back_equal(title: str, summary: str, entities: tuple[str, ...]) -> None:
    grouper = _grouper(None)
    sig = grouper.signature(title, summary, entities)
    digest = inputs_digest(title, summary, entities)
    assert decode_signature(encode_signature(sig, digest), digest) == sig


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=120), st.text(max_size=200), st.lists(st.text(max_size=12), max_size=3))
def test_any_text_reads_back_equal(title: str, summary: str, entities: list[str]) -> None:
    sig = signature(title, summary, entities)
    digest = inputs_digest(title, summary, entities)
    assert decode_signature(encode_signature(sig, digest), digest) == sig


def test_a_lone_surrogate_is_never_stored_and_never_fails_the_item(repo: Repository) -> None:
    # a JSON feed can carry "\\ud800", which has no UTF-8 form
    odd = Signature(title_grams=frozenset(), text_grams=b"", tokens=frozenset({"\ud800"}))
    with pytest.raises(SignatureCodecError):
        encode_signature(odd, inputs_digest("t", "", ()))
    title = "Mali: attaque \ud800 à Kidal"
    grouper = _grouper(repo)
    link = "https://example.org/s"
    item = Item("https://example.org/feed", "Example", None, link, title, "", None)
    placed = grouper.place(item.title, item.summary, ["Kidal"], item.published, NOW)
    assert placed.story_id is None
    if placed.stored is not None:  # normalised away: stored, and read back as computed
        data = placed.stored[1]
        digest = inputs_digest(title, "", ("Kidal",))
        assert decode_signature(data, digest) == grouper.signature(title, "", ("Kidal",))


def test_grams_are_the_same_in_every_process() -> None:
    # stored grams must not depend on the process's string hash seed
    sig = signature("Kidal", "")
    ids = {
        (ord(g[0]) << 42) | (ord(g[1]) << 21) | ord(g[2])
        for g in (" ki", "kid", "ida", "dal", "al ")
    }
    assert sig.title_grams == frozenset(ids)


def _valid() -> tuple[bytes, bytes]:
    title, summary, entities = CASES[1]
    digest = inputs_digest(title, summary, entities)
    return encode_signature(_grouper(None).signature(title, summary, entities), digest), digest


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("empty", lambda d: b""),
        ("header only", lambda d: d[:17]),
        ("truncated", lambda d: d[: len(d) // 2]),
        ("a bit flipped in the grams", lambda d: _flip(d, 40)),
        ("a bit flipped in the JSON", lambda d: _flip(d, len(d) - 5)),
        ("another format version", lambda d: d[:4] + bytes([CODEC_VERSION + 1]) + d[5:]),
        ("not ours", lambda d: b"GIF89a" + d[6:]),
        ("a pickle", lambda d: pickle.dumps({"title_grams": [1, 2]})),
        ("not bytes", lambda d: "NWSG"),
    ],
)
def test_damaged_bytes_raise_the_codec_error(name: str, damage: Any) -> None:
    data, digest = _valid()
    with pytest.raises(SignatureCodecError):
        decode_signature(damage(data), digest)


def test_a_signature_of_other_inputs_is_refused() -> None:
    data, _digest = _valid()
    with pytest.raises(SignatureCodecError, match="other inputs"):
        decode_signature(data, inputs_digest("another title", "", ()))


def _forged(fields_json: bytes) -> tuple[bytes, bytes]:
    """A blob with a valid header and CRC around other JSON fields."""
    import struct
    import zlib

    data, digest = _valid()
    view = data[17:]
    at = 0
    for _ in range(3):  # title grams, text grams, title numbers (the binary fields)
        (length,) = struct.unpack_from("<I", view, at)
        at += 4 + length
    body = view[:at] + fields_json
    return struct.pack("<4sBI8s", b"NWSG", CODEC_VERSION, zlib.crc32(body), digest) + body, digest


@pytest.mark.parametrize(
    "fields_json",
    [b"{}", b"[]", b"[1, 2]", b"null", b'["x"' + b"]" * 2, b"[" * 10_000 + b"]" * 10_000],
)
def test_foreign_json_with_a_valid_crc_raises_the_codec_error(fields_json: bytes) -> None:
    data, digest = _forged(fields_json)
    with pytest.raises(SignatureCodecError):
        decode_signature(data, digest)


def test_a_field_of_the_wrong_type_raises_the_codec_error() -> None:
    data, digest = _valid()
    good = json.loads(data[17:][data.index(b"[[") - 17 :])
    for n, value in enumerate(good):
        wrong = list(good)
        wrong[n] = [7] if isinstance(value, list) else [value]
        forged, digest = _forged(json.dumps(wrong).encode())
        with pytest.raises(SignatureCodecError):
            decode_signature(forged, digest)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    _valid_data, digest = _valid()
    for blob in (data, _valid_data[:17] + data):
        with contextlib.suppress(SignatureCodecError):
            decode_signature(blob, digest)


# ----- the tag ----------------------------------------------------------------------------
def test_the_tag_covers_the_signature_code_and_its_imports() -> None:
    modules = code_modules()
    assert modules is not None
    for name in (*ROOTS, "bot.core.normalize", "bot.core.stories", "bot.core.language"):
        assert name in modules
    assert not any(name.startswith("storage") for name in modules)
    assert signature_tag() == signature_tag()


def test_the_tag_changes_with_the_code_and_each_data_file() -> None:
    modules = {"bot.core.story_model": b"code"}
    data: list[tuple[str, bytes | None]] = [
        ("gazetteer", b"g"),
        ("actions", b"a"),
        ("meanings", b"m"),
    ]
    base = tag_of(modules, data)
    assert tag_of({"bot.core.story_model": b"code!"}, data) != base
    for n in range(len(data)):
        changed = list(data)
        changed[n] = (data[n][0], b"other")
        assert tag_of(modules, changed) != base
        changed[n] = (data[n][0], None)  # the file missing: the grouper goes without it
        assert tag_of(modules, changed) != base


# ----- storing and reading back -----------------------------------------------------------
def test_alerts_are_stored_with_their_signature_and_a_restart_reads_them_back(
    repo: Repository,
) -> None:
    items = _items()[:12]
    _store(repo, _grouper(repo), items, NOW - timedelta(hours=24))
    count, tag = repo.db.execute("SELECT count(*), min(tag) FROM story_signatures").fetchone()
    assert count == len(items) and tag == signature_tag()
    restarted = _grouper(repo)
    assert restarted.load(NOW) == len(items)
    assert restarted.loaded_stored == len(items)
    fresh = _grouper(repo, store=False)
    fresh.load(NOW)
    assert _signatures(restarted) == _signatures(fresh)


def test_a_signature_of_another_tag_is_computed_and_stored_again(repo: Repository) -> None:
    items = _items()[:8]
    _store(repo, _grouper(repo), items, NOW - timedelta(hours=24))
    repo.db.execute("UPDATE story_signatures SET tag = 'an older version'")
    grouper = _grouper(repo)
    grouper.load(NOW)
    assert grouper.loaded_stored == 0
    fresh = _grouper(repo, store=False)
    fresh.load(NOW)
    assert _signatures(grouper) == _signatures(fresh)
    tags = repo.db.execute("SELECT DISTINCT tag FROM story_signatures").fetchall()
    assert tags == [(signature_tag(),)]  # written back: the next restart reads them
    again = _grouper(repo)
    again.load(NOW)
    assert again.loaded_stored == len(items)


def test_alerts_stored_before_the_migration_get_theirs_at_the_first_restart(
    repo: Repository,
) -> None:
    items = _items()[:6]
    _store(repo, _grouper(repo, store=False), items, NOW - timedelta(hours=24))
    assert repo.db.execute("SELECT count(*) FROM story_signatures").fetchone()[0] == 0
    first = _grouper(repo)
    first.load(NOW)
    assert first.loaded_stored == 0
    second = _grouper(repo)
    second.load(NOW)
    assert second.loaded_stored == len(items)


def test_corrupt_signatures_are_computed_again_and_logged(
    repo: Repository, caplog: pytest.LogCaptureFixture
) -> None:
    items = _items()[:6]
    _store(repo, _grouper(repo), items, NOW - timedelta(hours=24))
    ids = [r[0] for r in repo.db.execute("SELECT alert_id FROM story_signatures ORDER BY 1")]
    damaged = {
        ids[0]: b"",
        ids[1]: b"garbage",
        ids[2]: pickle.dumps(["not", "ours"]),
        # another alert's valid signature under this alert's id: other inputs
        ids[3]: repo.db.execute(
            "SELECT data FROM story_signatures WHERE alert_id = ?", [ids[4]]
        ).fetchone()[0],
    }
    for alert_id, data in damaged.items():
        repo.db.execute("UPDATE story_signatures SET data = ? WHERE alert_id = ?", [data, alert_id])
    with caplog.at_level(logging.WARNING, logger="newswatch.stories"):
        grouper = _grouper(repo)
        grouper.load(NOW)
    assert grouper.loaded_stored == len(items) - len(damaged)
    assert "4 stored signature(s) unreadable" in caplog.text
    fresh = _grouper(repo, store=False)
    fresh.load(NOW)
    assert _signatures(grouper) == _signatures(fresh)
    healed = _grouper(repo)
    healed.load(NOW)
    assert healed.loaded_stored == len(items)


def test_an_edited_alert_text_is_not_read_with_its_old_signature(repo: Repository) -> None:
    items = _items()[:3]
    _store(repo, _grouper(repo), items, NOW - timedelta(hours=24))
    repo.db.execute(
        "UPDATE alerts SET title = 'Another title entirely' WHERE id = (SELECT min(id) FROM alerts)"
    )
    grouper = _grouper(repo)
    grouper.load(NOW)
    assert grouper.loaded_stored == len(items) - 1
    fresh = _grouper(repo, store=False)
    fresh.load(NOW)
    assert _signatures(grouper) == _signatures(fresh)


def test_a_restart_groups_as_a_fresh_compute(tmp_path: Path) -> None:
    items = _items()
    start = NOW - timedelta(hours=30)
    half = len(items) // 2
    first, second = items[:half], items[half:]
    repo = Repository(open_database(tmp_path / "nw.db"))
    kept = sum(story is not None for story in _store(repo, _grouper(repo), first, start))
    repo.db.conn.close()
    shutil.copy(tmp_path / "nw.db", tmp_path / "fresh.db")
    stored = Repository(open_database(tmp_path / "nw.db"))
    fresh = Repository(open_database(tmp_path / "fresh.db"))
    restarted, computed = _grouper(stored), _grouper(fresh, store=False)
    assert _store(stored, restarted, second, start) == _store(fresh, computed, second, start)
    assert restarted.loaded_stored == kept


def test_signatures_older_than_the_window_are_deleted(repo: Repository) -> None:
    old, recent = _items()[:4], _items()[4:8]
    _store(repo, _grouper(repo), old, NOW - timedelta(hours=100))
    _store(repo, _grouper(repo), recent, NOW - timedelta(hours=10))
    grouper = _grouper(repo)
    assert grouper.load(NOW) == len(recent)
    assert repo.db.execute("SELECT count(*) FROM story_signatures").fetchone()[0] == len(recent)


def test_retention_pruning_deletes_the_signatures_with_their_alerts(repo: Repository) -> None:
    _store(repo, _grouper(repo), _items()[:4], NOW - timedelta(days=200))
    assert repo.db.execute("SELECT count(*) FROM story_signatures").fetchone()[0] == 4
    prune(repo.db, NOW, retention_days=180)
    assert repo.db.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
    assert repo.db.execute("SELECT count(*) FROM story_signatures").fetchone()[0] == 0


def test_maintenance_deletes_the_signatures_older_than_the_window(repo: Repository) -> None:
    # `run` re-indexes only at start: the daily maintenance keeps the table to the window
    _store(repo, _grouper(repo), _items()[:3], NOW - timedelta(hours=100))
    _store(repo, _grouper(repo), _items()[3:5], NOW - timedelta(hours=10))
    report = prune(repo.db, NOW, retention_days=180, story_window=WINDOW)
    assert report.signatures == 3 and "story_signatures=3" in report.summary()
    assert repo.db.execute("SELECT count(*) FROM story_signatures").fetchone()[0] == 2
    assert repo.db.execute("SELECT count(*) FROM alerts").fetchone()[0] == 5


def test_a_failed_write_back_never_fails_the_load(
    repo: Repository, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(repo, _grouper(repo, store=False), _items()[:3], NOW - timedelta(hours=5))

    def fail(*_args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(repo.alerts, "save_story_signatures", fail)
    with caplog.at_level(logging.WARNING, logger="newswatch.stories"):
        grouper = _grouper(repo)
        assert grouper.load(NOW) == 3
    assert "story signatures not stored: database or disk is full" in caplog.text


def test_custom_lexicons_store_nothing(repo: Repository) -> None:
    grouper = StoryGrouper(repo, WINDOW, places=None, store_signatures=True)
    assert grouper.tag is None
    _store(repo, grouper, _items()[:2], NOW - timedelta(hours=5))
    assert repo.db.execute("SELECT count(*) FROM story_signatures").fetchone()[0] == 0
