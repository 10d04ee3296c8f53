"""Watchlist TOML parsing, validation with file:line problems, merging, loading and hot reload."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.core.errors import WatchlistError
from bot.core.watchlist import (
    Alias,
    ChatRoute,
    Entity,
    merge_watchlists,
    parse_watchlist,
    search_feed_specs,
)
from bot.cycle.watchlist_files import WatchlistReloader, load_watchlist_dir

GOOD = textwrap.dedent(
    """\
    title = "Desk"

    [defaults]
    priority = "digest"
    chats = [-1001]

    [[entities]]
    name = "Mali"
    aliases = ["Mali", "Malian", { text = "Wagner", context = ["Mali"] }]
    case_sensitive = ["FAMa"]
    regex = ['mali(?:en|enne)s?']
    exclude = ["Somalia"]
    ignore = ["Mali Music"]
    fields = ["title"]
    priority = "urgent"
    chats = [-1002, { chat = -1003, topic = 7 }, "@sahel_desk"]
    search = true
    notes = "the country"

    [[entities]]
    name = "Bamako"
    aliases = ["Bamako"]

    [[feeds]]
    url = "https://example.org/rss"
    title = "Example"
    """
)


def test_parse_good_file() -> None:
    wl, problems = parse_watchlist(GOOD, "desk.toml")
    assert problems == []
    assert wl is not None
    mali, bamako = wl.entities
    assert mali.name == "Mali" and mali.line == 7
    assert mali.aliases == (
        Alias("Mali"),
        Alias("Malian"),
        Alias("Wagner", context=("Mali",)),
        Alias("FAMa", case_sensitive=True),
        Alias("mali(?:en|enne)s?", regex=True),
    )
    assert mali.exclude == ("Somalia",) and mali.ignore == ("Mali Music",)
    assert mali.fields == ("title",) and mali.priority == "urgent" and mali.search
    assert mali.chats == (ChatRoute(-1002), ChatRoute(-1003, 7), ChatRoute("@sahel_desk"))
    # [defaults] apply where the entity says nothing
    assert bamako.priority == "digest" and bamako.chats == (ChatRoute(-1001),)
    assert bamako.fields == ("title", "summary")
    assert [(f.url, f.title, f.origin) for f in wl.feeds] == [
        ("https://example.org/rss", "Example", "desk.toml")
    ]


BAD_CASES = [
    ("colour = 1\n", 1, "unknown key 'colour'"),
    ('[[entities]]\nname = "X"\naliases = ["x"]\ncolor = "red"\n', 4, "unknown key 'color'"),
    ('[[entities]]\nname = "X"\naliases = []\n', 3, "'aliases' is empty"),
    ('[[entities]]\nname = "X"\n', 2, "has no aliases"),
    ('[[entities]]\nname = "X"\naliases = ["  ", "ok"]\n', 3, "empty alias"),
    ('[[entities]]\nname = "X"\naliases = ["ok"]\nregex = ["(unclosed"]\n', 4, "invalid regex"),
    ('[[entities]]\nname = "X"\naliases = ["ok"]\nregex = ["a*"]\n', 4, "matches empty"),
    ('[[entities]]\naliases = ["x"]\n', 1, "needs a 'name'"),
    ('[[entities]]\nname = "X"\naliases = ["x"]\npriority = "high"\n', 4, "'priority' must"),
    ('[[entities]]\nname = "X"\naliases = ["x"]\nfields = ["body"]\n', 4, "'fields' must"),
    ('[[entities]]\nname = "X"\naliases = ["x"]\nchats = [1.5]\n', 4, "invalid chat"),
    ('[[entities]]\nname = "X"\naliases = ["x"]\nsearch = "yes"\n', 4, "'search' must"),
    (
        '[[entities]]\nname = "X"\naliases = [{ text = "x", cased = true }]\n',
        3,
        "unknown key 'cased' in alias",
    ),
    (
        '[[entities]]\nname = "X"\naliases = ["x"]\n\n[[entities]]\nname = "x"\naliases = ["y"]\n',
        5,
        "duplicate entity name 'x' (first defined at line 1)",
    ),
    ('[[feeds]]\nurl = "ftp://example.org/feed"\n', 2, "must be an http(s) URL"),
    ('[[feeds]]\nurl = "https://example.org/feed"\nname = "x"\n', 3, "unknown key 'name' in feed"),
    ('[[entities]]\nname = "X"\naliases = ["x"\n', 3, "TOML syntax error"),
    ('title = "a"\ntitle = "b"\n', 2, "TOML syntax error"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_CASES)
def test_problems_have_file_line_and_message(text: str, line: int, message: str) -> None:
    _wl, problems = parse_watchlist(text, "w.toml")
    assert problems, "expected a problem"
    rendered = [str(p) for p in problems]
    assert any(r.startswith(f"w.toml:{line}: ") and message in r for r in rendered), rendered


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = 'bogus = 1\n[[entities]]\nname = "X"\naliases = []\n[[feeds]]\nurl = "x"\n'
    _wl, problems = parse_watchlist(text, "w.toml")
    assert [p.line for p in problems] == [1, 4, 6]


def test_syntax_error_returns_no_watchlist() -> None:
    wl, problems = parse_watchlist("[[entities]\n", "w.toml")
    assert wl is None and len(problems) == 1 and problems[0].line == 1


def test_duplicate_names_across_files() -> None:
    a, _ = parse_watchlist('[[entities]]\nname = "Mali"\naliases = ["Mali"]\n', "a.toml")
    b, _ = parse_watchlist(
        '[[entities]]\nname = "Bamako"\naliases = ["Bamako"]\n\n'
        '[[entities]]\nname = "MALI"\naliases = ["Malian"]\n',
        "b.toml",
    )
    assert a is not None and b is not None
    merged, problems = merge_watchlists([a, b])
    assert [str(p) for p in problems] == [
        "b.toml:5: duplicate entity name 'MALI' (first defined at a.toml:1)"
    ]
    assert [e.name for e in merged.entities] == ["Mali", "Bamako"]
    assert merged.files == ("a.toml", "b.toml")


def test_feeds_are_deduplicated_and_search_feeds_added() -> None:
    text = textwrap.dedent(
        """\
        [[entities]]
        name = "JNIM"
        aliases = ["JNIM", "Jama'at Nusrat al-Islam wal-Muslimin", "جماعة نصرة الإسلام والمسلمين"]
        search = true

        [[feeds]]
        url = "https://a.example/rss"
        [[feeds]]
        url = "https://a.example/rss"
        """
    )
    wl, problems = parse_watchlist(text, "a.toml")
    assert wl is not None and not problems
    merged, _ = merge_watchlists([wl, wl])
    urls = [f.url for f in merged.feeds]
    assert urls[0] == "https://a.example/rss" and len(urls) == 3
    origins = [f.origin for f in merged.feeds]
    assert origins == ["a.toml", "search", "search"]


GOOGLE_NEWS_SEARCH = "https://news.google.com/rss/search"


@pytest.mark.parametrize(
    ("entity", "query"),
    [
        (
            Entity.of("JNIM", ["JNIM", "GSIM", "Nusrat al-Islam", "Katiba", "جماعة"], search=True),
            '"JNIM" OR "GSIM" OR "Nusrat al-Islam" when:1d',
        ),
        (
            Entity.of("X", ["x"], search=True, search_terms=['"Africa Corps"', "Wagner Mali"]),
            '"Africa Corps" OR Wagner Mali when:1d',
        ),
    ],
)
def test_search_feed_specs(entity: Entity, query: str) -> None:
    specs = search_feed_specs(entity)
    assert len(specs) == 2
    assert all(s.origin == "search" for s in specs)
    locales = []
    for spec in specs:
        parts = urlsplit(spec.url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == GOOGLE_NEWS_SEARCH
        qs = parse_qs(parts.query)
        assert qs["q"] == [query]
        locales.append((qs["hl"][0], qs["gl"][0], qs["ceid"][0]))
    assert locales == [("fr", "FR", "FR:fr"), ("en-US", "US", "US:en")]


def test_no_search_feeds_unless_asked() -> None:
    assert search_feed_specs(Entity.of("Mali", ["Mali"])) == []


# --------------------------------------------------------------------------- files


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_load_dir_reads_every_toml_sorted(tmp_path: Path) -> None:
    write(tmp_path / "b.toml", '[[entities]]\nname = "B"\naliases = ["b"]\n')
    write(tmp_path / "a.toml", '[[entities]]\nname = "A"\naliases = ["a"]\n')
    write(tmp_path / "notes.txt", "ignored")
    wset, problems = load_watchlist_dir(tmp_path)
    assert problems == [] and wset is not None
    assert [e.name for e in wset.entities] == ["A", "B"]
    assert len(wset.version) == 12


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "holds no *.toml file"),
        ({"a.toml": b"\xff\xfe["}, "not valid UTF-8"),
        ({"a.toml": b"[[entities]]\nname = 'A'\naliases = []\n"}, "a.toml:3: "),
    ],
)
def test_load_dir_problems(tmp_path: Path, files: dict[str, bytes], message: str) -> None:
    for name, body in files.items():
        (tmp_path / name).write_bytes(body)
    wset, problems = load_watchlist_dir(tmp_path)
    assert wset is None
    assert any(message in str(p) for p in problems), problems


def test_reloader_first_load_with_errors_raises(tmp_path: Path) -> None:
    write(tmp_path / "a.toml", "[[entities]\n")
    with pytest.raises(WatchlistError) as info:
        WatchlistReloader(tmp_path).load()
    assert info.value.problems and info.value.problems[0].path.endswith("a.toml")


def test_reloader_swaps_valid_edit_and_keeps_last_good_on_invalid(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    write(path, '[[entities]]\nname = "Mali"\naliases = ["Mali"]\n')
    reloader = WatchlistReloader(tmp_path)
    assert reloader.load() == []
    assert reloader.check() is None  # nothing changed
    assert reloader.matcher.match("Mali coup", "")

    write(path, '[[entities]]\nname = "Bamako"\naliases = ["Bamako"]\n')
    bump_mtime(path)
    event = reloader.check()
    assert event is not None and event.ok
    assert (event.added, event.removed) == (("Bamako",), ("Mali",))
    assert "Bamako" in event.message and "Mali" in event.message
    assert reloader.matcher.match("Bamako", "") and not reloader.matcher.match("Mali", "")
    good_version = reloader.current.version

    write(path, '[[entities]]\nname = "Bamako"\naliases = []\n')
    bump_mtime(path)
    event = reloader.check()
    assert event is not None and not event.ok
    assert event.problems and "a.toml:3:" in event.message
    assert reloader.current.version == good_version  # last good version still in force
    assert reloader.matcher.match("Bamako", "")
    assert reloader.check() is None  # the same invalid state is reported once

    write(path, '[[entities]]\nname = "Bamako"\naliases = ["Bamako", "Bamakois"]\n')
    bump_mtime(path)
    event = reloader.check()
    assert event is not None and event.ok and event.changed == ("Bamako",)
    assert reloader.matcher.match("Les Bamakois", "")


def test_reloader_sees_new_and_deleted_files(tmp_path: Path) -> None:
    write(tmp_path / "a.toml", '[[entities]]\nname = "A"\naliases = ["a"]\n')
    reloader = WatchlistReloader(tmp_path)
    reloader.load()
    write(tmp_path / "b.toml", '[[entities]]\nname = "B"\naliases = ["b"]\n')
    event = reloader.check()
    assert event is not None and event.added == ("B",)
    (tmp_path / "b.toml").unlink()
    event = reloader.check()
    assert event is not None and event.removed == ("B",)
    write(tmp_path / "c.toml", '[[entities]]\nname = "A"\naliases = ["again"]\n')
    event = reloader.check()
    assert event is not None and not event.ok
    assert "duplicate entity name 'A'" in event.message


def test_the_reload_notice_does_not_count_feeds_a_feed_list_replaces(tmp_path: Path) -> None:
    """With NEWSWATCH_FEEDS, the watchlists' feeds are not polled: the notice said "N feeds"."""
    text = '[[entities]]\nname = "Mali"\naliases = ["Mali"]\n\n[[feeds]]\nurl = "https://a.example/rss"\n'
    (tmp_path / "w.toml").write_text(text)
    reloader = WatchlistReloader(tmp_path, feeds_from="/etc/newswatch/feeds.txt (NEWSWATCH_FEEDS)")
    reloader.load()
    (tmp_path / "w.toml").write_text(
        text.replace('["Mali"]', '["Mali", "Malian"]')
        + '\n[[feeds]]\nurl = "https://b.example/rss"\n'
    )
    event = reloader.check()
    assert event is not None and event.ok
    assert "feeds come from /etc/newswatch/feeds.txt" in event.message
    assert "2 feeds" not in event.message and "feeds +1" not in event.message


def test_a_missing_extra_watchlist_file_is_skipped_until_it_exists(tmp_path: Path) -> None:
    (tmp_path / "w.toml").write_text('[[entities]]\nname = "Mali"\naliases = ["Mali"]\n')
    extra = tmp_path / "managed" / "telegram-watchlist.toml"
    reloader = WatchlistReloader(tmp_path, extra_files=[extra])
    reloader.load()
    extra.parent.mkdir()
    extra.write_text('[[entities]]\nname = "Koutiala"\naliases = ["Koutiala"]\n')
    event = reloader.check()
    assert event is not None and event.ok and event.added == ("Koutiala",)


def test_reloader_compiles_the_matcher_once_on_first_use(tmp_path: Path) -> None:
    """A cycle of 304s matches nothing: the matcher is compiled when first asked for."""
    write(tmp_path / "a.toml", '[[entities]]\nname = "Mali"\naliases = ["Mali"]\n')
    reloader = WatchlistReloader(tmp_path)
    with pytest.raises(WatchlistError):
        _ = reloader.matcher  # not loaded yet
    reloader.load()
    first = reloader.matcher
    assert first is reloader.matcher
    assert first.match("Mali coup", "") and not first.match("Somalia floods", "")
