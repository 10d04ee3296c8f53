"""The one exception tree: the drawing in bot/core/errors.py is the code, and no module
outside it starts an exception hierarchy of its own."""

from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

import pytest

from bot.core import errors
from bot.core.errors import FeedError, FeedErrorKind, NewswatchError
from bot.core.models import Problem

ROOT = Path(__file__).resolve().parent.parent
# Control flow inside one module, never seen outside it: not part of the tree.
PRIVATE_SIGNALS = {"_Fallback", "ParseTimeout"}
_BUILTIN_BASES = {
    "Exception",
    "BaseException",
    "ValueError",
    "LookupError",
    "RuntimeError",
    "KeyError",
    "TypeError",
    "OSError",
}


def _drawn_tree() -> dict[str, str]:
    """Each class drawn in the module docstring -> its parent in the drawing."""
    doc = errors.__doc__ or ""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        root = re.match(r"^\s+(NewswatchError)\s*$", line)
        if root:
            stack = [(-1, root.group(1))]
            continue
        node = re.match(r"^(\s+[│ ]*)[├└]── (\w+)", line)
        if not node or not stack:
            continue
        depth = len(node.group(1))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[node.group(2)] = stack[-1][1]
        stack.append((depth, node.group(2)))
    return parents


def test_the_drawing_is_the_tree() -> None:
    drawn = _drawn_tree()
    assert len(drawn) >= 20
    for name, parent in drawn.items():
        cls = getattr(errors, name)
        ours = [b for b in cls.__bases__ if issubclass(b, NewswatchError)]
        assert [b.__name__ for b in ours] == [parent], name
    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, NewswatchError)
    }
    assert defined == set(drawn) | {"NewswatchError"}


def test_no_exception_class_outside_the_tree() -> None:
    strays = []
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("storage/**/*.py"), ROOT / "main.py"]:
        if path.name == "errors.py" and path.parent.name == "core":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef) or node.name in PRIVATE_SIGNALS:
                continue
            bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
            bases |= {b.attr for b in node.bases if isinstance(b, ast.Attribute)}
            if bases & _BUILTIN_BASES or any(b.endswith("Error") for b in bases):
                strays.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert strays == []


def test_problem_lists_print_every_problem_and_exit_2() -> None:
    problems = [Problem("a.toml", 3, "bad"), Problem("TELEGRAM_BOT_TOKEN (environment)", 0, "no")]
    for exc in (errors.ConfigError(problems), errors.WatchlistError(problems)):
        assert exc.lines() == ["a.toml:3: bad", "TELEGRAM_BOT_TOKEN (environment): no"]
        assert exc.exit_code == 2
    assert str(errors.WatchlistError(problems)).startswith("invalid watchlists (2 problem(s))")


@pytest.mark.parametrize(
    ("exc", "lines", "code"),
    [
        (errors.AlreadyRunning("held by pid 7"), ["newswatch: held by pid 7"], 3),
        (errors.WebError("needs a password"), ["newswatch web: needs a password"], 2),
        (errors.PeriodError("not a period: 3x"), ["not a period: 3x"], 2),
        (errors.DatabaseGone("replaced"), ["newswatch: replaced"], 1),
    ],
)
def test_how_the_command_line_shows_an_error(
    exc: NewswatchError, lines: list[str], code: int
) -> None:
    assert (exc.lines(), exc.exit_code) == (lines, code)


def test_builtin_bases_kept_for_callers_that_catch_them() -> None:
    assert issubclass(errors.PeriodError, ValueError)
    assert issubclass(errors.FeedLookupError, LookupError)
    assert issubclass(errors.SourceError, ValueError)


def test_feed_error_is_a_value() -> None:
    error = FeedError(FeedErrorKind.HTTP_STATUS, "HTTP 503 Service Unavailable", 503)
    assert str(error) == "HTTP 503 Service Unavailable"
    assert error == FeedError(FeedErrorKind("http_status"), "HTTP 503 Service Unavailable", 503)
    assert error != FeedError(FeedErrorKind.HTTP_STATUS, "HTTP 503 Service Unavailable", 502)
    assert pickle.loads(pickle.dumps(error)) == error  # crosses the parse pool
    assert error.group == "HTTP 503"
    assert FeedError(FeedErrorKind.DNS, "x").group == "DNS lookup failed"
    assert error.prefixed("page 2: ").detail == "page 2: HTTP 503 Service Unavailable"
    assert errors.kind_label("dns") == "DNS lookup failed"
    assert errors.kind_label("no such kind") == "other"
    assert errors.kind_label(None) is None


def test_every_kind_has_a_label() -> None:
    assert all(kind.label for kind in FeedErrorKind)


def test_every_broad_catch_says_why() -> None:
    """`except Exception` / `except BaseException` / a bare `except:` only at a boundary, and
    each says on its line why catching everything is right there."""
    broad = re.compile(r"^\s*except\s*([^:]*\b(Exception|BaseException)\b[^:]*)?:(?P<rest>.*)$")
    silent = []
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("storage/**/*.py"), ROOT / "main.py"]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = broad.match(line)
            if match and "#" not in match.group("rest"):
                silent.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert silent == []
