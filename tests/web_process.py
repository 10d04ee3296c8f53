"""`main.py web` as a subprocess on a free loopback port, for the web view's tests."""

from __future__ import annotations

import socket
import time

import httpx

from tests.main_process import MainProcess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WebProcess(MainProcess):
    """``with WebProcess(env) as web: httpx.get(web.url("/newswatch/alerts.json"))``."""

    stop_timeout = 15.0

    def __init__(self, env: dict[str, str], *args: str, host: str = "127.0.0.1") -> None:
        self.port = free_port()
        super().__init__(env, "web", "--host", host, "--port", str(self.port), *args)

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

    def __enter__(self) -> WebProcess:
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
