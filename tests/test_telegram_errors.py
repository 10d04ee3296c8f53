"""The registered error handler and the shared retries, in process against the fake Bot API:
a handler that raises is logged with its context and told to the owner once per kind and
period; replies and button answers wait out a 429 and retry a 5xx."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.app.access import AccessControl
from bot.app.logging_setup import RedactingFormatter
from bot.telegram.application import build_application
from bot.telegram.commands.dispatch import Commands
from bot.telegram.delivery import ChatPacer, TelegramDeliverer
from bot.telegram.error_handler import ErrorReporter, describe_update
from bot.telegram.retries import RetryPolicy, TelegramDeferred, with_telegram_retries
from storage.db import open_database
from storage.queries import Queries
from storage.repository import Repository
from tests.conftest import TOKEN
from tests.fakes.telegram_api import FakeTelegramAPI

ADMIN = 7770001
USER = 4440001


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def eventually(predicate: Callable[[], Any], timeout: float = 15.0) -> bool:
    """Poll without blocking the event loop (PTB's polling runs on it)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def boom(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    raise RuntimeError(f"kaput with {TOKEN}")


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    raise KeyError("no such alert")


async def flaky(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    raise TimedOut()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("pong")


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer("answered")


@pytest.fixture
async def running(
    telegram_api: FakeTelegramAPI, tmp_path: Path
) -> AsyncIterator[tuple[Application[Any, Any, Any, Any, Any, Any], Clock]]:
    clock = Clock()
    app = build_application(TOKEN, telegram_api.base_url, ChatPacer(interval=0.0))
    repo = Repository(open_database(tmp_path / "nw.db"))
    deliverer = TelegramDeliverer(
        app.bot,
        repo,
        timezone="Africa/Bamako",
        admin_ids=(ADMIN,),
        clock=clock,
        pacer=ChatPacer(interval=0.0),
    )
    ErrorReporter(deliverer.notify_admins, clock=clock).register(app)
    app.add_handler(CommandHandler("boom", boom))
    app.add_handler(CommandHandler("flaky", flaky))
    app.add_handler(CommandHandler("ping", echo))
    app.add_handler(CallbackQueryHandler(press, pattern="^mute:"))
    app.add_handler(CallbackQueryHandler(answer, pattern="^ok"))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        yield app, clock
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "newswatch.telegram" and r.levelname == "ERROR"]


async def test_a_raising_handler_is_logged_with_context_and_told_once_per_kind(
    running: Any, telegram_api: FakeTelegramAPI, caplog: pytest.LogCaptureFixture
) -> None:
    _app, clock = running
    caplog.set_level(logging.INFO)
    telegram_api.push_message("/boom now", chat_id=USER, user_id=USER)
    telegram_api.push_message("/boom again", chat_id=USER, user_id=USER)
    assert await eventually(lambda: len(errors(caplog)) == 2)
    record = errors(caplog)[0]
    assert (
        record.getMessage()
        == f"unhandled RuntimeError while handling /boom, chat {USER}, user {USER}"
    )
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError  # the traceback
    assert TOKEN in str(record.exc_info[1])  # the error carries it: the log line must not
    assert TOKEN not in RedactingFormatter().format(record)
    assert await eventually(lambda: telegram_api.messages_to(ADMIN))
    [notice] = [m.text for m in telegram_api.messages_to(ADMIN)]
    assert "RuntimeError" in notice and "/boom" in notice and f"chat {USER}" in notice
    assert TOKEN not in notice and "kaput" not in notice  # the message may carry anything

    # another kind (a button) is told too; the same kind an hour later again, with a count
    telegram_api.push_callback("mute:e:1:0", chat_id=USER, user_id=USER)
    assert await eventually(lambda: len(telegram_api.messages_to(ADMIN)) == 2)
    assert "KeyError" in telegram_api.messages_to(ADMIN)[1].text
    assert "button mute" in telegram_api.messages_to(ADMIN)[1].text
    clock.now += timedelta(minutes=61)
    telegram_api.push_message("/boom", chat_id=USER, user_id=USER)
    assert await eventually(lambda: len(telegram_api.messages_to(ADMIN)) == 3)
    assert "1 more time(s)" in telegram_api.messages_to(ADMIN)[2].text
    assert len(errors(caplog)) == 4


async def test_a_transient_telegram_failure_is_a_warning_and_no_notice(
    running: Any, telegram_api: FakeTelegramAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    telegram_api.push_message("/flaky", chat_id=USER, user_id=USER)
    telegram_api.push_message("/ping", chat_id=USER, user_id=USER)
    assert await eventually(lambda: telegram_api.messages_to(USER))
    assert not errors(caplog)
    assert any("TimedOut" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert telegram_api.messages_to(ADMIN) == []


@pytest.mark.slow  # waits out Telegram's retry_after and a backoff in real time
async def test_replies_and_button_answers_wait_out_429_and_retry_5xx(
    running: Any, telegram_api: FakeTelegramAPI
) -> None:
    telegram_api.inject("sendMessage", "429", count=1, chat_id=USER, retry_after=1)
    telegram_api.inject("sendMessage", "502", count=1, chat_id=USER)
    telegram_api.push_message("/ping", chat_id=USER, user_id=USER)
    assert await eventually(lambda: telegram_api.messages_to(USER))
    assert [m.text for m in telegram_api.messages_to(USER)] == ["pong"]
    assert len(telegram_api.calls_of("sendMessage")) == 3

    telegram_api.inject("answerCallbackQuery", "429", count=1, retry_after=1)
    telegram_api.push_callback("ok", chat_id=USER, user_id=USER)
    assert await eventually(lambda: telegram_api.state.callback_answers)
    assert telegram_api.state.callback_answers[0]["text"] == "answered"


def test_describe_update_of_a_job_and_of_a_command() -> None:
    assert describe_update(None).describe() == "none"
    update = Update.de_json(
        {
            "update_id": 1,
            "message": {
                "message_id": 5,
                "date": 0,
                "chat": {"id": -100, "type": "supergroup"},
                "from": {"id": 9, "is_bot": False, "first_name": "a"},
                "text": "/search@newswatch_bot JNIM secret words",
            },
        },
        None,
    )
    where = describe_update(update)
    assert where.describe() == "/search, chat -100, user 9"
    assert "secret" not in where.describe()


# ----- with_telegram_retries itself, table-driven ----------------------------------------
class Script:
    """A request that raises the scripted errors in turn, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def no_sleep(seconds: float) -> None:
    return None


@pytest.mark.parametrize(
    ("errors_", "policy", "outcome", "calls"),
    [
        ((), RetryPolicy(), "ok", 1),
        ((RetryAfter(3), RetryAfter(3)), RetryPolicy(), "ok", 3),
        ((RetryAfter(3),), RetryPolicy(retry_after_waits=0), TelegramDeferred, 1),
        ((NetworkError("x"), TimedOut()), RetryPolicy(network_retries=2), "ok", 3),
        ((NetworkError("x"),) * 3, RetryPolicy(network_retries=2), TelegramDeferred, 3),
        ((BadRequest("Chat not found"),), RetryPolicy(), BadRequest, 1),
        ((BadRequest("Can't parse entities"),), RetryPolicy(), "ok", 2),  # adjust: plain text
    ],
)
async def test_with_telegram_retries(
    errors_: tuple[Exception, ...], policy: RetryPolicy, outcome: Any, calls: int
) -> None:
    request = Script(*errors_)
    blocked: list[float] = []

    async def adjust(exc: Exception) -> bool:
        return "parse entities" in str(exc)

    run = with_telegram_retries(
        request, policy, adjust=adjust, on_retry_after=blocked.append, sleep=no_sleep
    )
    if isinstance(outcome, str):
        assert await run == outcome
    else:
        with pytest.raises(outcome):
            await run
    assert request.calls == calls
    assert blocked == [3.0] * sum(isinstance(e, RetryAfter) for e in errors_)


async def test_a_turn_refused_defers_before_any_request() -> None:
    request = Script()

    async def turn() -> bool:
        return False

    with pytest.raises(TelegramDeferred) as caught:
        await with_telegram_retries(request, RetryPolicy(), turn=turn)
    assert caught.value.cause is None and request.calls == 0


class BrokenQueries(Queries):
    """Real queries, but /recent's read fails as a bug would."""

    def recent(self, *args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug in a query")


async def test_a_failing_command_answers_the_user_and_reaches_the_error_handler(
    telegram_api: FakeTelegramAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The whole path of a bug in a command: the dispatcher answers "Sorry", re-raises, and
    the registered handler logs it with the command and tells the owner once."""
    caplog.set_level(logging.INFO)
    db = open_database(tmp_path / "nw.db")
    repo = Repository(db)
    app = build_application(TOKEN, telegram_api.base_url, ChatPacer(interval=0.0))
    deliverer = TelegramDeliverer(
        app.bot, repo, timezone="Africa/Bamako", admin_ids=(ADMIN,), pacer=ChatPacer(interval=0.0)
    )
    ErrorReporter(deliverer.notify_admins).register(app)
    Commands(
        access=AccessControl(repo, admin_ids=(ADMIN, USER), chat_ids=()),
        repo=repo,
        queries=BrokenQueries(db),
        watchlists=lambda: None,
        matcher=lambda: None,  # type: ignore[arg-type,return-value]
    ).register(app)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        telegram_api.push_message("/recent 5", chat_id=USER, user_id=USER)
        telegram_api.push_message("/recent 6", chat_id=USER, user_id=USER)
        assert await eventually(lambda: len(telegram_api.messages_to(USER)) == 2)
        assert await eventually(lambda: len(errors(caplog)) == 2)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert all(
        m.text == "Sorry, /recent failed with an internal error; it is in the bot's log."
        for m in telegram_api.messages_to(USER)
    )
    assert "/recent, chat 4440001" in errors(caplog)[0].getMessage()
    [notice] = [m.text for m in telegram_api.messages_to(ADMIN)]
    assert "ZeroDivisionError" in notice and "/recent" in notice and "a bug" not in notice


async def test_the_composed_bot_registers_the_error_handler_and_health(
    telegram_api: FakeTelegramAPI, tmp_path: Path
) -> None:
    """The wiring of `run`: one error handler, and /health answered from the command table."""
    from bot.app.composition import build_service
    from bot.app.config import load_config

    config, problems = load_config(
        None,
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram_api.base_url,
            "NEWSWATCH_DB": str(tmp_path / "nw.db"),
            "NEWSWATCH_ADMIN_IDS": str(ADMIN),
        },
    )
    assert problems == []
    service, fetcher = build_service(config)
    try:
        app = service.application
        assert app is not None
        assert len(app.error_handlers) == 1
        health = [
            h for group in app.handlers.values() for h in group
            if isinstance(h, CommandHandler) and "health" in h.commands
        ]  # fmt: skip
        assert len(health) == 1
    finally:
        await fetcher.aclose()
