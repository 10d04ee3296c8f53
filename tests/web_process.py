"""`main.py web` as a subprocess on a free loopback port, for the web view's tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import httpx

from tests.harness import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WebProcess:
    """``with WebProcess(env) as web: httpx.get(web.url("/newswatch/alerts.json"))``."""

    def __init__(self, env: dict[str, str], *args: str, host: str = "127.0.0.1") -> None:
        self.port = free_port()
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "web", "--host", host, "--port", str(self.port),
             *args],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
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

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until the server answers (any status), or fail with its output."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"web exited {self.proc.returncode}:\n{self.output()}")
            try:
                httpx.get(self.url("/-/versions.json"), timeout=5)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"web did not answer in {timeout}s:\n{self.output()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        return int(self.proc.returncode)

    def __enter__(self) -> WebProcess:
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
