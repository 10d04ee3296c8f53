"""Parse and validate watchlist TOML texts into entities, routes and feeds (no file I/O)."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, TypeGuard
from urllib.parse import quote_plus, urlsplit

from bot.core.errors import SourceError
from bot.core.models import FeedSpec, Problem
from bot.core.normalize import normalize
from bot.core.sources import source_from_table
from bot.core.table_keys import unknown_key, unknown_keys


class Priority(StrEnum):
    """An alert's priority, from its watchlist entities (an entity's ``priority``; stored in
    ``alerts.priority``). Listed from the highest: an alert takes its highest entity's."""

    URGENT = "urgent"  # always sent at once, never held or folded
    NORMAL = "normal"
    DIGEST = "digest"  # sent silently, or kept for the daily digest


PRIORITIES = tuple(Priority)
# The item fields an alias is searched in.
TextField = Literal["title", "summary"]
FIELDS: tuple[TextField, ...] = ("title", "summary")


def is_text_field(value: object) -> TypeGuard[TextField]:
    """Whether ``value`` names one of ``FIELDS``."""
    return value in FIELDS


_TOP_KEYS = {"title", "description", "defaults", "entities", "feeds", "scopes", "source"}
_DEFAULT_KEYS = {"priority", "fields", "chats", "min_salience", "scope"}
_SCOPE_KEYS = {"name", "places", "outside", "since", "gazetteer", "notes"}
# Salience of a mention (bot.core.salience): title 1.0, summary 0.6, halved in a list or an
# aside. An entity whose best mention is below its min_salience is a weak match.
DEFAULT_MIN_SALIENCE = 0.5
_ENTITY_KEYS = {
    "name",
    "aliases",
    "case_sensitive",
    "regex",
    "exclude",
    "ignore",
    "context",
    "fields",
    "priority",
    "chats",
    "search",
    "search_terms",
    "notes",
    "scope",
    "min_salience",
}
_ALIAS_KEYS = {"text", "case_sensitive", "regex", "context", "short_ok"}
# An alias shorter than this (letters and digits, once normalised) gets a warning unless the
# alias table says ``short_ok = true``: "AQ" or "G5" may be meant, "a" never is.
SHORT_ALIAS = 3
_FEED_KEYS = {"url", "title"}
_CHAT_KEYS = {"chat", "topic"}


def nested_quantifier(pattern: str) -> bool:
    """True when a repeat (``*``, ``+``, ``{2,}``…) contains another repeat: the shape of
    catastrophic backtracking, e.g. ``(\\w+\\s?)+junta`` on "Mali aaaa…a!"."""
    import importlib

    # CPython's own regex parser (re._parser, re._constants): the tree re.compile builds.
    c: Any = importlib.import_module("re._constants")
    _parser: Any = importlib.import_module("re._parser")

    repeats = {c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT)}

    def walk(items: Any, inside: bool) -> bool:
        for op, av in items:
            children: list[Any] = []
            repeats_here = False
            if op in repeats:
                _low, high, sub = av
                repeats_here = high > 1
                if repeats_here and inside:
                    return True
                children = [sub]
            elif op == c.SUBPATTERN:
                children = [av[-1]]
            elif op == c.BRANCH:
                children = list(av[1])
            elif op in (c.ASSERT, c.ASSERT_NOT):
                children = [av[1]]
            elif op == getattr(c, "ATOMIC_GROUP", None):
                children = [av]
            elif op == c.GROUPREF_EXISTS:
                children = [x for x in av[1:] if x is not None]
            if any(walk(child, inside or repeats_here) for child in children):
                return True
        return False

    try:
        return walk(_parser.parse(pattern), False)
    except Exception:  # not parsable here: re.compile reports it
        return False


_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")

GOOGLE_NEWS_LOCALES = (
    ("fr", "hl=fr&gl=FR&ceid=FR:fr"),
    ("en", "hl=en-US&gl=US&ceid=US:en"),
)


@dataclass(frozen=True, slots=True)
class Alias:
    """One way of writing an entity's name.

    ``text`` is a plain phrase (matched as whole words, case- and accent-insensitively), or a
    regular expression when ``regex`` is true (matched against the normalised text).
    ``context``, when not empty, makes this alias count only if one of these phrases also
    appears in the item.
    """

    text: str
    case_sensitive: bool = False
    regex: bool = False
    context: tuple[str, ...] = ()
    short_ok: bool = False  # a deliberately short alias (no "shorter than 3" warning)


@dataclass(frozen=True, slots=True)
class ChatRoute:
    """A Telegram destination: a chat id (or ``@channel``) and an optional forum topic."""

    chat_id: int | str
    thread_id: int | None = None

    def __str__(self) -> str:
        return f"{self.chat_id}" if self.thread_id is None else f"{self.chat_id}/{self.thread_id}"


@dataclass(frozen=True, slots=True)
class Scope:
    """Where (and since when) an entity is followed: its aliases elsewhere do not alert.

    An item is outside the scope when it names one of ``outside`` and none of ``places`` (the
    entity's own aliases do not count as places: "Africa Corps" does not put an item in
    Africa), or when every year it gives is before ``since`` (history).
    """

    name: str
    places: tuple[str, ...] = ()
    outside: tuple[str, ...] = ()
    since: int | None = None
    line: int = 0
    # Also count every unambiguous place name of the shipped Sahel gazetteer as inside
    # (added by the loader, ``with_gazetteer_places``: the core reads no files).
    gazetteer: bool = False


@dataclass(frozen=True, slots=True)
class Entity:
    """Something a user follows: a name, its aliases and the rules that decide an alert."""

    name: str
    aliases: tuple[Alias, ...]
    exclude: tuple[str, ...] = ()  # any of these in the item: the entity does not alert
    ignore: tuple[str, ...] = ()  # an alias found only inside one of these does not count
    context: tuple[str, ...] = ()  # when set: one of these must also appear in the item
    fields: tuple[TextField, ...] = FIELDS
    priority: Priority = Priority.NORMAL
    chats: tuple[ChatRoute, ...] = ()  # empty: the default chats
    search: bool = False
    search_terms: tuple[str, ...] = ()
    notes: str = ""
    path: str = ""
    line: int = 0
    scope: Scope | None = None
    min_salience: float = DEFAULT_MIN_SALIENCE  # best mention below this: a weak match

    @classmethod
    def of(cls, name: str, aliases: Iterable[str | Alias], **options: Any) -> Entity:
        """Build an entity from plain strings or ``Alias`` objects (handy in code and tests)."""
        built = tuple(a if isinstance(a, Alias) else Alias(a) for a in aliases)
        for key in ("exclude", "ignore", "context", "fields", "chats", "search_terms"):
            if key in options:
                options[key] = tuple(options[key])
        if "priority" in options:
            options["priority"] = Priority(options["priority"])
        return cls(name=name, aliases=built, **options)


@dataclass(frozen=True, slots=True)
class Watchlist:
    """The entities and feeds of one watchlist file."""

    path: str
    entities: tuple[Entity, ...]
    feeds: tuple[FeedSpec, ...] = ()
    title: str = ""
    digest: str = ""  # sha256 of the file text, first 12 hex digits
    # Not errors: the file is in force. `main.py check` prints them; `run` logs them.
    warnings: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class WatchlistSet:
    """Every watchlist file in force, merged: what the matcher and the fetcher use."""

    watchlists: tuple[Watchlist, ...]
    entities: tuple[Entity, ...]
    feeds: tuple[FeedSpec, ...]
    version: str

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(w.path for w in self.watchlists)

    def entity(self, name: str) -> Entity | None:
        for e in self.entities:
            if e.name == name:
                return e
        return None


# --------------------------------------------------------------------------- line lookup


@dataclass(slots=True)
class _Lines:
    """Finds the line of a table or key in a TOML text (tomllib reports no positions)."""

    lines: list[str]
    entity_headers: list[int] = field(default_factory=list)
    feed_headers: list[int] = field(default_factory=list)
    scope_headers: list[int] = field(default_factory=list)
    source_headers: list[int] = field(default_factory=list)
    headers: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, text: str) -> _Lines:
        lines = text.splitlines()
        out = cls(lines)
        for i, line in enumerate(lines, start=1):
            s = line.strip()
            if not s.startswith("["):
                continue
            out.headers.append(i)
            if re.match(r"\[\[\s*entities\s*\]\]", s):
                out.entity_headers.append(i)
            elif re.match(r"\[\[\s*feeds\s*\]\]", s):
                out.feed_headers.append(i)
            elif re.match(r"\[\[\s*scopes\s*\]\]", s):
                out.scope_headers.append(i)
            elif re.match(r"\[\[\s*source\s*\]\]", s):
                out.source_headers.append(i)
        return out

    def block(self, header: int) -> tuple[int, int]:
        """Line range (inclusive start, exclusive end) of the table starting at ``header``."""
        later = [h for h in self.headers if h > header]
        return header, (later[0] if later else len(self.lines) + 1)

    def key(self, key: str, start: int = 1, end: int | None = None) -> int:
        end = end or len(self.lines) + 1
        pattern = re.compile(
            rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*="""
        )
        for i in range(start, min(end, len(self.lines) + 1)):
            if pattern.match(self.lines[i - 1]):
                return i
        return start

    def literal(self, value: str, start: int, end: int, default: int) -> int:
        # Quoted forms first, over the whole range: a bare "a" is inside "name" too.
        for needles in ([f'"{value}"', f"'{value}'"], [value.replace("\\", "\\\\")]):
            for i in range(start, min(end, len(self.lines) + 1)):
                if any(n in self.lines[i - 1] for n in needles):
                    return i
        return default

    def table(self, name: str) -> int:
        pattern = re.compile(rf"^\s*\[\s*{re.escape(name)}\s*\]")
        for i, line in enumerate(self.lines, start=1):
            if pattern.match(line):
                return i
        return self.key(name)


# --------------------------------------------------------------------------- parsing


_TOML_POS = re.compile(r"\s*\(at line (\d+), column \d+\)|\s*\(at end of document\)")


def parse_watchlist(text: str, path: str) -> tuple[Watchlist | None, list[Problem]]:
    """Parse one watchlist file's text.

    Returns ``(None, problems)`` on a TOML syntax error. Otherwise returns the watchlist made of
    the valid parts and every problem found; any problem means the file should not be used.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = _TOML_POS.search(message)
        line = len(text.splitlines()) or 1
        if m and m.group(1):
            line = int(m.group(1))
        return None, [Problem(path, line, f"TOML syntax error: {_TOML_POS.sub('', message)}")]
    return _Parser(path, text, data).run()


class _Parser:
    def __init__(self, path: str, text: str, data: dict[str, Any]) -> None:
        self.path = path
        self.text = text
        self.data = data
        self.lines = _Lines.of(text)
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.scopes: dict[str, Scope] = {}

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def run(self) -> tuple[Watchlist, list[Problem]]:
        data = self.data
        for key in unknown_keys(data, _TOP_KEYS):
            self.problem(self.lines.table(key), unknown_key(key, _TOP_KEYS))
        title = data.get("title", "")
        if not isinstance(title, str):
            self.problem(self.lines.key("title"), "'title' must be a string")
            title = ""
        if not isinstance(data.get("description", ""), str):
            self.problem(self.lines.key("description"), "'description' must be a string")

        self.scopes = self.parse_scopes(data.get("scopes", []))
        defaults = self.parse_defaults(data.get("defaults", {}))
        entities = self.parse_entities(data.get("entities", []), defaults)
        feeds = self.parse_feeds(data.get("feeds", []))
        feeds += [s for s in self.parse_sources(data.get("source", [])) if s not in feeds]
        digest = hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:12]
        wl = Watchlist(
            self.path, tuple(entities), tuple(feeds), title, digest, tuple(self.warnings)
        )
        return wl, self.problems

    # ----------------------------------------------------------------- defaults

    def parse_defaults(self, raw: Any) -> dict[str, Any]:
        line = self.lines.table("defaults")
        out: dict[str, Any] = {
            "priority": Priority.NORMAL,
            "fields": FIELDS,
            "chats": (),
            "min_salience": DEFAULT_MIN_SALIENCE,
            "scope": None,
        }
        if not isinstance(raw, dict):
            self.problem(line, "'defaults' must be a table")
            return out
        end = self.lines.block(line)[1]
        for key, value in raw.items():
            kline = self.lines.key(key, line, end)
            if key not in _DEFAULT_KEYS:
                self.problem(kline, unknown_key(key, _DEFAULT_KEYS, "[defaults]"))
            elif key == "priority":
                out["priority"] = self.priority(value, kline) or Priority.NORMAL
            elif key == "fields":
                out["fields"] = self.fields(value, kline) or FIELDS
            elif key == "chats":
                out["chats"] = self.chats(value, kline)
            elif key == "min_salience":
                out["min_salience"] = self.salience(value, kline)
            elif key == "scope":
                out["scope"] = self.scope_ref(value, kline)
        return out

    # ----------------------------------------------------------------- scopes

    def parse_scopes(self, raw: Any) -> dict[str, Scope]:
        scopes: dict[str, Scope] = {}
        if not isinstance(raw, list):
            self.problem(self.lines.key("scopes"), "'scopes' must be an array of tables")
            return scopes
        for index, table in enumerate(raw):
            header = (
                self.lines.scope_headers[index]
                if index < len(self.lines.scope_headers)
                else self.lines.key("scopes")
            )
            start, end = self.lines.block(header)

            def kline(key: str, start: int = start, end: int = end) -> int:
                return self.lines.key(key, start, end)

            if not isinstance(table, dict):
                self.problem(header, "each scope must be a table")
                continue
            ok = True
            for key in unknown_keys(table, _SCOPE_KEYS):
                self.problem(kline(key), unknown_key(key, _SCOPE_KEYS, "scope"))
                ok = False
            name = table.get("name")
            if not isinstance(name, str) or not name.strip():
                self.problem(header, "scope needs a 'name'")
                continue
            places = tuple(p for p in self.strings(table.get("places", []), "places", kline))
            outside = tuple(p for p in self.strings(table.get("outside", []), "outside", kline))
            for key, values in (("places", places), ("outside", outside)):
                if any(not normalize(v) for v in values):
                    self.problem(kline(key), f"scope {name!r}: empty phrase in {key!r}")
                    ok = False
            gazetteer = table.get("gazetteer", False)
            if not isinstance(gazetteer, bool):
                self.problem(
                    kline("gazetteer"), f"scope {name!r}: 'gazetteer' must be true or false"
                )
                ok, gazetteer = False, False
            if not places and not gazetteer and not outside and "since" not in table:
                self.problem(header, f"scope {name!r} needs 'places' and 'outside', or 'since'")
                ok = False
            if outside and not places and not gazetteer:
                self.problem(kline("outside"), f"scope {name!r}: 'outside' needs 'places' too")
                ok = False
            since = table.get("since")
            if since is not None and (
                not isinstance(since, int) or isinstance(since, bool) or not 1 <= since <= 9999
            ):
                self.problem(kline("since"), f"scope {name!r}: 'since' must be a year")
                ok = False
            if not isinstance(table.get("notes", ""), str):
                self.problem(kline("notes"), "'notes' must be a string")
            if name.strip() in scopes:
                self.problem(header, f"duplicate scope name {name.strip()!r}")
                ok = False
            if ok:
                scopes[name.strip()] = Scope(
                    name.strip(), places, outside, since, header, gazetteer=gazetteer
                )
        return scopes

    def scope_ref(self, value: Any, line: int) -> Scope | None:
        if not isinstance(value, str) or value.strip() not in self.scopes:
            known = ", ".join(sorted(self.scopes)) or "none defined in this file"
            self.problem(line, f"unknown scope {value!r} (scopes of this file: {known})")
            return None
        return self.scopes[value.strip()]

    def salience(self, value: Any, line: int) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            self.problem(line, f"'min_salience' must be a number from 0 to 1, not {value!r}")
            return DEFAULT_MIN_SALIENCE
        return float(value)

    # ----------------------------------------------------------------- entities

    def parse_entities(self, raw: Any, defaults: dict[str, Any]) -> list[Entity]:
        if not isinstance(raw, list):
            self.problem(self.lines.key("entities"), "'entities' must be an array of tables")
            return []
        entities: list[Entity] = []
        seen: dict[str, int] = {}
        for index, table in enumerate(raw):
            header = (
                self.lines.entity_headers[index]
                if index < len(self.lines.entity_headers)
                else self.lines.key("entities")
            )
            if not isinstance(table, dict):
                self.problem(header, "each entity must be a table")
                continue
            entity = self.parse_entity(table, header, defaults)
            if entity is None:
                continue
            key = normalize(entity.name)
            if key in seen:
                self.problem(
                    entity.line,
                    f"duplicate entity name {entity.name!r} (first defined at line {seen[key]})",
                )
                continue
            seen[key] = entity.line
            entities.append(entity)
        return entities

    def parse_entity(
        self, table: dict[str, Any], header: int, defaults: dict[str, Any]
    ) -> Entity | None:
        start, end = self.lines.block(header)
        ok = True

        def kline(key: str) -> int:
            return self.lines.key(key, start, end)

        for key in unknown_keys(table, _ENTITY_KEYS):
            self.problem(kline(key), unknown_key(key, _ENTITY_KEYS, "entity"))
            ok = False
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            self.problem(kline("name") if "name" in table else header, "entity needs a 'name'")
            return None
        name = name.strip()
        line = kline("name")

        aliases: list[Alias] = []
        if "aliases" not in table and "case_sensitive" not in table and "regex" not in table:
            self.problem(line, f"entity {name!r} has no aliases")
            ok = False
        for a in self.alias_list(table.get("aliases", []), kline("aliases"), end, name):
            aliases.append(a)
        for text in self.strings(table.get("case_sensitive", []), "case_sensitive", kline):
            aliases.append(Alias(text, case_sensitive=True))
        for text in self.strings(table.get("regex", []), "regex", kline):
            aliases.append(Alias(text, regex=True))
        for alias in aliases:
            if not self.check_alias(alias, self.lines.literal(alias.text, start, end, line), name):
                ok = False
        if not aliases and ("aliases" in table or "case_sensitive" in table):
            self.problem(kline("aliases"), f"entity {name!r}: 'aliases' is empty")
            ok = False

        phrases: dict[str, tuple[str, ...]] = {}
        for key in ("exclude", "ignore", "context"):
            values = self.strings(table.get(key, []), key, kline)
            for v in values:
                if not normalize(v):
                    self.problem(kline(key), f"entity {name!r}: empty phrase in {key!r}")
                    ok = False
            phrases[key] = tuple(v for v in values if normalize(v))

        priority = defaults["priority"]
        if "priority" in table:
            priority = self.priority(table["priority"], kline("priority"))
            ok = ok and priority is not None
        fields = defaults["fields"]
        if "fields" in table:
            fields = self.fields(table["fields"], kline("fields"))
            ok = ok and fields is not None
        chats = defaults["chats"]
        if "chats" in table:
            before = len(self.problems)
            chats = self.chats(table["chats"], kline("chats"))
            ok = ok and len(self.problems) == before

        search = table.get("search", False)
        if not isinstance(search, bool):
            self.problem(kline("search"), "'search' must be true or false")
            ok, search = False, False
        search_terms = tuple(self.strings(table.get("search_terms", []), "search_terms", kline))
        notes = table.get("notes", "")
        if not isinstance(notes, str):
            self.problem(kline("notes"), "'notes' must be a string")
            notes = ""
        scope = defaults["scope"]
        if "scope" in table:
            before = len(self.problems)
            scope = self.scope_ref(table["scope"], kline("scope"))
            ok = ok and len(self.problems) == before
        min_salience = defaults["min_salience"]
        if "min_salience" in table:
            before = len(self.problems)
            min_salience = self.salience(table["min_salience"], kline("min_salience"))
            ok = ok and len(self.problems) == before
        if not ok:
            return None
        return Entity(
            name=name,
            aliases=tuple(aliases),
            exclude=phrases["exclude"],
            ignore=phrases["ignore"],
            context=phrases["context"],
            fields=tuple(fields or FIELDS),
            priority=priority or Priority.NORMAL,
            chats=tuple(chats),
            search=search,
            search_terms=search_terms,
            notes=notes,
            path=self.path,
            line=header,
            scope=scope,
            min_salience=min_salience,
        )

    def alias_list(self, raw: Any, line: int, end: int, name: str) -> list[Alias]:
        if not isinstance(raw, list):
            self.problem(line, f"entity {name!r}: 'aliases' must be an array")
            return []
        out: list[Alias] = []
        for item in raw:
            if isinstance(item, str):
                out.append(Alias(item))
                continue
            if not isinstance(item, dict):
                self.problem(line, f"entity {name!r}: an alias must be a string or a table")
                continue
            text = item.get("text")
            aline = self.lines.literal(text, line, end, line) if isinstance(text, str) else line
            bad = unknown_keys(item, _ALIAS_KEYS)
            for k in bad:
                self.problem(aline, unknown_key(k, _ALIAS_KEYS, f"alias of {name!r}"))
            if not isinstance(text, str):
                self.problem(aline, f"entity {name!r}: alias table needs a 'text' string")
                continue
            flags = {k: item.get(k, False) for k in ("case_sensitive", "regex", "short_ok")}
            wrong = [k for k, v in flags.items() if not isinstance(v, bool)]
            for k in wrong:
                self.problem(aline, f"entity {name!r}: alias {k!r} must be true or false")
            context = item.get("context", [])
            if not isinstance(context, list) or not all(isinstance(c, str) for c in context):
                self.problem(aline, f"entity {name!r}: alias 'context' must be an array of strings")
                continue
            if bad or wrong:
                continue
            out.append(
                Alias(
                    text,
                    case_sensitive=bool(flags["case_sensitive"]),
                    regex=bool(flags["regex"]),
                    short_ok=bool(flags["short_ok"]),
                    context=tuple(c for c in context if normalize(c)),
                )
            )
        return out

    def check_alias(self, alias: Alias, line: int, name: str) -> bool:
        if alias.regex:
            try:
                pattern = re.compile(alias.text)
            except re.error as exc:
                self.problem(line, f"entity {name!r}: invalid regex {alias.text!r}: {exc}")
                return False
            if pattern.fullmatch(""):
                self.problem(line, f"entity {name!r}: regex {alias.text!r} matches empty text")
                return False
            if nested_quantifier(alias.text):
                self.problem(
                    line,
                    f"entity {name!r}: regex {alias.text!r} repeats a group that itself repeats"
                    " (a nested quantifier, like (\\w+\\s?)+): some titles would make it run"
                    " for minutes (ReDoS). Write it without the outer repeat, e.g. \\w+(\\s\\w+)*"
                    " becomes [\\w\\s]+, or list the forms as aliases",
                )
                return False
            return True
        if not normalize(alias.text):
            self.problem(line, f"entity {name!r}: empty alias {alias.text!r}")
            return False
        if not alias.short_ok and len(normalize(alias.text).replace(" ", "")) < SHORT_ALIAS:
            self.warnings.append(
                Problem(
                    self.path,
                    line,
                    f"warning: entity {name!r}: alias {alias.text!r} is shorter than"
                    f" {SHORT_ALIAS} characters and may match unrelated words; if it is meant,"
                    f' write it as {{ text = "{alias.text}", short_ok = true }}',
                )
            )
        return True

    def strings(self, raw: Any, key: str, kline: Any) -> list[str]:
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            self.problem(kline(key), f"{key!r} must be an array of strings")
            return []
        return list(raw)

    def priority(self, value: Any, line: int) -> Priority | None:
        if not isinstance(value, str) or value not in PRIORITIES:
            self.problem(line, f"'priority' must be one of {', '.join(PRIORITIES)}, not {value!r}")
            return None
        return Priority(value)

    def fields(self, value: Any, line: int) -> tuple[TextField, ...] | None:
        if not isinstance(value, list) or not value:
            self.problem(line, f"'fields' must be a non-empty array of {' / '.join(FIELDS)}")
            return None
        fields = [v for v in value if is_text_field(v)]
        if len(fields) != len(value):
            self.problem(line, f"'fields' must be a non-empty array of {' / '.join(FIELDS)}")
            return None
        return tuple(dict.fromkeys(fields))

    def chats(self, value: Any, line: int) -> tuple[ChatRoute, ...]:
        if not isinstance(value, list):
            value = [value]
        out: list[ChatRoute] = []
        for item in value:
            topic: Any = None
            chat: Any = item
            if isinstance(item, dict):
                for k in unknown_keys(item, _CHAT_KEYS):
                    self.problem(line, unknown_key(k, _CHAT_KEYS, "chat"))
                chat, topic = item.get("chat"), item.get("topic")
                if topic is not None and (not isinstance(topic, int) or isinstance(topic, bool)):
                    self.problem(line, "chat 'topic' must be an integer (message_thread_id)")
                    continue
            route = _chat_id(chat)
            if route is None:
                self.problem(line, f"invalid chat {chat!r}: expected an integer id or '@channel'")
                continue
            out.append(ChatRoute(route, topic))
        return tuple(dict.fromkeys(out))

    # ----------------------------------------------------------------- feeds

    def parse_feeds(self, raw: Any) -> list[FeedSpec]:
        if not isinstance(raw, list):
            self.problem(self.lines.key("feeds"), "'feeds' must be an array of tables")
            return []
        feeds: dict[str, FeedSpec] = {}
        for index, table in enumerate(raw):
            header = (
                self.lines.feed_headers[index]
                if index < len(self.lines.feed_headers)
                else self.lines.key("feeds")
            )
            start, end = self.lines.block(header)
            if not isinstance(table, dict):
                self.problem(header, "each feed must be a table with 'url' and 'title'")
                continue
            bad = False
            for key in unknown_keys(table, _FEED_KEYS):
                self.problem(self.lines.key(key, start, end), unknown_key(key, _FEED_KEYS, "feed"))
                bad = True
            url = table.get("url")
            title = table.get("title")
            if not isinstance(url, str) or urlsplit(url.strip()).scheme not in ("http", "https"):
                self.problem(
                    self.lines.key("url", start, end), f"feed 'url' must be an http(s) URL: {url!r}"
                )
                continue
            if title is not None and not isinstance(title, str):
                self.problem(self.lines.key("title", start, end), "feed 'title' must be a string")
                continue
            if not bad:
                feeds.setdefault(url.strip(), FeedSpec(url.strip(), title, origin=self.path))
        return list(feeds.values())

    def parse_sources(self, raw: Any) -> list[FeedSpec]:
        """``[[source]]`` tables: a Telegram channel, a page with selectors, a GDELT query."""
        if not isinstance(raw, list):
            self.problem(self.lines.table("source"), "'source' must be an array of tables")
            return []
        specs: list[FeedSpec] = []
        for index, table in enumerate(raw):
            headers = self.lines.source_headers
            header = headers[index] if index < len(headers) else self.lines.table("source")
            if not isinstance(table, dict):
                self.problem(header, "each source must be a table with 'kind'")
                continue
            try:
                specs.append(source_from_table(table, self.path))
            except SourceError as exc:
                self.problem(header, f"source: {exc}")
        return specs


def _chat_id(value: Any) -> int | str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        v = value.strip()
        if re.fullmatch(r"-?\d+", v):
            return int(v)
        if re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,}", v):
            return v
    return None


# --------------------------------------------------------------------------- merging


def merge_watchlists(watchlists: Sequence[Watchlist]) -> tuple[WatchlistSet, list[Problem]]:
    """Merge several files: reports duplicate entity names across files (the first one wins).

    Feeds are the files' feeds plus the Google News search feeds of ``search = true``
    entities, deduplicated by URL in order.
    """
    problems: list[Problem] = []
    seen: dict[str, Entity] = {}
    entities: list[Entity] = []
    for wl in watchlists:
        for e in wl.entities:
            key = normalize(e.name)
            first = seen.get(key)
            if first is not None:
                problems.append(
                    Problem(
                        e.path or wl.path,
                        e.line,
                        f"duplicate entity name {e.name!r} "
                        f"(first defined at {first.path}:{first.line})",
                    )
                )
                continue
            seen[key] = e
            entities.append(e)
    feeds: dict[str, FeedSpec] = {}
    for wl in watchlists:
        for f in wl.feeds:
            feeds.setdefault(f.url, f)
    for e in entities:
        for f in search_feed_specs(e):
            feeds.setdefault(f.url, f)
    h = hashlib.sha256()
    for wl in watchlists:
        h.update(f"{wl.path}\0{wl.digest}\n".encode())
    return (
        WatchlistSet(tuple(watchlists), tuple(entities), tuple(feeds.values()), h.hexdigest()[:12]),
        problems,
    )


def with_gazetteer_places(
    entities: Iterable[Entity], place_names: Iterable[str]
) -> tuple[Entity, ...]:
    """Entities whose scope asks for the gazetteer (``gazetteer = true``) get its place names
    added to the scope's ``places``; the others are returned unchanged."""
    names = tuple(dict.fromkeys(place_names))
    expanded: dict[Scope, Scope] = {}
    out = []
    for e in entities:
        sc = e.scope
        if sc is not None and sc.gazetteer:
            if sc not in expanded:
                places = tuple(dict.fromkeys((*sc.places, *names)))
                expanded[sc] = dataclasses.replace(sc, places=places, gazetteer=False)
            e = dataclasses.replace(e, scope=expanded[sc])
        out.append(e)
    return tuple(out)


def search_query(entity: Entity) -> str:
    """The Google News query for an entity, limited to the last day.

    ``search_terms`` are query fragments used as written (quote phrases yourself), joined with
    OR. Without them, the first three plain Latin-script aliases are used, each quoted.
    """
    terms = [t.strip() for t in entity.search_terms if t.strip()]
    if not terms:
        terms = [
            '"' + a.text.replace('"', "") + '"'
            for a in entity.aliases
            if not a.regex and not a.context and not _ARABIC.search(a.text)
        ][:3]
    return f"{' OR '.join(terms)} when:1d" if terms else ""


def search_feed_specs(entity: Entity) -> list[FeedSpec]:
    """Google News search feeds (French and English locales) for an entity with ``search``."""
    if not entity.search:
        return []
    query = search_query(entity)
    if not query:
        return []
    return [
        FeedSpec(
            f"https://news.google.com/rss/search?q={quote_plus(query)}&{params}",
            f"Google News ({lang}): {entity.name}",
            origin="search",
        )
        for lang, params in GOOGLE_NEWS_LOCALES
    ]
