"""Import sqlite-utils without its optional numpy support, which newswatch never uses.

sqlite-utils imports numpy whenever it is installed (matplotlib, for /trend, installs it),
only to accept numpy scalars as column values. That import costs about 70 ms and 15 MB in
every process, `poll --once` and each parse worker included. Every module of this project
imports ``Database`` from here, so the first import of sqlite-utils goes through the guard.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING

__all__ = ["Database", "load_sqlite_utils"]


def load_sqlite_utils() -> ModuleType:
    """``import sqlite_utils``; when numpy is not loaded yet, sqlite-utils sees it as absent.

    A ``None`` entry in ``sys.modules`` makes ``import numpy`` raise ImportError (documented
    import-system behaviour); the entry is removed right after, so a later ``import numpy``
    (matplotlib's) works as usual.
    """
    if "sqlite_utils.db" in sys.modules or "numpy" in sys.modules:
        return importlib.import_module("sqlite_utils")
    sys.modules["numpy"] = None  # type: ignore[assignment]
    try:
        return importlib.import_module("sqlite_utils")
    finally:
        if sys.modules.get("numpy", 0) is None:
            del sys.modules["numpy"]


if TYPE_CHECKING:
    from sqlite_utils import Database
else:
    Database = load_sqlite_utils().Database
