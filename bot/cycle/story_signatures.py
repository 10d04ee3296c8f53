"""The tag of stored story signatures: one digest of everything a signature depends on.

A signature (bot.core.story_model.signature) is a function of an alert's title, summary and
entities (checked per row by bot.core.story_codec's inputs digest), of the code that computes
it and of three data files: the gazetteer, the action classes and the meaning lexicon. The
tag digests the codec's format version, the byte order, the source of every module of that
code (bot.core.story_model and the bot.core / bot.data modules it imports, found by following
their import lines, plus the grouper's place finder in bot.cycle.story_grouping) and the bytes
of the data files (or "absent" for a missing one, as the grouper then goes without it). A
stored signature is used only when its tag is the running one: after an upgrade or an edited
data file, the next re-index computes every signature once and stores them again.

Where the sources cannot be read (a build without .py files), there is no tag: signatures are
then computed at every re-index and never stored.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from hashlib import blake2b
from importlib import resources
from pathlib import Path

from bot.core.story_codec import CODEC_VERSION
from bot.data.gazetteer_file import GAZETTEER_FILE
from bot.data.meaning_file import MEANING_FILE

log = logging.getLogger("newswatch.stories")

# Where the closure starts: the signature, its codec, the lexicons' code and loaders, and the
# grouper's gazetteer adapter (bot.cycle.story_grouping.place_finder).
ROOTS = (
    "bot.core.story_model",
    "bot.core.story_codec",
    "bot.core.gazetteer",
    "bot.core.story_actions",
    "bot.core.meanings",
    "bot.data.gazetteer_file",
    "bot.data.meaning_file",
    "bot.cycle.story_grouping",
)
_FOLLOWED = re.compile(
    r"^\s*(?:from\s+(bot\.(?:core|data)\.\w+)\s+import|import\s+(bot\.(?:core|data)\.\w+))",
    re.MULTILINE,
)


def _source(module: str) -> bytes | None:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return None
    try:
        return Path(spec.origin).read_bytes()
    except OSError:
        return None


def code_modules(roots: Iterable[str] = ROOTS) -> dict[str, bytes] | None:
    """Module name -> source of the roots and every bot.core / bot.data module they import,
    transitively (None when a source cannot be read)."""
    found: dict[str, bytes] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        source = _source(name)
        if source is None:
            log.info("story signatures are not stored: no source for %s", name)
            return None
        found[name] = source
        text = source.decode("utf-8", "replace")
        todo.extend(m.group(1) or m.group(2) for m in _FOLLOWED.finditer(text))
    return found


def _data_files() -> list[tuple[str, bytes | None]]:
    from bot.cycle.story_grouping import ACTIONS_FILE  # the grouper's own file

    out: list[tuple[str, bytes | None]] = []
    gazetteer = resources.files("bot").joinpath("data", GAZETTEER_FILE)
    for name, read in (
        ("gazetteer", gazetteer.read_bytes),
        ("actions", ACTIONS_FILE.read_bytes),
        ("meanings", MEANING_FILE.read_bytes),
    ):
        try:
            out.append((name, read()))
        except OSError:
            out.append((name, None))
    return out


@cache
def signature_tag() -> str | None:
    """The tag of the signatures this process computes with the shipped lexicons (computed
    once: about 5 ms of reading and hashing), or None when it cannot be known."""
    modules = code_modules()
    if modules is None:
        return None
    return tag_of(modules, _data_files())


def tag_of(modules: Mapping[str, bytes], data: Sequence[tuple[str, bytes | None]]) -> str:
    """The tag of module sources and data files (None: the file is missing)."""
    digest = blake2b(digest_size=12)
    digest.update(f"codec {CODEC_VERSION} {sys.byteorder}\n".encode())
    for name in sorted(modules):
        digest.update(f"module {name} {len(modules[name])}\n".encode())
        digest.update(modules[name])
    for name, content in data:
        if content is None:
            digest.update(f"data {name} absent\n".encode())
        else:
            digest.update(f"data {name} {len(content)}\n".encode())
            digest.update(content)
    return digest.hexdigest()
