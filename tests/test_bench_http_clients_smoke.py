"""CI smoke run of bench/http_clients.py: a few conditional GETs to nginx, shape only.

Skips, saying why, where nginx is missing (.ci/run installs it with apt-get when it can)."""

from __future__ import annotations

import io
import re

import pytest

from bench import http_clients
from bench.nginx_feeds import nginx_missing


def test_bench_prints_cpu_per_conditional_get_for_each_client() -> None:
    reason = nginx_missing()
    if reason:
        pytest.skip(reason)
    out = io.StringIO()
    code = http_clients.main(
        [
            "--feeds",
            "20",
            "--repeat",
            "1",
            "--clients",
            "fetcher,fetcher-anyio,asyncio-transport,httpcore,raw,aiohttp,fetcher@uvloop",
        ],
        out,
    )
    text = out.getvalue()
    assert code == 0, text
    for client in ("fetcher", "fetcher-anyio", "asyncio-transport", "httpcore", "raw"):
        assert re.search(rf"^\| {client} \| \d+ \|$", text, re.M), text
    assert re.search(r"^\| fetcher@uvloop \| (\d+|skipped: .*) \|$", text, re.M), text
    assert re.search(r"^\| aiohttp \| (\d+|skipped: .*) \|$", text, re.M), text
