"""Rate-limit one user's command flood: one "slow down" reply, the rest ignored for a while."""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, TypeHandler

log = logging.getLogger("newswatch.commands")

MAX_COMMANDS = 20  # per user in any sliding WINDOW seconds
WINDOW = 60.0


class FloodGuard:
    """Before every handler: a user past MAX_COMMANDS in WINDOW s gets one "slow down"
    reply, and the commands after it are dropped (logged once) until the window frees up."""

    def __init__(
        self,
        max_commands: int = MAX_COMMANDS,
        window: float = WINDOW,
        monotonic: Callable[[], float] = time.monotonic,
        exempt: Callable[[int], bool] = lambda user_id: False,
    ):
        self.exempt = exempt  # the bot's owner and admins are never held back
        self.max_commands = max_commands
        self.window = window
        self.monotonic = monotonic
        self._recent: defaultdict[int, deque[float]] = defaultdict(deque)
        self._warned: set[int] = set()

    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        app.add_handler(TypeHandler(Update, self.check), group=-4)

    def allow(self, user_id: int) -> bool | None:
        """True: go on; False: the first refusal (answer it); None: refuse silently."""
        now = self.monotonic()
        recent = self._recent[user_id]
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        if len(recent) < self.max_commands:
            recent.append(now)
            self._warned.discard(user_id)
            return True
        if user_id in self._warned:
            return None
        self._warned.add(user_id)
        return False

    async def check(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None or not (message.text or "").startswith("/"):
            return
        if self.exempt(user.id):
            return
        verdict = self.allow(user.id)
        if verdict:
            return
        if verdict is False:
            log.warning(
                "user %s sent more than %d commands in %.0fs: ignoring them for a while",
                user.id,
                self.max_commands,
                self.window,
            )
            await message.reply_text(
                "Slow down: too many commands in a minute. The next ones are ignored for a"
                " moment; try again in a minute."
            )
        raise ApplicationHandlerStop
