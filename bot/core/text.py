"""Turn feed text into plain text (HTML or text, as the feed typed it) in linear time; cut at words.

Feed text is hostile input: ``html_to_text`` is one left-to-right scan with ``str.find``
(every character is looked at a bounded number of times), never a backtracking regex, and
it reads at most ``MAX_HTML_CHARS`` of its input. HTML5 tree builders were measured and
rejected for this job: selectolax (lexbor) took 139 s on ``'<div>' * 200_000`` (1 MB) and
lxml 3.2 s on ``'<a>' * 1_300_000``, because keeping a tree of unclosed elements is
quadratic for some inputs; a tag stripper needs no tree.
"""

from __future__ import annotations

import html
import re

# A tag as HTML reads one: "<" then a letter, "/" and a letter, "!" or "?", up to the next
# ">" with no "<" in between. Text such as "Niger < Mali > Burkina" is not markup, and must
# survive (and match) as text. "[^<>]" keeps the pattern linear: from any "<" it can scan
# only to the next "<" or ">", so '<a' * N costs O(N), not O(N²).
TAG = re.compile(r"<(?:[A-Za-z!?]|/[A-Za-z])[^<>]*>")
_NAME = re.compile(r"/?([A-Za-z][A-Za-z0-9]{0,15})")
_BLOCK = frozenset(
    {"p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th"}
    | {"blockquote", "table", "section", "article", "header", "footer", "hr", "pre", "figure"}
    | {"figcaption", "dd", "dt"}
)
_RAW_TEXT = frozenset({"script", "style"})  # their content is never text
_SPACE = re.compile(r"\s+")
# Characters that are never wanted in a message: C0/C1 controls except tab/newline.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# Far more HTML than any summary needs (2,000 characters of text are kept): a bound on the
# work one field can cost, whatever its size.
MAX_HTML_CHARS = 1_000_000
# Titles longer than this are cut at a word (an entity bomb once made 8,000,000 characters).
MAX_TITLE_CHARS = 1000


def strip_tags(value: str) -> str:
    """``value`` without its markup: tags and comments removed, script/style content dropped.

    Block tags (p, br, div, li, …) become a space so that words on both sides stay apart.
    Entities are left as they are. Linear in ``len(value)``.
    """
    out: list[str] = []
    lower: str | None = None
    i = 0
    n = len(value)
    while i < n:
        lt = value.find("<", i)
        if lt < 0:
            out.append(value[i:])
            break
        out.append(value[i:lt])
        nxt = value[lt + 1 : lt + 2]
        if nxt == "!" and value.startswith("<!--", lt):
            end = value.find("-->", lt + 4)
            if end < 0:  # an unclosed comment runs to the end, as in a browser
                break
            i = end + 3
            continue
        closing = nxt == "/"
        if not (
            nxt.isascii()
            and (nxt.isalpha() or nxt in "!?" or (closing and value[lt + 2 : lt + 3].isalpha()))
        ):
            out.append("<")  # "a < b": text
            i = lt + 1
            continue
        gt = value.find(">", lt + 1)
        if gt < 0:  # no tag can close from here on: the rest is text
            out.append(value[lt:])
            break
        name_match = _NAME.match(value, lt + 1, gt)
        name = name_match.group(1).lower() if name_match else ""
        if name in _RAW_TEXT and not closing:
            if lower is None:
                lower = value.lower()
            end = lower.find("</" + name, gt + 1)
            close = value.find(">", end) if end >= 0 else -1
            if close < 0:  # unclosed script/style: the rest is script, as in a browser
                break
            out.append(" ")
            i = close + 1
            continue
        if name in _BLOCK:
            out.append(" ")
        i = gt + 1
    return "".join(out)


def html_to_text(value: str | None) -> str:
    """Return the plain text of an HTML fragment: tags removed, entities unescaped once.

    Text that merely *looks* like a tag after unescaping (``#include </etc/shadow>`` written
    as ``&lt;/etc/shadow&gt;``) survives as text, because tags are stripped before unescaping.
    """
    if not value:
        return ""
    text = value[:MAX_HTML_CHARS]
    if "<" in text:
        text = strip_tags(text)
    if "&" in text:
        text = html.unescape(text)
    return plain_text(text)


def plain_text(value: str | None) -> str:
    """Text that is text (an RSS title that does not look like HTML, Atom ``type="text"``):
    nothing is unescaped or stripped, only control characters and runs of white space go."""
    if not value:
        return ""
    text = _CONTROL.sub("", value[:MAX_HTML_CHARS])
    return _SPACE.sub(" ", text).strip()


def feed_text(value: str | None, content_type: str | None) -> str:
    """Plain text of a feed field, read as the type feedparser gave it (``*_detail.type``)."""
    if content_type in ("text/plain", "text"):
        return plain_text(value)
    return html_to_text(value)


def clean_title(value: str | None, content_type: str | None = "text/html") -> str:
    """A title as plain text, capped at ``MAX_TITLE_CHARS`` and cut at a word."""
    return truncate_words(feed_text(value, content_type), MAX_TITLE_CHARS)


def truncate_words(text: str, limit: int, ellipsis: str = "…") -> str:
    """Cut ``text`` to at most ``limit`` characters, at a word boundary where possible."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    room = limit - len(ellipsis)
    if room <= 0:
        return ellipsis[:limit]
    cut = text[:room]
    space = cut.rfind(" ")
    if space >= room // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + ellipsis
