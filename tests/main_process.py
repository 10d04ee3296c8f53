"""`main.py` as a subprocess the test talks to while it runs (`run`, `web`, a `poll --once` it
measures), its output collected line by line.

Tests start `main.py` through this class (or `conftest.run_main` for a command they only wait
for), so that its output is always read (a pipe nobody reads blocks the bot once full) and it
is always stopped. A few tests keep a raw ``subprocess.Popen`` and say why on the spot: those
whose subject is the process itself (killed with SIGKILL at a chosen moment, its orphaned
children, its file-size limit, its stdout closed under it).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

from tests.conftest import ROOT, require_slow


class MainProcess:
    """``main.py *args`` with stdout and stderr merged and read by a thread as they come.

    ``stop()`` sends ``stop_signal``, waits up to ``stop_timeout`` s, then kills; it returns the
    exit code, and ``stopped_in`` is how long the process took to exit after the signal.
    ``wait()`` is for a process that exits by itself. ``proc`` is the ``Popen`` (its pid, other
    signals).
    """

    stop_signal = signal.SIGTERM
    stop_timeout = 20.0

    def __init__(self, env: dict[str, str], *args: str) -> None:
        require_slow(f"main.py {' '.join(args)}")
        self.lines: list[str] = []
        self.stopped_in: float | None = None
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), *args],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",  # hostile feeds' bytes in a log line never stop the reader
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def wait_output(self, needle: str, timeout: float = 30.0) -> str | None:
        """The first output line containing ``needle``; None once it exited or timed out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for line in self.lines:
                    if needle in line:
                        return line
            if self.proc.poll() is not None:
                return None
            time.sleep(0.05)
        return None

    def wait(self, timeout: float) -> int:
        """The exit code of a process that exits by itself, once its output is read
        (``subprocess.TimeoutExpired`` after ``timeout`` s; ``stop()`` it then)."""
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return int(code)

    def stop(self) -> int:
        if self.proc.poll() is None:
            started = time.monotonic()
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.stopped_in = time.monotonic() - started
        self._reader.join(timeout=5)
        return int(self.proc.returncode)
