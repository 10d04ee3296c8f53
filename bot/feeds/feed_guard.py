"""Make feed bytes safe for an XML parser: every DTD internal subset and ``<!ENTITY`` goes.

An internal subset is where entity bombs live (billion laughs, quadratic blow-up): expat
expands them about 100x the bytes read and feedparser expands its result again, and
feedparser only looks at the first 1 KB for them, so one placed after a long comment reached
both parsers. Feeds never need their own entities, so a document that declares some is parsed
without them, whatever their place in the body. The scan is linear (``find`` only), and
documents in UTF-16/UTF-32 are cleaned in their own encoding.
"""

from __future__ import annotations

import re

_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)
_DOCTYPE = re.compile(r"<!DOCTYPE", re.I)
_ENTITY = re.compile(r"<!ENTITY", re.I)
_SUBSET_END = re.compile(r"\]\s*>")
_BRACKET_OR_END = re.compile(r"[\[>]")
_QUOTE_OR_END = re.compile(r"[\"'>]")
# Byte-order marks and the first bytes of "<?" in encodings that are not ASCII-compatible.
_WIDE = (
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\xfe\xff", "utf-16"),
    (b"\xff\xfe", "utf-16"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)


def strip_declarations(body: bytes) -> bytes:
    """``body`` without DTD internal subsets and entity declarations (unchanged if it has none)."""
    for signature, codec in _WIDE:
        if body.startswith(signature):
            return _strip_wide(body, codec)
    if not _DECLARATION.search(body):
        return body
    # latin-1 maps every byte to one character and back: the bytes are kept as they are.
    return _strip(body.decode("latin-1")).encode("latin-1")


def _strip_wide(body: bytes, codec: str) -> bytes:
    text = body.decode(codec, errors="replace")
    if not (_DOCTYPE.search(text) or _ENTITY.search(text)):
        return body
    return _strip(text).encode(codec, errors="replace")


def _strip(text: str) -> str:
    text = _strip_subsets(text)
    return _strip_entities(text)


def _strip_subsets(text: str) -> str:
    """``<!DOCTYPE rss SYSTEM "x" [ … ]>`` becomes ``<!DOCTYPE rss SYSTEM "x">``."""
    out: list[str] = []
    i = 0
    found: re.Match[str] | None = None  # the first "[" or ">" after the last DOCTYPE seen
    for match in _DOCTYPE.finditer(text):
        if match.start() < i:  # inside a subset removed already
            continue
        if found is None or found.start() < match.end():
            found = _BRACKET_OR_END.search(text, match.end())
        if found is None:
            break  # no "[" or ">" anywhere after: no subset can follow
        if found.group() != "[":
            continue  # no internal subset
        end = _SUBSET_END.search(text, found.end())
        out.append(text[i : found.start()])
        if end is None:  # an unterminated subset: the rest of the document is refused
            return "".join(out) + ">"
        out.append(">")
        i = end.end()
    out.append(text[i:])
    return "".join(out)


def _strip_entities(text: str) -> str:
    """Every ``<!ENTITY … >`` (quotes respected), wherever it is, removed."""
    out: list[str] = []
    i = 0
    while True:
        match = _ENTITY.search(text, i)
        if match is None:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i : match.start()])
        j = match.end()
        while True:
            stop = _QUOTE_OR_END.search(text, j)
            if stop is None:  # unterminated: the rest of the document is refused
                return "".join(out)
            if stop.group() == ">":
                i = stop.end()
                break
            close = text.find(stop.group(), stop.end())
            if close < 0:
                return "".join(out)
            j = close + 1
