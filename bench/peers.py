"""The tools the cycle benchmark runs: newswatch and its peers (newsboat, rss2email, feed2exec).

Each tool knows how to install itself (``setup``), whether it can run (``missing``), how to
prepare a fresh state directory for a list of feed URLs, and the command of one full cycle.
Peers live outside the project: newsboat from Debian packages (apt-get), rss2email and
feed2exec in a bench-private virtualenv under ``bench/.peers/`` (gitignored).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS_DIR = ROOT / "bench" / ".peers"
# ".venv": the project's tools (ruff, the architecture test) already skip that name.
VENV = PEERS_DIR / ".venv"
PIP_PEERS = ("rss2email", "feed2exec")
# feed2exec's filter: the same names the generator plants in titles (bench/feedgen.WATCHED).
WATCH_REGEX = "Mali|JNIM|Bamako|Goïta|Africa Corps|Kidal|Tombouctou|MINUSMA"


@dataclass
class Command:
    argv: list[str]
    env: dict[str, str]
    cwd: Path


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSWATCH_", "TELEGRAM_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        PYTHONUNBUFFERED="1",
    )
    return env


def _bytecode_env(env: dict[str, str]) -> dict[str, str]:
    """Python may read and write .pyc files (the project's __pycache__, gitignored)."""
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


class Tool:
    name = "tool"
    label = "tool"
    # Unmeasured cycles between the cold and the warm one: newsboat stores a feed's
    # ETag/Last-Modified only from its second refresh on, so its first warm run is all 200s.
    priming_runs = 0

    def missing(self) -> str | None:
        """Why this tool cannot run here, or None."""
        return None

    def prepare(self, state: Path, urls: list[str]) -> None:
        raise NotImplementedError

    def command(self, state: Path) -> Command:
        raise NotImplementedError


class Newswatch(Tool):
    """``main.py poll --once``: the real cycle, console delivery (no token)."""

    name = "newswatch"
    label = "newswatch (poll --once)"

    def __init__(self, extra_env: dict[str, str] | None = None):
        self.extra_env = extra_env or {}

    def prepare(self, state: Path, urls: list[str]) -> None:
        state.mkdir(parents=True, exist_ok=True)
        (state / "feeds.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")
        # Byte-compiled as an installed package is (pip compiles the peers' code when it
        # installs them): with PYTHONDONTWRITEBYTECODE set, every `poll --once` would compile
        # the project's modules again, about 0.2 s of CPU.
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", "bot", "storage", "main.py"],
            cwd=ROOT,
            env=_bytecode_env(dict(os.environ)),
            check=False,
            stdout=subprocess.DEVNULL,
        )

    def command(self, state: Path) -> Command:
        env = _bytecode_env(_clean_env(state))
        env.update(NEWSWATCH_FEEDS=str(state / "feeds.txt"), NEWSWATCH_DB=str(state / "nw.db"))
        env.update(self.extra_env)
        return Command([sys.executable, str(ROOT / "main.py"), "poll", "--once"], env, ROOT)


class Newsboat(Tool):
    """``newsboat -x reload`` (headless refresh) with 8 reload threads."""

    name = "newsboat"
    label = "newsboat (-x reload, 8 threads)"
    threads = 8
    priming_runs = 1

    def missing(self) -> str | None:
        return None if shutil.which("newsboat") else "newsboat is not installed (apt-get)"

    def prepare(self, state: Path, urls: list[str]) -> None:
        state.mkdir(parents=True, exist_ok=True)
        (state / "urls").write_text("\n".join(urls) + "\n", encoding="utf-8")
        (state / "config").write_text(f"reload-threads {self.threads}\n", encoding="utf-8")

    def command(self, state: Path) -> Command:
        argv = [
            "newsboat",
            "-u",
            str(state / "urls"),
            "-c",
            str(state / "cache.db"),
            "-C",
            str(state / "config"),
            "-x",
            "reload",
        ]
        return Command(argv, _clean_env(state), state)


class Rss2email(Tool):
    """``r2e run --no-send``: fetch and parse every feed, remember entries, send nothing."""

    name = "rss2email"
    label = "rss2email (run --no-send)"

    def missing(self) -> str | None:
        return None if (VENV / "bin" / "r2e").exists() else "rss2email not installed (--setup)"

    def prepare(self, state: Path, urls: list[str]) -> None:
        state.mkdir(parents=True, exist_ok=True)
        lines = ["[DEFAULT]", "to = bench@example.invalid", "same-server-fetch-interval = 0", ""]
        for i, url in enumerate(urls):
            lines += [f"[feed.f{i}]", f"url = {url}", ""]
        (state / "r2e.cfg").write_text("\n".join(lines), encoding="utf-8")
        feeds: list[dict[str, object]] = [
            {"name": f"f{i}", "etag": None, "modified": None, "seen": {}} for i in range(len(urls))
        ]
        data = {"version": 2, "feeds": feeds}
        (state / "r2e.json").write_text(json.dumps(data), encoding="utf-8")

    def command(self, state: Path) -> Command:
        argv = [
            str(VENV / "bin" / "r2e"),
            "-c",
            str(state / "r2e.cfg"),
            "-d",
            str(state / "r2e.json"),
            "run",
            "--no-send",
        ]
        return Command(argv, _clean_env(state), state)


class Feed2exec(Tool):
    """``feed2exec fetch --parallel``: title regex filter, null output."""

    name = "feed2exec"
    label = "feed2exec (regex filter, null output)"

    def missing(self) -> str | None:
        exe = VENV / "bin" / "feed2exec"
        return None if exe.exists() else "feed2exec not installed (--setup)"

    def prepare(self, state: Path, urls: list[str]) -> None:
        state.mkdir(parents=True, exist_ok=True)
        lines = []
        for i, url in enumerate(urls):
            lines += [
                f"[f{i}]",
                f"url = {url}",
                "filter = feed2exec.plugins.matchtitleregex",
                f"filter_args = {WATCH_REGEX}",
                "output = feed2exec.plugins.null",
                "",
            ]
        (state / "feed2exec.ini").write_text("\n".join(lines), encoding="utf-8")

    def command(self, state: Path) -> Command:
        argv = [
            str(VENV / "bin" / "feed2exec"),
            "--config",
            str(state / "feed2exec.ini"),
            "--database",
            str(state / "feed2exec.db"),
            "fetch",
            "--parallel",
        ]
        return Command(argv, _clean_env(state), state)


PEERS: dict[str, type[Tool]] = {
    "newsboat": Newsboat,
    "rss2email": Rss2email,
    "feed2exec": Feed2exec,
}


def _installed(exe: str) -> bool:
    # Debian installs nginx in /usr/sbin, which is not on every user's PATH.
    return bool(shutil.which(exe) or os.access(f"/usr/sbin/{exe}", os.X_OK))


def setup(out: object = sys.stdout) -> list[str]:
    """Install nginx and the peers: newsboat (apt-get), rss2email and feed2exec (private venv).

    Returns one line per peer saying what happened; failures are reported, never raised,
    so the benchmark still runs (with "skipped" rows).
    """
    notes = []
    # nginx serves the feeds (bench.cycle --server nginx); newsboat is a peer.
    wanted = {"newsboat": "newsboat", "nginx": "nginx"}
    missing = [pkg for exe, pkg in wanted.items() if not _installed(exe)]
    notes += [f"{exe}: already installed" for exe in wanted if _installed(exe)]
    if missing and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ["apt-get", "install", "-y", "-qq", *missing]
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
            done = subprocess.run(install, env=env, capture_output=True, text=True)
        for exe in missing:
            ok = _installed(exe)
            notes.append(f"{exe}: installed" if ok else f"{exe}: failed: {done.stderr[-300:]}")
    elif missing:
        notes += [f"{exe}: no apt-get on this machine; skipped" for exe in missing]
    if all((VENV / "bin" / exe).exists() for exe in ("r2e", "feed2exec")):
        notes.append(f"{', '.join(PIP_PEERS)}: already installed in {VENV}")
        for note in notes:
            print(note, file=out)  # type: ignore[call-overload]
        return notes
    try:
        if not (VENV / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", *PIP_PEERS]
        done = subprocess.run(pip, capture_output=True, text=True)
        if done.returncode == 0:
            notes.append(f"{', '.join(PIP_PEERS)}: installed in {VENV}")
        else:
            notes.append(f"{', '.join(PIP_PEERS)}: pip failed: {done.stderr[-300:]}")
    except (OSError, subprocess.CalledProcessError) as exc:
        notes.append(f"{', '.join(PIP_PEERS)}: venv failed: {exc}")
    for note in notes:
        print(note, file=out)  # type: ignore[call-overload]
    return notes
