"""Command arguments for counts, periods and clock times: valid forms and clear refusals."""

from __future__ import annotations

import contextlib
from datetime import time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.errors import PeriodError
from bot.core.periods import (
    Span,
    describe_duration,
    minutes_hint,
    parse_clock,
    parse_clock_range,
    parse_duration,
    parse_period,
    parse_span,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("6h", timedelta(hours=6)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(days=14)),
        (" 7D ", timedelta(days=7)),
        ("90min", timedelta(minutes=90)),
        ("1m", timedelta(minutes=1)),  # m is a minute everywhere...
        ("1mo", timedelta(days=30)),  # ...and a month is mo
        ("6MO", timedelta(days=180)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d7", "7 days", "-3d", "0h", "3.5d", "99999w", "6y"])
def test_bad_durations_are_refused_with_a_message(text: str) -> None:
    with pytest.raises(PeriodError) as exc:
        parse_duration(text)
    assert str(exc.value)  # a message for the user


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, Span(count=10)),
        ("", Span(count=10)),
        ("25", Span(count=25)),
        ("6h", Span(period=timedelta(hours=6))),
        ("3d", Span(period=timedelta(days=3))),
    ],
)
def test_spans(text: str | None, expected: Span) -> None:
    assert parse_span(text) == expected


@pytest.mark.parametrize("text", ["0", "501", "abc", "6 h x"])
def test_bad_spans(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_span(text)


def test_period_default_and_labels() -> None:
    assert parse_period(None, timedelta(days=7)) == timedelta(days=7)
    assert parse_period("30d", timedelta(days=7)) == timedelta(days=30)
    assert describe_duration(timedelta(days=7)) == "7d"
    assert describe_duration(timedelta(hours=6)) == "6h"
    assert describe_duration(timedelta(minutes=90)) == "90m"
    assert describe_duration(timedelta(hours=30)) == "1d 6h"


def test_clock_and_ranges() -> None:
    assert parse_clock("07:30") == time(7, 30)
    assert parse_clock("7h30") == time(7, 30)
    assert parse_clock_range("22:00-07:00") == (time(22, 0), time(7, 0))
    for bad in ("24:00", "7", "07:60", ""):
        with pytest.raises(PeriodError):
            parse_clock(bad)
    for bad in ("22:00", "22:00-22:00", "a-b", "1-2-3"):
        with pytest.raises(PeriodError):
            parse_clock_range(bad)


@given(st.text(max_size=30))
def test_any_text_is_a_value_or_a_period_error(text: str) -> None:
    for parse in (parse_duration, parse_span, parse_clock, parse_clock_range):
        with contextlib.suppress(PeriodError):
            parse(text)


def test_the_refusal_names_every_unit() -> None:
    with pytest.raises(PeriodError) as exc:
        parse_duration("1month")
    assert all(unit in str(exc.value) for unit in ("30m", "6h", "3d", "2w", "1mo"))


def test_a_period_in_minutes_reminds_that_a_month_is_mo() -> None:
    """`/export 1m` returned nothing where an analyst meant a month."""
    assert "1mo" in minutes_hint("1m") and "minutes" in minutes_hint("1m")
    assert minutes_hint("30d") == "" and minutes_hint("1mo") == "" and minutes_hint("") == ""
