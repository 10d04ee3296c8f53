"""Per-chat alert settings: /mute, /unmute, /mutes, /digest, /quiet, /priority."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Literal

from telegram import (
    Update,
)
from telegram.ext import (
    ContextTypes,
)

from bot.core.errors import UserError
from bot.core.incidents import Severity
from bot.core.normalize import normalize
from bot.core.periods import (
    is_duration,
    parse_clock,
    parse_clock_range,
    parse_duration,
)
from bot.core.records import DigestMode, HoldReason, MuteKind, StoredChatPrefs
from bot.core.reports import (
    MuteLine,
    relative,
    render_mutes,
    stamp,
)
from bot.telegram.commands.env import (
    CommandEnv,
    message_and_user,
    message_of,
)

log = logging.getLogger("newswatch.commands")

LONG_MUTE = timedelta(days=30)  # longer mutes need the owner or an admin


async def mute(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message, user_id = message_and_user(update)
    words = args.split()
    if len(words) < 2 or not is_duration(words[-1]):
        raise UserError(
            "Usage: /mute <entity | source> <duration>, e.g. /mute JNIM 6h"
            " or /mute source RFI Afrique 1d"
        )
    until = env.clock() + parse_duration(words[-1])
    if until - env.clock() > LONG_MUTE and not env.access.is_admin(user_id):
        raise UserError(
            f"A mute longer than {LONG_MUTE.days} days needs the bot's owner or an admin."
        )
    kind, value = _resolve_mute_target(env, " ".join(words[:-1]))
    env.repo.chats.add_mute(message.chat_id, kind, value, until, user_id, env.clock())
    log.info(
        "chat %s muted %s %r until %s (by %s)",
        message.chat_id,
        kind,
        value,
        until,
        user_id,
    )
    await message.reply_text(
        f"Muted {kind} {value} in this chat until {stamp(until)}"
        f" ({relative(until, env.clock())})."
        " Its alerts are still stored and searchable."
    )


async def unmute(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message = message_of(update)
    text = args.strip()
    if not text:
        raise UserError("Usage: /unmute <entity | source>; /mutes lists them.")
    kind_word, _, rest = text.partition(" ")
    kinds: tuple[MuteKind, ...] = tuple(MuteKind)
    if kind_word.lower() in kinds and rest.strip():
        kinds, text = (MuteKind(kind_word.lower()),), rest.strip()
    removed = 0
    for kind in kinds:
        value = text
        if kind is MuteKind.ENTITY:
            value = env.try_entity(text) or text
        removed += env.repo.chats.remove_mute(message.chat_id, kind, value)
    if removed:
        await message.reply_text(f"Unmuted {text}: its alerts will be sent again.")
    else:
        await message.reply_text(f"{text} was not muted in this chat. /mutes lists the mutes.")


async def mutes(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message = message_of(update)
    now = env.clock()
    lines = [
        MuteLine(r.kind.value, r.value, r.until)
        for r in env.repo.chats.active_mutes(message.chat_id, now)
    ]
    await env.pages(message, [render_mutes(lines, now)])


async def digest(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message = message_of(update)
    words = args.lower().split()
    if not words:
        prefs = env.repo.chats.prefs(message.chat_id) or StoredChatPrefs(message.chat_id)
        current = prefs.digest_mode
        when = f" at {prefs.digest_time}" if current in (DigestMode.LOW, DigestMode.ALL) else ""
        await message.reply_text(
            f"Digest: {current}{when} ({env.timezone} time)."
            " Change it with /digest off, /digest hourly or /digest daily HH:MM."
        )
        return
    if words[0] == "off":
        env.repo.chats.set_prefs(message.chat_id, env.clock(), digest_mode=DigestMode.OFF)
        released = await _release(env, message.chat_id, (HoldReason.DAILY, HoldReason.HOURLY))
        await message.reply_text(f"Digest off: every alert is sent as it comes.{released}")
        return
    if words[0] == "hourly" and len(words) == 1:
        env.repo.chats.set_prefs(message.chat_id, env.clock(), digest_mode=DigestMode.HOURLY)
        await _release(env, message.chat_id, (HoldReason.DAILY,))
        await message.reply_text(
            "Digest: alerts are now collected and sent once an hour, on the hour;"
            " urgent alerts still go out at once."
        )
        return
    mode = DigestMode.ALL if words[0] == "daily" else _digest_mode(words[0])
    if mode is None or len(words) != 2:
        raise UserError("Usage: /digest off | hourly | daily HH:MM (e.g. /digest daily 07:30)")
    at = parse_clock(words[1])
    env.repo.chats.set_prefs(
        message.chat_id, env.clock(), digest_mode=mode, digest_time=f"{at:%H:%M}"
    )
    await _release(env, message.chat_id, (HoldReason.HOURLY,))
    await message.reply_text(
        f"Digest: alerts are now collected and sent once a day at {at:%H:%M}"
        f" ({env.timezone} time); urgent alerts still go out at once."
    )


async def quiet(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    message = message_of(update)
    text = args.strip().lower()
    if not text:
        prefs = env.repo.chats.prefs(message.chat_id)
        if prefs is not None and prefs.quiet_start and prefs.quiet_end:
            now_text = f"{prefs.quiet_start}-{prefs.quiet_end} ({env.timezone} time)"
        else:
            now_text = "none"
        await message.reply_text(
            f"Quiet hours: {now_text}. Set them with /quiet 22:00-07:00, or /quiet off."
        )
        return
    if text == "off":
        env.repo.chats.set_prefs(message.chat_id, env.clock(), quiet_start=None, quiet_end=None)
        released = await _release(env, message.chat_id, (HoldReason.QUIET,))
        await message.reply_text(f"Quiet hours off: alerts are sent at any hour.{released}")
        return
    start, end = parse_clock_range(text)
    env.repo.chats.set_prefs(
        message.chat_id, env.clock(), quiet_start=f"{start:%H:%M}", quiet_end=f"{end:%H:%M}"
    )
    # Held under the old hours: planned again under the new ones (sent now, or held on).
    await _release(env, message.chat_id, (HoldReason.QUIET,))
    await message.reply_text(
        f"Quiet hours {start:%H:%M}-{end:%H:%M} ({env.timezone} time): alerts that come"
        " in meanwhile are sent when they end."
    )


async def priority(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    """/priority high-only | <entity> <high|medium|low|any> | off: alerts below a chat's
    minimum severity wait for its daily digest instead of coming at once."""
    message = message_of(update)
    words = args.split()
    chat = message.chat_id
    now = env.clock()
    if not words:
        prefs = env.repo.chats.severity_prefs(chat)
        shown = [(k, v.value) for k, v in prefs.minimums.items()] + [
            (k, f"{v!r} (unknown level: ignored, alerts come at once)")
            for k, v in prefs.unknown.items()
        ]
        if not shown:
            text = "Every matched alert comes at once (no minimum severity)."
        else:
            text = "Minimum severity: " + ", ".join(
                f"{'every entity' if k == '*' else k}: {v}" for k, v in sorted(shown)
            )
        await message.reply_text(
            text + "\nChange it with /priority high-only, /priority ENTITY medium,"
            " or /priority off."
        )
        return
    if words == ["off"]:
        env.repo.chats.clear_severity_prefs(chat)
        await message.reply_text("No minimum severity: every matched alert comes at once.")
        return
    if words[0].lower() in ("high-only", "high_only", "highonly") and len(words) == 1:
        env.repo.chats.set_severity_pref(chat, "*", Severity.HIGH, now)
        await message.reply_text(
            "Only high-severity incidents (10+ dead, a capital or major base attacked, a"
            " coup, a mass abduction) now come at once; everything else waits for the"
            " daily digest. /priority off to undo."
        )
        return
    level = _severity_level(words[-1])
    if len(words) < 2 or level is None:
        raise UserError(
            "Usage: /priority high-only, /priority ENTITY high|medium|low|any, or /priority off"
        )
    name = env.resolve_entity(" ".join(words[:-1]))
    floor = None if level == "any" else level
    env.repo.chats.set_severity_pref(chat, name.casefold(), floor, now)
    if floor is None:
        await message.reply_text(f"{name}: every matched alert comes at once.")
    else:
        await message.reply_text(
            f"{name}: only incidents of severity {floor.value} or more come at once;"
            " the rest waits for the daily digest."
        )


def _severity_level(word: str) -> Severity | Literal["any"] | None:
    """The minimum severity a word names (``any``: no minimum), or None."""
    word = word.lower()
    if word == "any":
        return "any"
    try:
        return Severity(word)
    except ValueError:
        return None


def _digest_mode(word: str) -> DigestMode | None:
    """The digest mode a word names (``/digest low 08:00`` still works), or None."""
    try:
        return DigestMode(word)
    except ValueError:
        return None


async def _release(env: CommandEnv, chat_id: int, reasons: tuple[HoldReason, ...]) -> str:
    """Alerts held for ``reasons`` are due at once, and a delivery pass starts now."""
    released = env.repo.outbox.release_held(chat_id, reasons, env.clock())
    if not released:
        return ""
    log.info("chat %s: %d held alert(s) released (%s)", chat_id, released, ", ".join(reasons))
    await env.deliver_soon()
    return f" The {released} alert(s) held so far are on their way."


def _resolve_mute_target(env: CommandEnv, text: str) -> tuple[MuteKind, str]:
    kind_word, _, rest = text.partition(" ")
    kinds = list(MuteKind)
    if kind_word.lower() in kinds and rest.strip():
        kinds, text = [MuteKind(kind_word.lower())], rest.strip()
    if MuteKind.ENTITY in kinds:
        name = env.try_entity(text)
        if name is not None:
            return MuteKind.ENTITY, name
    if MuteKind.SOURCE in kinds:
        wanted = normalize(text)
        for source in env.queries.source_names():
            if normalize(source) == wanted:
                return MuteKind.SOURCE, source
    raise UserError(
        f"{text[:60]} is neither a watched entity nor a known source."
        " See /watchlist for entities and /recent for source names."
    )
