"""Telegram HTML rendering: escaping, UTF-16 limits, summaries, digests (fake's HTML parser)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.formatting import (
    MAX_MESSAGE_UTF16,
    TITLE_LIMIT,
    AlertView,
    Report,
    cut_utf16,
    escape,
    render_alert,
    render_digest,
    render_plain,
    utf16_len,
)
from bot.core.records import Priority
from bot.core.text import html_to_text
from tests.fakes.telegram_api import parse_telegram_html

HOSTILE = [
    "<script>alert(1)</script> in Bamako",
    "Mali & Niger: AES summit",
    "#include </etc/shadow>",
    "Unbalanced <i>italic in a title",
    "Quotes \"double\" and 'single' & <b>bold</b>",
    "Emoji 🇲🇱 and surrogates 𝕄𝕒𝕝𝕚",
    "&amp; already escaped-looking &lt;text&gt;",
]
PUBLISHED = datetime(2026, 3, 1, 14, 5, tzinfo=UTC)


def view(**changes: Any) -> AlertView:
    base: dict[str, Any] = {
        "title": "JNIM attack near Bamako",
        "link": "https://news.example.org/a?x=1&y=2",
        "source": "Sahel Wire",
        "published": PUBLISHED,
        "summary": "Militants struck a checkpoint.",
        "entities": ("JNIM", "Bamako"),
        "aliases": ("JNIM", "Bamako"),
    }
    base.update(changes)
    return AlertView(**base)


@pytest.mark.parametrize("title", HOSTILE)
def test_hostile_titles_arrive_intact_as_text(title: str) -> None:
    text = render_alert(view(title=title, summary=title, source=title))
    plain = parse_telegram_html(text)  # raises like Telegram would on bad HTML
    assert title in plain
    assert render_plain(text).count(title) == plain.count(title)


def test_alert_contains_every_part() -> None:
    also = (Report("RFI", "https://rfi.example/1"), Report("BBC", None))
    text = render_alert(view(priority=Priority.URGENT, also_reported_by=also), "Africa/Bamako")
    plain = parse_telegram_html(text)
    assert plain.startswith("🚨 JNIM, Bamako")
    assert "<b>JNIM</b>" in text
    assert '<a href="https://news.example.org/a?x=1&amp;y=2">JNIM attack near Bamako</a>' in text
    assert "Sahel Wire" in plain
    assert "2026-03-01 14:05 UTC" in plain and "14:05 Bamako" in plain
    assert "also reported by: RFI, BBC" in plain
    assert 'also reported by: <a href="https://rfi.example/1">RFI</a>, BBC' in text
    assert "matched: JNIM, Bamako" in plain


def test_other_timezone_is_shown() -> None:
    plain = parse_telegram_html(render_alert(view(), "Europe/Paris"))
    assert "14:05 UTC · 15:05 Paris" in plain


def test_also_reported_by_is_capped() -> None:
    outlets = tuple(Report(f"Outlet {i}", f"https://o{i}.example/") for i in range(9))
    plain = parse_telegram_html(render_alert(view(also_reported_by=outlets)))
    assert "also reported by: Outlet 0, Outlet 1, Outlet 2, Outlet 3, Outlet 4 (+4)" in plain


def test_feed_entities_are_unescaped_once_then_escaped() -> None:
    raw = "<p>Le&nbsp;chef &ldquo;junte&rdquo; &amp;amp; co &lt;b&gt;</p>"
    summary = html_to_text(raw)
    text = render_alert(view(summary=summary))
    plain = parse_telegram_html(text)
    assert "Le chef “junte” &amp; co <b>" in plain
    assert "&nbsp;" not in text and "&ldquo;" not in text


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("<p>Attack in <b>Kidal</b></p>", "Attack in Kidal"),
        ("Toll: 10 < 20 > 5, <!-- note -->sources say<br/>", "Toll: 10 < 20 > 5, sources say"),
        ("a </i>b<?php x ?>c", "a bc"),
    ],
)
def test_only_real_tags_are_stripped(raw: str, text: str) -> None:
    assert html_to_text(raw) == text


def test_ten_thousand_character_summary_is_cut_at_a_word() -> None:
    words = ("Bamako attack report " * 600)[:10_000]
    text = render_alert(view(summary=words))
    plain = parse_telegram_html(text)
    assert utf16_len(plain) <= MAX_MESSAGE_UTF16
    body = plain.split("\n\n")[1]
    assert len(body) <= 300 and body.endswith("…")
    assert body[:-1].split(" ")[-1] in {"Bamako", "attack", "report"}, "cut at a word boundary"


def test_huge_title_still_yields_a_valid_message() -> None:
    text = render_alert(view(title="🇲🇱" * 5000, summary="x " * 5000))
    assert utf16_len(parse_telegram_html(text)) <= MAX_MESSAGE_UTF16


@settings(max_examples=150, deadline=None)
@given(
    title=st.text(max_size=600),
    summary=st.text(max_size=6000),
    source=st.text(max_size=100),
    entities=st.lists(st.text(min_size=1, max_size=40), max_size=6),
)
def test_any_alert_is_valid_telegram_html_within_the_limit(
    title: str, summary: str, source: str, entities: list[str]
) -> None:
    v = view(title=title, summary=summary, source=source, entities=tuple(entities))
    text = render_alert(v)
    plain = parse_telegram_html(text)
    assert utf16_len(plain) <= MAX_MESSAGE_UTF16
    assert utf16_len(render_plain(text)) <= MAX_MESSAGE_UTF16


def test_digest_splits_into_valid_messages_listing_every_story() -> None:
    views = [
        view(title=f"Story {i} <i> & {'long words ' * 15}", link=f"https://x.org/{i}")
        for i in range(120)
    ]
    parts = render_digest(views, "🗞 120 new alerts")
    assert len(parts) > 1
    seen: list[str] = []
    for number, part in enumerate(parts, start=1):
        plain = parse_telegram_html(part)
        assert utf16_len(plain) <= MAX_MESSAGE_UTF16
        assert f"({number}/{len(parts)})" in plain.splitlines()[0]
        seen.extend(line for line in plain.splitlines()[1:])
    assert len(seen) == 120
    assert all(f"Story {i} <i> &" in seen[i] for i in range(120))


def test_small_digest_is_one_message_with_links_and_entities() -> None:
    [part] = render_digest(
        [view(), view(title="Other", link=None, priority=Priority.URGENT)], "Digest"
    )
    assert part.startswith("<b>Digest</b>\n")
    assert '<a href="https://news.example.org/a?x=1&amp;y=2">' in part
    assert "<b>JNIM, Bamako</b>" in part and "🚨 Other" in part


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [("abc", 3, "abc"), ("abcd", 3, "ab…"), ("🇲🇱🇲🇱", 5, "🇲🇱…"), ("a𝕄b", 3, "a…")],
)
def test_cut_utf16_never_splits_a_pair(text: str, limit: int, expected: str) -> None:
    out = cut_utf16(text, limit)
    assert out == expected and utf16_len(out) <= limit


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Bamako " * 200_000, "x " * 5000),  # a 1.4 MB title
        ("🇲🇱" * 5000, ""),
        ("Mali" * 3000, "y" * 9000),  # one 12,000-character word
    ],
)
def test_an_alert_keeps_its_link_whatever_the_title_length(title: str, summary: str) -> None:
    link = "https://news.example.org/a?id=1&x=2"
    text = render_alert(view(title=title, summary=summary, link=link))
    assert f'<a href="{escape(link)}">' in text
    plain = parse_telegram_html(text)
    assert utf16_len(plain) <= MAX_MESSAGE_UTF16
    assert len(plain) < TITLE_LIMIT + 600, "the title is cut"
