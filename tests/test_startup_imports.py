"""Start-up cost: what `import main` loads; sqlite-utils loaded without numpy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a fresh interpreter per import check

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    "module",
    ["numpy", "apscheduler", "feedparser", "courlan", "telegram", "matplotlib", "multiprocessing"],
)
def test_importing_main_leaves_heavy_modules_for_later(module: str) -> None:
    # `poll --once` of a cycle of 304s needs none of these; each is loaded where first used.
    loaded = _run(f"import sys, main; print({module!r} in sys.modules)")
    assert loaded == "False"


def test_sqlite_utils_is_loaded_without_numpy_and_numpy_still_imports_later() -> None:
    out = _run(
        "import sys, storage.db, sqlite_utils.db as d;"
        "print(d.np is None, 'numpy' in sys.modules);"
        "import numpy; print(numpy.__name__)"
    )
    assert out.splitlines() == ["True False", "numpy"]


def test_sqlite_utils_after_numpy_is_left_alone() -> None:
    out = _run("import numpy, storage.db, sqlite_utils.db as d; print(d.np is numpy)")
    assert out == "True"
