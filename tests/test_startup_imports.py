"""Start-up cost: what `import main` loads; sqlite-utils loaded without numpy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_main, write_feed_list
from tests.fakes.feed_server import FeedServer

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


def test_a_warm_poll_once_loads_no_parser_pool_or_charts(
    feed_server: FeedServer, nw_env: dict[str, str], tmp_path: Path
) -> None:
    """A `poll --once` whose feeds all answer 304 (console delivery) needs no parser, no
    worker processes and no chart/export pool (the CA bundle: tests/test_fetcher.py)."""
    feed_server.set("/rss.xml", "<rss version='2.0'><channel><title>a</title></channel></rss>")
    env = dict(
        nw_env, NEWSWATCH_FEEDS=str(write_feed_list(tmp_path, [feed_server.url("/rss.xml")]))
    )
    assert run_main(["poll", "--once"], env).returncode == 0
    report = tmp_path / "modules.txt"
    code = (
        "import atexit, runpy, sys;"
        f"atexit.register(lambda: open({str(report)!r}, 'w').write(' '.join(sorted(sys.modules))));"
        f"sys.argv = ['main.py', 'poll', '--once']; sys.path.insert(0, {str(ROOT)!r});"
        f"runpy.run_path({str(ROOT / 'main.py')!r}, run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert feed_server.statuses()[-1] == 304
    loaded = set(report.read_text().split())
    for module in (
        "feedparser",
        "multiprocessing",
        "bot.render.heavy_work",
        # readers of the other source kinds: made when a source of their kind is first read
        "bot.feeds.sources.page",
        "bot.feeds.sources.telegram_channel",
        "bot.feeds.sources.gdelt",
    ):
        assert module not in loaded, module


def test_main_as_a_script_loads_without_collections_then_runs_with_the_collector_on() -> None:
    """`python main.py ...` pauses the cyclic collector while the modules load, freezes what
    they built, and turns the collector back on before the command runs."""
    code = (
        "import atexit, gc, runpy, sys;"
        "starts = [];"
        "gc.callbacks.append(lambda phase, info: phase == 'start' and starts.append(1));"
        "real_disable, real_enable, before = gc.disable, gc.enable, [];"
        "gc.disable = lambda: before.append(len(starts)) or real_disable();"
        "gc.enable = lambda: print('loaded', 'bot.cli.entry' in sys.modules,"
        " len(starts) - before[0], gc.get_freeze_count() > 0) or real_enable();"
        "atexit.register(lambda: print('command', gc.isenabled()));"
        "sys.argv = ['main.py', '--help'];"
        "runpy.run_path('main.py', run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith(("loaded", "command"))]
    # every module loaded, no collection while loading, their objects frozen; then the
    # command (argparse's help here) ran with the collector on
    assert lines == ["loaded True 0 True", "command True"]


def test_importing_main_leaves_the_collector_alone() -> None:
    out = _run("import gc, main; print(gc.isenabled(), gc.get_freeze_count())")
    assert out == "True 0"
