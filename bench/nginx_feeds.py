"""The cycle benchmark's feeds served as static files by a real nginx, run unprivileged.

``NginxFeedServer`` has the interface of ``bench.cycle.FeedServerProcess`` (``url``,
``control``, ``close``), so the same cycles run against either server:

- the bodies come from ``bench.feedgen.FeedSet`` (same seed, same bytes) and are written as
  files under a temporary document root; a bump rewrites the bumped feeds' files (through a
  rename, so nginx never serves half a file) with the bump time as their mtime;
- nginx answers with its own validators: ``ETag`` (mtime and size) and ``Last-Modified``
  (mtime), and 304 to a matching ``If-None-Match`` or ``If-Modified-Since``; keep-alive
  with a long timeout and unlimited requests per connection; ``sendfile``;
- the answer counts come from nginx's access log (``$status`` per line), read from the offset
  of the last ``stats?clear=1``;
- nginx runs in the foreground (``daemon off``) as a child of the benchmark, with every path
  (configuration, pid file, logs, temp directories) under the benchmark's temporary
  directory, so it needs no root and no system file; ``close`` stops it (SIGQUIT, then
  SIGKILL). Run as root, its worker drops to ``nobody``, so the document root is made
  world-readable.

One worker process: the benchmark runs on 2 cores, and nginx's CPU per 304 is small; a second
worker would only compete with the tool being measured.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bench.feedgen import FeedSet

CONFIG = """\
daemon off;
master_process on;
worker_processes 1;
{user}
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    log_format bench '$status $request_uri';
    access_log {root}/access.log bench;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    types {{ application/rss+xml xml; }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types application/rss+xml;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 120s;
    keepalive_requests 1000000;
    etag on;
    if_modified_since exact;
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        root {root}/www;
        location /feeds/ {{ }}
    }}
}}
"""


def nginx_path() -> str | None:
    """The nginx executable (Debian puts it in /usr/sbin, often not on a user's PATH)."""
    found = shutil.which("nginx")
    if found is None and os.access("/usr/sbin/nginx", os.X_OK):
        found = "/usr/sbin/nginx"
    return found


def nginx_missing() -> str | None:
    """Why nginx cannot be used here, or None."""
    if nginx_path():
        return None
    return "nginx is not installed (python -m bench.cycle --setup installs it with apt-get)"


def nginx_version() -> str:
    exe = nginx_path()
    if exe is None:
        return "nginx (missing)"
    done = subprocess.run([exe, "-v"], capture_output=True, text=True)
    return (done.stderr or done.stdout).strip().removeprefix("nginx version: ") or "nginx"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NginxFeedServer:
    """A ``FeedSet`` written to files and served by an nginx child process."""

    def __init__(self, feeds: int, items: int, seed: int, startup_timeout: float = 15.0):
        self.feeds = feeds
        self.set = FeedSet(feeds, items, seed)
        self.dir = Path(tempfile.mkdtemp(prefix="nw-bench-nginx-"))
        self.dir.chmod(0o755)  # the worker runs as nobody when we are root
        self.www = self.dir / "www" / "feeds"
        self._mtimes: dict[int, float] = {}
        self._log_offset = 0
        self.proc: subprocess.Popen[bytes] | None = None
        try:  # interrupted while writing 10,000 files, or nginx fails: nothing is left behind
            self.www.mkdir(parents=True)
            for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (self.dir / "tmp" / sub).mkdir(parents=True)
            for feed in range(feeds):
                self._write(feed, self.set.base)
            self._start(startup_timeout)
        except BaseException:
            self.close()
            raise

    def _start(self, timeout: float) -> None:
        exe = nginx_path()
        if exe is None:
            raise RuntimeError(nginx_missing())
        for _attempt in range(5):
            self.port = _free_port()
            user = "user nobody nogroup;" if os.geteuid() == 0 else ""
            conf = self.dir / "nginx.conf"
            conf.write_text(CONFIG.format(root=self.dir, port=self.port, user=user))
            # -e: the error log before the configuration is read (else /var/log/nginx/...)
            argv = [exe, "-p", str(self.dir), "-c", str(conf), "-e", str(self.dir / "error.log")]
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        return
                except OSError:
                    time.sleep(0.05)
            self._stop()
        log = (self.dir / "error.log").read_text(errors="replace")[-800:]
        raise RuntimeError(f"nginx did not start: {log}")

    def _write(self, feed: int, mtime: float) -> None:
        # nginx's validators have a resolution of one second: each version of a file gets a
        # later whole second than the previous one, or a bump could look unchanged.
        previous = self._mtimes.get(feed)
        when = float(int(mtime))
        if previous is not None and when <= previous:
            when = previous + 1
        path = self.www / f"{feed}.xml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(self.set.body(feed))
        # The file is the copy nginx serves: the FeedSet's own cache would only hold
        # 340 MB of bodies in this process at 10,000 feeds.
        self.set.forget(feed)
        tmp.chmod(0o644)
        os.utime(tmp, (when, when))
        tmp.replace(path)
        self._mtimes[feed] = when

    def url(self, feed: int) -> str:
        return f"http://127.0.0.1:{self.port}/feeds/{feed}.xml"

    def control(self, path: str) -> dict[str, object]:
        """The /_control/ endpoints of ``bench.feedgen``, done on the files and the log."""
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        now = time.time()
        if parts.path == "bump":
            ids = [int(x) for x in ",".join(query.get("ids", [])).split(",") if x.strip()]
            newest = self.set.bump(ids, now, watched=query.get("watched") == ["1"])
            for feed in ids:
                self._write(feed, now)
            return {"bumped": len(ids), "at": now, "newest": newest}
        if parts.path == "reset":
            bumped = [feed for feed, version in enumerate(self.set.versions) if version]
            self.set.reset()
            for feed in bumped:
                self._write(feed, now)  # version 0 again, under a new validator
            self._log_offset = self._log_size()
            return {"reset": True, "at": now}
        if parts.path == "prebuild":
            return {"bytes": 0, "at": now}  # the files are written already
        if parts.path == "stats":
            # nginx logs a request just after its answer is sent: wait until the log is still
            size = self._log_size()
            for _ in range(50):
                time.sleep(0.02)
                settled, size = size, self._log_size()
                if settled == size:
                    break
            counts: Counter[str] = Counter()
            log = self.dir / "access.log"
            if log.exists():
                with log.open("rb") as f:
                    f.seek(self._log_offset)
                    data = f.read(size - self._log_offset)
                for line in data.decode("latin-1").splitlines():
                    status, _, uri = line.partition(" ")
                    if uri.startswith("/feeds/"):
                        counts[status] += 1
            if query.get("clear") == ["1"]:
                self._log_offset = size
            return dict(counts)
        raise ValueError(f"unknown control {path!r}")

    def _log_size(self) -> int:
        log = self.dir / "access.log"
        return log.stat().st_size if log.exists() else 0

    def _stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGQUIT)  # graceful: workers finish, then exit
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        self._stop()
        shutil.rmtree(self.dir, ignore_errors=True)
