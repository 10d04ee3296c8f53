"""`main.py` as a long-running subprocess (`run`, `web`), its output collected line by line."""

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
    exit code.
    """

    stop_signal = signal.SIGTERM
    stop_timeout = 20.0

    def __init__(self, env: dict[str, str], *args: str) -> None:
        require_slow(f"main.py {' '.join(args)}")
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), *args],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
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

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        return int(self.proc.returncode)
