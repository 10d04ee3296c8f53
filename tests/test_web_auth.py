"""`main.py web` beyond loopback: refused without a password; with one, every request needs it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from storage.db import open_database
from tests.conftest import TOKEN, main_env, run_main
from tests.web_process import WebProcess

pytestmark = pytest.mark.slow  # main.py web in every test

pytest.importorskip("datasette_auth_passwords", reason="needs the `web` extra")

PASSWORD = "correct horse battery"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    db = tmp_path / "newswatch.db"
    open_database(db).conn.close()  # an empty, migrated database
    return main_env(db, TELEGRAM_BOT_TOKEN=TOKEN)


def _with_password(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    made = run_main(["web", "--hash-password"], env, stdin=f"{PASSWORD}\n".encode())
    assert made.returncode == 0, made.stderr
    password_hash = made.stdout.strip()
    assert password_hash.startswith("pbkdf2_sha256$") and PASSWORD not in password_hash
    config = tmp_path / "newswatch.toml"
    config.write_text(f'web_password_hash = "{password_hash}"\n', encoding="utf-8")
    return dict(env, NEWSWATCH_CONFIG=str(config))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.org"])
def test_a_public_address_without_a_password_is_refused_with_a_clear_message(
    env: dict[str, str], host: str
) -> None:
    result = run_main(["web", "--host", host, "--port", "1"], env, timeout=60)
    assert result.returncode == 2
    assert f"refusing to serve on {host}" in result.stderr
    assert "web_password_hash" in result.stderr and "--hash-password" in result.stderr


def test_a_bad_password_hash_is_a_config_error(env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('web_password_hash = "hunter2"\n', encoding="utf-8")
    result = run_main(["web", "--host", "0.0.0.0"], dict(env, NEWSWATCH_CONFIG=str(config)))
    assert result.returncode == 2
    assert "web_password_hash: not a password hash" in result.stderr


def test_with_a_password_unauthenticated_requests_are_refused(
    env: dict[str, str], tmp_path: Path
) -> None:
    with WebProcess(_with_password(env, tmp_path), host="0.0.0.0") as web:
        assert "password required (user newswatch)" in web.output()
        for path in ("/", "/newswatch", "/newswatch/alerts", "/newswatch/feed_health"):
            page = httpx.get(web.url(path), headers={"accept": "text/html"})
            assert page.status_code == 302 and page.headers["location"] == "/-/login", path
        for path in ("/newswatch/alerts.json", "/newswatch/alerts.csv", "/-/metadata.json"):
            answer = httpx.get(web.url(path))
            assert answer.status_code == 401, path
            assert answer.headers["www-authenticate"].startswith("Basic")
        wrong = httpx.get(web.url("/newswatch/alerts.json"), auth=("newswatch", "nope"))
        assert wrong.status_code == 401
        # Scripts: HTTP Basic credentials.
        ok = httpx.get(web.url("/newswatch/alerts.json"), auth=("newswatch", PASSWORD))
        assert ok.status_code == 200 and "rows" in ok.json()
        metadata = httpx.get(web.url("/-/metadata.json"), auth=("newswatch", PASSWORD)).text
        assert "pbkdf2" not in metadata, "the hash is passed by environment, never shown"
        # People: the login form, then a signed cookie.
        with httpx.Client(base_url=web.url("")) as browser:
            form = browser.get("/-/login")
            csrf = re.search(r'name="csrftoken" value="([^"]+)"', form.text)
            assert csrf, form.text
            login = browser.post(
                "/-/login",
                data={"username": "newswatch", "password": PASSWORD, "csrftoken": csrf[1]},
            )
            assert login.status_code == 302 and "ds_actor" in login.cookies
            assert browser.get("/newswatch/alerts").status_code == 200
    assert TOKEN not in web.output()


def test_the_loopback_default_needs_no_password(env: dict[str, str]) -> None:
    with WebProcess(env) as web:
        assert httpx.get(web.url("/newswatch/alerts.json")).status_code == 200
        assert "no password" in web.output()


def test_a_path_in_web_base_url_is_where_the_pages_are(env: dict[str, str], tmp_path: Path) -> None:
    """Behind a reverse proxy at https://team.example.org/archive/, the story links the bot
    sends (<web_base_url>/newswatch/story?id=N) and the web view's own links agree."""
    config = tmp_path / "proxy.toml"
    config.write_text('web_base_url = "https://team.example.org/archive/"\n', encoding="utf-8")
    with WebProcess(dict(env, NEWSWATCH_CONFIG=str(config))) as web:
        page = httpx.get(web.url("/archive/newswatch/story?id=1"))
        assert page.status_code == 200
        assert 'href="/archive/newswatch"' in page.text


def test_no_database_yet_is_a_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    result = run_main(["web"], dict(env, NEWSWATCH_DB=str(tmp_path / "absent.db")))
    assert result.returncode == 2
    assert "no database at" in result.stderr and "poll --once" in result.stderr
    assert not (tmp_path / "absent.db").exists(), "the web view never creates the database"
