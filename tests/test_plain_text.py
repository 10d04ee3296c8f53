"""plain_text collapses white space with str.split: the same text as the regex it replaced
(``re.sub(r"\\s+", " ", text).strip()``), for every character Python calls white space."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.text import _CONTROL, MAX_HTML_CHARS, html_to_text, plain_text, strip_tags

_RUNS = re.compile(r"\s+")


def _before(value: str) -> str:
    """plain_text as it was: controls removed, then runs of white space by a regex."""
    if not value:
        return ""
    return _RUNS.sub(" ", _CONTROL.sub("", value[:MAX_HTML_CHARS])).strip()


def test_regex_white_space_is_str_white_space_for_every_character() -> None:
    space = re.compile(r"\s")
    assert [c for c in range(0x110000) if bool(space.match(chr(c))) != chr(c).isspace()] == []


@pytest.mark.parametrize(
    "text",
    ["", " ", "a", "  a \t b\n\nc  ", "\x1c\x1d\x1e\x1fa\x85b\u2028c\u3000d\xa0", "\x00 a \x7f b"],
)
def test_plain_text_as_before(text: str) -> None:
    assert plain_text(text) == _before(text)


@given(st.text(alphabet=st.sampled_from(" \t\n\r\x0b\x0c\x1c\x85\xa0\u2028\u3000\x00\x7fab é")))
def test_plain_text_as_before_on_white_space_mixes(text: str) -> None:
    assert plain_text(text) == _before(text)


@given(
    st.text()
    | st.lists(st.sampled_from(["<p>", "&amp;", " \n", "&#160;", "x", "</b>"])).map("".join)
)
def test_plain_text_as_before_on_any_text(text: str) -> None:
    assert plain_text(text) == _before(text)
    markup_off = strip_tags(text) if "<" in text else text
    assert html_to_text(text) == _before(html.unescape(markup_off) if "&" in text else markup_off)
