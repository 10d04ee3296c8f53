"""Parse fetched HTML bytes with lxml in the right encoding: the Content-Type charset, else
the document's ``<meta charset>``, else UTF-8 when the bytes are valid UTF-8, else cp1252."""

from __future__ import annotations

import codecs
import re
from typing import Any

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", re.I)


def _known(name: str | bytes | None) -> str | None:
    if not name:
        return None
    text = name.decode("ascii", "ignore") if isinstance(name, bytes) else name
    try:
        return codecs.lookup(text).name
    except LookupError:
        return None


def sniff_encoding(body: bytes, content_type: str | None) -> str:
    header = _HEADER_CHARSET.search(content_type or "")
    found = _known(header.group(1)) if header else None
    if found is None:
        meta = _META_CHARSET.search(body[:4096])
        found = _known(meta.group(1)) if meta else None
    if found is None:
        try:
            body.decode("utf-8")
            found = "utf-8"
        except UnicodeDecodeError:
            found = "cp1252"
    return found


def parse_html(body: bytes, content_type: str | None = None) -> Any:
    """The document root (lxml.html); raises ValueError when nothing can be parsed."""
    import lxml.etree
    import lxml.html

    encoding = sniff_encoding(body, content_type)
    text = body.decode(encoding, errors="replace")
    if text.startswith("<?xml"):  # lxml refuses str input with an encoding declaration
        text = text.split("?>", 1)[-1]
    try:
        return lxml.html.document_fromstring(text)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise ValueError(str(exc)) from None
