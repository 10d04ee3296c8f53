"""The dependency rule: the core does no I/O and imports no adapter; storage points inward;
adapters never import each other (the import matrix below, drawn in docs/architecture.md)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE_FORBIDDEN = (
    "httpx", "telegram", "sqlite_utils", "sqlite3", "feedparser", "apscheduler", "storage",
    "socket", "subprocess", "urllib.request", "main",
)  # fmt: skip
STORAGE_FORBIDDEN = ("httpx", "telegram", "feedparser", "apscheduler", "main")
IO_CALLS = {"open", "urlopen", "read_text", "read_bytes", "write_text", "write_bytes"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in ("bot", "storage"):  # `from bot import feeds` imports bot.feeds
                names.extend(f"{node.module}.{alias.name}" for alias in node.names)
            else:
                names.append(node.module)
    return names


def _is_under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("bot/core"), ids=lambda p: p.name)
def test_core_imports_nothing_outward(path: Path) -> None:
    for name in _imports(path):
        outward_bot = _is_under(name, "bot") and not _is_under(name, "bot.core")
        assert not outward_bot, f"{path.name} imports {name}: the core may import only bot.core"
        bad = [f for f in CORE_FORBIDDEN if _is_under(name, f)]
        assert not bad, f"{path.name} imports {name}: the core must stay free of I/O"


@pytest.mark.parametrize("path", _modules("bot/core"), ids=lambda p: p.name)
def test_core_does_no_file_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            assert name not in IO_CALLS, f"{path.name}:{node.lineno} calls {name}()"


@pytest.mark.parametrize("path", _modules("storage"), ids=lambda p: p.name)
def test_storage_depends_only_inward(path: Path) -> None:
    for name in _imports(path):
        assert not any(_is_under(name, f) for f in STORAGE_FORBIDDEN), f"{path.name} imports {name}"
        outward_bot = _is_under(name, "bot") and not _is_under(name, "bot.core")
        assert not outward_bot, f"{path.name} imports {name}: storage may import only bot.core"


@pytest.mark.parametrize(
    "path",
    [*_modules("bot"), *_modules("storage"), ROOT / "main.py"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_module_opens_with_a_docstring(path: Path) -> None:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc and doc.strip(), f"{path.relative_to(ROOT)} has no module docstring"


def test_no_catch_all_utils_modules() -> None:
    found = [p for p in ROOT.glob("**/utils.py") if ".venv" not in p.parts]
    assert found == []


# ----- the import matrix ------------------------------------------------------------------
# Every package of ours, and which others it may import (each may always import itself and
# bot.core). Adapters (storage, feeds, data, render, console, telegram, web) import only the
# core; the exceptions are listed with their reason. app wires everything; cli runs it.
ADAPTERS = (
    "storage", "bot.feeds", "bot.data", "bot.render", "bot.console", "bot.telegram", "bot.web",
)  # fmt: skip
EVERYTHING = {"bot.core", *ADAPTERS, "bot.cycle", "bot.app"}
MAY_IMPORT: dict[str, set[str]] = {
    "bot": set(),  # bot/__init__.py: the version only
    "bot.core": set(),
    "storage": set(),
    "bot.feeds": set(),
    # The shipped data files and their loaders: read-only, cached, import only the core.
    "bot.data": set(),
    # PNG renderers (matplotlib) and the worker process they run in: import only the core.
    "bot.render": set(),
    "bot.console": set(),
    # Replies draw charts and maps (bot.render) and read the shipped lexicon and gazetteer
    # (bot.data): both are leaves that import only the core, shared with the CLI. Storage and
    # the access policy reach the adapter through the ports of bot/core/ports.py.
    "bot.telegram": {"bot.data", "bot.render"},
    "bot.web": set(),
    # One polling cycle orchestrates the stages: fetch and parse (bot.feeds), the tagger and
    # gazetteer (bot.data), and one transaction per feed body (storage).
    "bot.cycle": {"bot.feeds", "bot.data", "storage"},
    # The composition root and the service: they build and wire every adapter.
    "bot.app": EVERYTHING - {"bot.app"},
    # The command line runs the application and reads storage for its query commands.
    "bot.cli": EVERYTHING | {"bot.cli"},
    # main.py is the entry point only.
    "main": {"bot.cli"},
}
# Single imports across the matrix, each with its reason: (importing module, imported module).
ALLOWED: dict[tuple[str, str], str] = {
    ("bot.render.heavy_work", "bot.feeds.parse_pool"): (
        "the forked worker's set-up and shut-down (die with the parent, default signals,"
        " CPython 3.11's exit race) are written once, for parse and chart workers alike"
    ),
}


def package_of(module: str) -> str | None:
    """The matrix package a module of ours belongs to (None: not ours, e.g. a library)."""
    parts = module.split(".")
    if parts[0] == "main":
        return "main"
    if parts[0] == "storage":
        return "storage"
    if parts[0] == "bot":
        return ".".join(parts[:2]) if len(parts) > 1 else "bot"
    return None


def matrix_violations(
    imports: Mapping[str, Iterable[str]],
    may_import: Mapping[str, set[str]] = MAY_IMPORT,
    allowed: Mapping[tuple[str, str], str] = ALLOWED,
) -> list[str]:
    """Each import (module -> modules it imports) that the matrix forbids, as a message."""
    found: list[str] = []
    for module, names in imports.items():
        source = package_of(module)
        if source is None or source not in may_import:
            found.append(f"{module} is in no package of the import matrix ({source})")
            continue
        for name in names:
            target = package_of(name)
            if target is None or target in (source, "bot", "bot.core"):
                continue
            if target in may_import[source]:
                continue
            if any(_is_under(name, b) for a, b in allowed if a == module):
                continue
            found.append(f"{module} imports {name}: {source} may not import {target}")
    return found


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_imports() -> dict[str, list[str]]:
    paths = [*_modules("bot"), *_modules("storage"), ROOT / "main.py"]
    return {_module_name(p): _imports(p) for p in paths}


def test_no_package_imports_what_the_matrix_forbids() -> None:
    assert matrix_violations(_project_imports()) == []


def test_every_package_of_bot_is_in_the_matrix() -> None:
    packages = {p.name for p in (ROOT / "bot").iterdir() if (p / "__init__.py").is_file()}
    missing = [f"bot.{name}" for name in sorted(packages) if f"bot.{name}" not in MAY_IMPORT]
    assert missing == [], "add the new package to MAY_IMPORT (and to docs/architecture.md)"
    flat = sorted(p.name for p in (ROOT / "bot").glob("*.py") if p.name != "__init__.py")
    assert flat == [], "modules belong in a package of bot/ (see docs/architecture.md)"


def test_every_allowed_exception_is_still_used() -> None:
    imports = _project_imports()
    for module, target in ALLOWED:
        assert any(_is_under(n, target) for n in imports.get(module, ())), (module, target)


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("bot.telegram.delivery", "storage.repository"),  # an adapter reaching storage
        ("bot.telegram.commands.env", "bot.app.access"),  # an adapter reaching the app
        ("bot.console.delivery", "bot.telegram.delivery"),
        ("bot.feeds.fetcher", "bot.cycle.pipeline"),
        ("bot.data.incident_data", "storage.queries"),
        ("bot.web.server", "bot.app.config"),
        ("storage.repository", "bot.feeds.fetcher"),
        ("bot.core.models", "bot.feeds.parser"),
        ("bot.cycle.pipeline", "bot.telegram.delivery"),
        ("bot.app.service", "bot.cli.entry"),
        ("main", "bot.app.composition"),
        ("bot.render.charts", "bot.feeds.parse_pool"),  # the exception is one module's only
    ],
)
def test_the_checker_catches_an_adapter_importing_another(module: str, imported: str) -> None:
    """A synthetic violation: the project's imports plus one forbidden import are refused."""
    imports = _project_imports()
    imports[module] = [*imports.get(module, []), imported]
    found = matrix_violations(imports)
    assert found == [f"{module} imports {imported}: {package_of(module)} may not import "
                     f"{package_of(imported)}"]  # fmt: skip


def test_the_checker_catches_a_module_outside_every_package() -> None:
    assert matrix_violations({"bot.helpers": ["bot.core.models"]}) == [
        "bot.helpers is in no package of the import matrix (bot.helpers)"
    ]


def test_the_checker_allows_what_the_matrix_allows() -> None:
    allowed = {
        "bot.cycle.pipeline": ["bot.feeds.fetcher", "storage.repository", "bot.data.x"],
        "bot.telegram.commands.charts": ["bot.render.charts", "bot.core.models", "telegram"],
        "bot.app.composition": ["bot.telegram.delivery", "storage.db", "bot.console.delivery"],
        "bot.cli.run": ["bot.app.composition", "bot.cli.loading"],
        "main": ["bot.cli.entry", "sys"],
    }
    assert matrix_violations(allowed) == []


# ----- one place opens SQLite ------------------------------------------------------------
# storage/db.py holds the settings of every connection (the writer's pragmas and migrations,
# read-only readers, the checkpoint thread's): a connection opened elsewhere would drift
# from them (no busy timeout, a reader that can create the file or write).
CONNECT_ALLOWED = {"storage/db.py"}


def _sqlite_connects(source: str) -> list[int]:
    """Lines of ``source`` that call ``sqlite3.connect`` (also imported by name or aliased)."""
    tree = ast.parse(source)
    module_names = {"sqlite3"}
    function_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            module_names |= {a.asname for a in node.names if a.name == "sqlite3" and a.asname}
        elif isinstance(node, ast.ImportFrom) and node.module == "sqlite3":
            function_names |= {a.asname or a.name for a in node.names if a.name == "connect"}
    found: list[int] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "connect":
            if isinstance(func.value, ast.Name) and func.value.id in module_names:
                found.append(node.lineno)
        elif isinstance(func, ast.Name) and func.id in function_names:
            found.append(node.lineno)
    return sorted(found)


@pytest.mark.parametrize(
    "path",
    [*_modules("bot"), *_modules("storage"), ROOT / "main.py"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_only_storage_db_opens_sqlite(path: Path) -> None:
    where = str(path.relative_to(ROOT))
    if where in CONNECT_ALLOWED:
        return
    lines = _sqlite_connects(path.read_text(encoding="utf-8"))
    assert not lines, (
        f"{where} calls sqlite3.connect (lines {lines}): open connections through"
        " storage/db.py (open_database, open_reader, open_checkpointer)"
    )


@pytest.mark.parametrize(
    "source",
    [
        "import sqlite3\nconn = sqlite3.connect('x.db')\n",
        "import sqlite3 as sq\nconn = sq.connect('file:x?mode=ro', uri=True)\n",
        "from sqlite3 import connect\nconn = connect('x.db')\n",
        "from sqlite3 import connect as c\ndef f():\n    return c('x.db')\n",
    ],
)
def test_the_connect_check_catches_a_connection_opened_elsewhere(source: str) -> None:
    assert _sqlite_connects(source) != []


def test_the_connect_check_allows_other_uses_of_sqlite3() -> None:
    source = (
        "import sqlite3\nfrom storage.db import open_reader\n"
        "try:\n    conn = open_reader('x.db')\nexcept sqlite3.Error:\n    pass\n"
        "db.connect()\n"
    )
    assert _sqlite_connects(source) == []


def test_storage_db_is_where_connections_are_opened() -> None:
    for where in CONNECT_ALLOWED:
        assert _sqlite_connects((ROOT / where).read_text(encoding="utf-8")), where


# ----- stored states are bound from their enums, never spelled in SQL ----------------------
# A state literal in SQL ('pending', 'sent', 'active' …) is a second spelling of the enum that
# a rename or a new member leaves behind silently; storage binds the enum member as a
# parameter instead. Migrations are exempt: each describes the schema as it was when written.
SQL_LITERAL_EXEMPT = {"migrations.py"}


def _state_values() -> frozenset[str]:
    """The values of every state enum of the storage boundary (bot.core.records)."""
    from enum import StrEnum

    import bot.core.records as records

    enums = [v for v in vars(records).values() if isinstance(v, type) and issubclass(v, StrEnum)]
    return frozenset(member.value for enum in enums for member in enum)


def _sql_state_literals(source: str, values: frozenset[str]) -> list[tuple[int, str]]:
    """(line, 'value') for each state value quoted as a SQL literal in a string of ``source``
    (adjacent literals and the text parts of f-strings included)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [
                (node.lineno, f"'{word}'")
                for word in re.findall(r"'([^'\s]*)'", node.value)
                if word in values
            ]
    return sorted(set(found))


@pytest.mark.parametrize(
    "path",
    [p for p in _modules("storage") if p.name not in SQL_LITERAL_EXEMPT],
    ids=lambda p: p.name,
)
def test_storage_binds_states_from_their_enums(path: Path) -> None:
    spelled = _sql_state_literals(path.read_text(encoding="utf-8"), _state_values())
    assert not spelled, (
        f"{path.name} spells enum states as SQL literals (bind the enum member as a"
        f" parameter): {', '.join(f'line {line}: {word}' for line, word in spelled)}"
    )


@pytest.mark.parametrize(
    "sql",
    [
        "\"UPDATE deliveries SET status = 'sent' WHERE id = ?\"",
        "f\"SELECT 1 FROM feeds WHERE status IN ('active', {marks})\"",
        '("SELECT count(*) FROM deliveries"\n " WHERE kind = \'digest\'")',
    ],
)
def test_the_state_literal_check_catches_a_spelled_state(sql: str) -> None:
    assert _sql_state_literals(f"x = {sql}\n", _state_values())


def test_the_state_literal_check_allows_bound_states_and_other_text() -> None:
    source = (
        "x = ('UPDATE deliveries SET status = ?, last_error = \\'unsubscribed\\' WHERE id = ?',"
        " [DeliveryStatus.SKIPPED])\n"
    )
    assert _sql_state_literals(source, _state_values()) == []
