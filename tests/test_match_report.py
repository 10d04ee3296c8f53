"""The `match` command logic: sources (file, stdin, URL), human and JSON output, bad sources."""

from __future__ import annotations

import http.server
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli.match_report import JSON_KEYS, run_match
from bot.core.matching import Matcher
from bot.core.watchlist import Alias, Entity

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Test feed</title><link>https://example.org/</link>
<item><title>JNIM attack near Bamako</title><link>https://example.org/1</link>
<description>&lt;p&gt;Fighters hit a &lt;b&gt;Malian&lt;/b&gt; army post.&lt;/p&gt;
</description></item>
<item><title>Somalia: al-Shabaab storms hotel</title><link>https://example.org/2</link>
<description>Mogadishu attack.</description></item>
<item><title>Bayreuth opens with Wagner</title><link>https://example.org/3</link>
<description>Richard Wagner's Parsifal.</description></item>
</channel></rss>
"""

MATCHER = Matcher.compile(
    [
        Entity.of("JNIM", ["JNIM"], priority="urgent"),
        Entity.of("Mali", ["Mali", "Malian"]),
        Entity.of("Bamako", ["Bamako"]),
        Entity.of("Africa Corps", [Alias("Wagner", context=("Mali", "Russia"))]),
    ]
)


def run(
    sources: list[str], *, as_json: bool = False, include_all: bool = False, stdin: bytes = b""
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_match(
        sources,
        MATCHER,
        as_json=as_json,
        include_all=include_all,
        out=out,
        stdin=io.BytesIO(stdin),
        err=err,
    )
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def feed_file(tmp_path: Path) -> Path:
    path = tmp_path / "feed.xml"
    path.write_bytes(RSS)
    return path


def test_json_lines_for_alerting_items(feed_file: Path) -> None:
    code, out, err = run([str(feed_file)], as_json=True)
    assert code == 0 and err == ""
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 1
    row = rows[0]
    assert list(row) == list(JSON_KEYS)  # stable, documented order
    reasons = row.pop("reasons")
    # incident fields (issue 19) come after the matcher's keys
    incident = {k: row.pop(k) for k in list(row)[list(row).index("event_type") :]}
    assert incident["event_type"] == "battles" and incident["severity"] == "high"
    assert incident["places"][0]["name"] == "Bamako" and "lat" in incident["places"][0]
    assert row == {
        "source": str(feed_file),
        "guid": None,
        "link": "https://example.org/1",
        "title": "JNIM attack near Bamako",
        "summary": "Fighters hit a Malian army post.",
        "published": None,
        "entities": ["JNIM", "Mali", "Bamako"],
        "weak": [],
        "alert": True,
        "priority": "urgent",
        "matches": [
            {"entity": "JNIM", "alias": "JNIM", "field": "title"},
            {"entity": "Mali", "alias": "Malian", "field": "summary"},
            {"entity": "Bamako", "alias": "Bamako", "field": "title"},
        ],
    }
    assert {k: v for k, v in reasons[1].items() if k != "detail"} == {
        "entity": "Mali",
        "decision": "alert",
        "rule": "salience",
    }
    assert "'Malian' in summary" in reasons[1]["detail"]


def test_json_weak_match_and_published(tmp_path: Path) -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>UN budget talks</title><guid isPermaLink="false">g-1</guid>
<pubDate>Fri, 07 Jun 2024 10:00:00 GMT</pubDate>
<description>Cuts hit missions in Lebanon, South Sudan, Cyprus and Mali.</description></item>
</channel></rss>"""
    path = tmp_path / "weak.xml"
    path.write_bytes(rss)
    code, out, _ = run([str(path)], as_json=True)
    assert code == 0 and out == ""  # a weak match is not an alert
    code, out, _ = run([str(path)], as_json=True, include_all=True)
    row = json.loads(out)
    assert (row["guid"], row["published"]) == ("g-1", "2024-06-07T10:00:00+00:00")
    assert (row["entities"], row["weak"], row["alert"], row["priority"]) == (
        [],
        ["Mali"],
        False,
        None,
    )
    assert row["reasons"][0]["decision"] == "weak"
    assert "in a list of 3+ names" in row["reasons"][0]["detail"]
    _code, text, _ = run([str(path)], include_all=True)
    assert "[weak] UN budget talks" in text
    assert "0 of 1 items would alert, 1 more are weak matches" in text


def test_json_all_includes_non_alerting_items(feed_file: Path) -> None:
    code, out, _ = run([str(feed_file)], as_json=True, include_all=True)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [(r["title"], r["entities"], r["matches"]) for r in rows[1:]] == [
        ("Somalia: al-Shabaab storms hotel", [], []),
        ("Bayreuth opens with Wagner", [], []),
    ]


def test_human_output_explains(feed_file: Path) -> None:
    code, out, _ = run([str(feed_file)], include_all=True)
    assert code == 0
    assert "[URGENT] JNIM attack near Bamako" in out
    assert "'Malian' in summary" in out
    assert "[-] Bayreuth opens with Wagner" in out
    assert "'Wagner' needs a context term" in out
    assert "1 of 3 items would alert" in out


def test_human_output_hides_non_alerting_without_all(feed_file: Path) -> None:
    _code, out, _ = run([str(feed_file)])
    assert "Somalia" not in out and "JNIM attack" in out


def test_stdin_source() -> None:
    code, out, _ = run(["-"], as_json=True, stdin=RSS)
    assert code == 0 and json.loads(out.splitlines()[0])["entities"] == ["JNIM", "Mali", "Bamako"]


@pytest.mark.parametrize(
    ("source", "body", "message"),
    [
        ("missing.xml", None, "cannot read file"),
        ("ftp://example.org/feed", None, "unsupported URL scheme 'ftp'"),
        ("page.html", b"<!DOCTYPE html><html><body>hi</body></html>", "not a feed"),
        ("empty.xml", b"", "empty body"),
    ],
)
def test_bad_sources_report_and_fail(
    tmp_path: Path, feed_file: Path, source: str, body: bytes | None, message: str
) -> None:
    if body is not None:
        (tmp_path / source).write_bytes(body)
        source = str(tmp_path / source)
    elif not source.startswith("ftp"):
        source = str(tmp_path / source)
    code, out, err = run([source, str(feed_file)], as_json=True)
    assert code == 1
    assert message in err and "Traceback" not in err
    assert len(out.splitlines()) == 1  # the good source is still processed


def test_no_source_is_a_usage_error() -> None:
    code, _out, err = run([])
    assert code == 2 and "SOURCE" in err


@pytest.fixture
def server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/feed.xml":
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.end_headers()
                self.wfile.write(RSS)
            else:
                self.send_response(404)
                self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_url_source(server: str) -> None:
    code, out, _ = run([f"{server}/feed.xml"], as_json=True)
    assert code == 0 and json.loads(out.splitlines()[0])["title"] == "JNIM attack near Bamako"


def test_url_error_status(server: str) -> None:
    code, _out, err = run([f"{server}/nope"], as_json=True)
    assert code == 1 and "HTTP 404" in err
