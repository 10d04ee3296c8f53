"""The one table of bot commands: name, arguments, help text, role and handler.

Everything that lists or dispatches commands reads it: the handlers registered with
python-telegram-bot and who may use each (``dispatch.Commands.register``), ``/help``, the
list published with ``setMyCommands`` (``Commands.publish``), and the command list in
``docs/commands.md`` (``bot.telegram.commands.docs``; a test checks the file and the
README against this table). Add a command here and in its group module, nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.telegram.commands import charts, chat_settings, onboarding, queries, watching
from bot.telegram.commands.env import ArgsHandler


class Role(StrEnum):
    """Who may use a command."""

    ANYONE = "anyone"  # /start: a pairing code must work before anyone is allowed
    MEMBER = "member"  # admins, the owner, allowed users, members of alert chats
    ADMIN = "admin"  # the owner and the configured admins


ROLE_LABELS = {
    Role.ANYONE: "anyone",
    Role.MEMBER: "users of the bot",
    Role.ADMIN: "owner and admins",
}


@dataclass(frozen=True, slots=True)
class Command:
    """One bot command. ``chat_setting``: it changes the chat's alert settings when given
    arguments (in a group only the group's admins may); ``listed``: shown in /help and the
    published command list."""

    name: str
    args: str
    help: str
    role: Role
    handler: ArgsHandler
    chat_setting: bool = False
    listed: bool = True

    @property
    def usage(self) -> str:
        return f"/{self.name} {self.args}".rstrip()


M, A = Role.MEMBER, Role.ADMIN
COMMANDS: tuple[Command, ...] = (
    Command(
        "start", "[pairing code]", "Pair as the owner, or the help", Role.ANYONE,
        onboarding.start, listed=False,
    ),
    Command("help", "", "What the bot watches, and the commands", M, onboarding.help_command),
    # reading past alerts
    Command("recent", "[N | 6h | 3d]", "The latest alerts, newest first", M, queries.recent),
    Command(
        "search", "<words> [since:7d]", "Full-text search over past alerts", M, queries.search
    ),
    Command("entity", "<name> [7d]", "The alerts for one watched entity", M, queries.entity),
    Command("story", "<id>", "Every outlet that reported a story", M, queries.story),
    Command(
        "stats", "[7d]", "Alerts per entity and source, against the period before", M,
        queries.stats,
    ),
    # charts and maps
    Command(
        "trend", "<entity> [30d]", "A chart of an entity's mentions over a period", M,
        charts.trend,
    ),
    Command(
        "map", "[30d] [entity] [ar]",
        "A map of incidents: type, toll and place (ar: Arabic names)", M, charts.map_command,
    ),
    # feeds and the watchlist
    Command("feeds", "", "Feed health: failing and stale feeds", M, watching.feeds),
    Command(
        "retry", "<feed url>", "Owner: fetch a paused or 410-disabled feed again", A,
        watching.retry,
    ),
    Command(
        "watchlist", "", "The entities in force, by file, and the version", M,
        watching.watchlist,
    ),
    Command(
        "test", "<headline> [summary on a new line]", "What would alert, and which rule decided",
        M, watching.headline_test,
    ),
    # this chat's alert settings
    Command(
        "mute", "<entity | source> <duration>", "Stop sending alerts about an entity or a source",
        M, chat_settings.mute, chat_setting=True,
    ),
    Command(
        "unmute", "<entity | source>", "Lift a mute", M, chat_settings.unmute, chat_setting=True
    ),
    Command("mutes", "", "What is muted in this chat", M, chat_settings.mutes),
    Command(
        "digest", "off | hourly | daily HH:MM", "Collect alerts into a digest, or not", M,
        chat_settings.digest, chat_setting=True,
    ),
    Command(
        "quiet", "HH:MM-HH:MM | off", "Quiet hours (local time): alerts wait until they end", M,
        chat_settings.quiet, chat_setting=True,
    ),
    Command("export", "[30d]", "A CSV file of the alerts of a period", M, queries.export),
    # the owner's changes to what is watched
    Command("watch", "<name>[, alias, …]", "Owner: watch a new entity", A, watching.watch),
    Command(
        "unwatch", "<name>", "Owner: stop watching an entity added with /watch", A,
        watching.unwatch,
    ),
    Command(
        "addfeed", "<url>", "Owner: poll a new feed (fetched once to check it)", A,
        watching.addfeed,
    ),
    Command(
        "rmfeed", "<url>", "Owner: stop polling a feed added with /addfeed", A, watching.rmfeed
    ),
    # alert chats and access
    Command(
        "subscribe", "[chat id | @channel]", "Owner: send alerts to this chat (or that one)", A,
        onboarding.subscribe,
    ),
    Command(
        "unsubscribe", "[chat id | @channel]", "Owner: stop sending alerts to this chat", A,
        onboarding.unsubscribe,
    ),
    Command(
        "priority", "high-only | <entity> high|medium|low | off",
        "Only incidents this severe alert at once", M, chat_settings.priority,
        chat_setting=True,
    ),
    Command("allow", "<user id>", "Owner: let a user use the bot", A, onboarding.allow),
    Command("deny", "<user id>", "Owner: stop a user from using the bot", A, onboarding.deny),
    Command("health", "", "Bot health: uptime, last cycle, failing feeds", M, watching.health),
)  # fmt: skip
BY_NAME = {command.name: command for command in COMMANDS}


def help_entries() -> list[tuple[str, str, str]]:
    """(name, arguments, help) of the listed commands, in table order: /help's list."""
    return [(c.name, c.args, c.help) for c in COMMANDS if c.listed]
