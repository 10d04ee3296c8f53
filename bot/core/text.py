"""Turn feed HTML into plain text: unescape once, strip tags, collapse whitespace, cut at words."""

from __future__ import annotations

import html
import re

# A tag as HTML reads one: "<" then a letter, "/" and a letter, "!" or "?". Text such as
# "Niger < Mali > Burkina" is not markup, and must survive (and match) as text.
TAG = re.compile(r"<(?:[A-Za-z!?]|/[A-Za-z])[^>]*>")
_BLOCK_TAG = re.compile(r"<\s*/?\s*(?:p|br|div|li|ul|ol|h[1-6]|tr|blockquote)\b[^>]*>", re.I)
_SCRIPT = re.compile(r"<\s*(script|style)\b[^>]*>.*?<\s*/\s*\1\s*>", re.I | re.S)
_SPACE = re.compile(r"\s+")
# Characters that are never wanted in a message: C0/C1 controls except tab/newline.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def html_to_text(value: str | None) -> str:
    """Return the plain text of an HTML fragment: tags removed, entities unescaped once.

    Text that merely *looks* like a tag after unescaping (``#include </etc/shadow>`` written
    as ``&lt;/etc/shadow&gt;``) survives as text, because tags are stripped before unescaping.
    """
    if not value:
        return ""
    text = _SCRIPT.sub(" ", value)
    text = _BLOCK_TAG.sub(" ", text)
    if "<" in text and ">" in text:
        text = TAG.sub("", text)
    text = html.unescape(text)
    text = _CONTROL.sub("", text)
    return _SPACE.sub(" ", text).strip()


def clean_title(value: str | None) -> str:
    """Plain-text title: feedparser already unescaped it, but some feeds double-escape."""
    if not value:
        return ""
    text = value
    if "&" in text and ";" in text:
        text = html.unescape(text)
    if "<" in text and re.search(r"</?(?:i|b|em|strong|span|a)\b[^>]*>", text, re.I):
        text = TAG.sub("", text)
    text = _CONTROL.sub("", text)
    return _SPACE.sub(" ", text).strip()


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
