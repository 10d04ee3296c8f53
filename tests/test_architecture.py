"""The dependency rule: the core does no I/O and imports no adapter; storage points inward."""

from __future__ import annotations

import ast
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
            names.append(node.module)
    return names


def _is_under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("bot/core"), ids=lambda p: p.name)
def test_core_imports_nothing_outward(path: Path):
    for name in _imports(path):
        outward_bot = _is_under(name, "bot") and not _is_under(name, "bot.core")
        assert not outward_bot, f"{path.name} imports {name}: the core may import only bot.core"
        bad = [f for f in CORE_FORBIDDEN if _is_under(name, f)]
        assert not bad, f"{path.name} imports {name}: the core must stay free of I/O"


@pytest.mark.parametrize("path", _modules("bot/core"), ids=lambda p: p.name)
def test_core_does_no_file_io(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            assert name not in IO_CALLS, f"{path.name}:{node.lineno} calls {name}()"


@pytest.mark.parametrize("path", _modules("storage"), ids=lambda p: p.name)
def test_storage_depends_only_inward(path: Path):
    for name in _imports(path):
        assert not any(_is_under(name, f) for f in STORAGE_FORBIDDEN), f"{path.name} imports {name}"
        outward_bot = _is_under(name, "bot") and not _is_under(name, "bot.core")
        assert not outward_bot, f"{path.name} imports {name}: storage may import only bot.core"


@pytest.mark.parametrize(
    "path",
    [*_modules("bot"), *_modules("storage"), ROOT / "main.py"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_module_opens_with_a_docstring(path: Path):
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc and doc.strip(), f"{path.relative_to(ROOT)} has no module docstring"


def test_no_catch_all_utils_modules():
    found = [p for p in ROOT.glob("**/utils.py") if ".venv" not in p.parts]
    assert found == []
