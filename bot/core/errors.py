"""The one exception tree of newswatch, and feed failures as values.

Every error newswatch raises on purpose derives from ``NewswatchError``, so that each error
path catches it in one place and shows its message; anything else reaching those places is a
bug and is logged with its traceback.

    NewswatchError
    ├── ProblemsError                 carries ``problems``: every Problem found, ``file:line``
    │   ├── ConfigError               the configuration cannot be used
    │   └── WatchlistError            the watchlists cannot be loaded, no good version before
    ├── UserFacingError               a request that cannot be served; the message is for the user
    │   ├── UserError                 a bad bot command argument
    │   ├── PeriodError               not a count, period or time ("6h", "3d", "07:30")
    │   ├── SearchError               a search FTS5 refused
    │   ├── LookupFailed              what the user named was not found or not unique
    │   │   ├── FeedLookupError       a feed named by a part of its URL
    │   │   └── ButtonExpired         an alert's button that no longer resolves
    │   ├── SourceError               a source declaration that cannot be used (telegram:, page:, …)
    │   │   └── SourceReadError       a source named to `main.py match` that cannot be read
    │   └── SelectorProblem           a page source's CSS selector that does not compile
    ├── FeedError                     a feed's fetch or parse failed: ``kind`` + ``detail``
    ├── SignatureCodecError           stored story signature bytes unusable: computed again
    ├── DataFileError                 a shipped data file is unusable
    │   ├── GazetteerError            bot/data/gazetteer.json
    │   ├── LexiconError              bot/data/incident_lexicon.toml
    │   ├── ModelError                bot/data/story_model.json
    │   ├── ActionLexiconError        bot/data/story_actions.toml
    │   └── MeaningLexiconError       bot/data/meaning_lexicon.tsv
    ├── ServiceError                  the service cannot start or go on
    │   ├── AlreadyRunning            another process holds the database or the bot token
    │   ├── DatabaseGone              the database file was replaced or removed under us
    │   ├── DatabaseMissing           no database file where one is only to be read
    │   └── WebError                  `main.py web` cannot start
    └── DeliveryDeferred              a send to chats did not go through; tried again later
                                      (bot.telegram.retries.TelegramDeferred: Telegram's)

``FeedError`` is also a value: the fetcher, the parser and the source readers *return* one
(``FetchResult.error``, ``ParsedFeed.error``) rather than raise it, created where the failure
happens with its ``FeedErrorKind``; the kind is stored with the feed (``feeds.last_error_kind``)
so that the log, ``/feeds``, ``status`` and ``/health`` group failures by kind.

Where errors are caught: ``NewswatchError`` is caught in three places, one per error path;
none is redundant, because no error reaches two of them:

- the command line, ``bot/cli/entry.py`` ``main()`` (``main.py`` only calls it): an error
  that ends a command (a config problem, ``AlreadyRunning`` at start, a bad period) prints
  ``lines()`` and exits with ``exit_code``. ``main.py run`` lands here only when the service
  cannot start or stops; errors inside it stay on the two paths below.
- a polling cycle, ``bot/app/service.py`` ``Service._tick``: the scheduler must go on after
  a failed cycle, so the error is logged in one line (no traceback), except ``DatabaseGone``,
  which stops the service with its own exit code. Without this catch the cycle's broad
  ``except Exception`` would log it as a bug and keep writing to a replaced database.
- a bot command, ``bot/telegram/commands/dispatch.py`` (the handler every command of the
  table runs in): a ``UserFacingError`` is the reply itself; any other is answered "Sorry,
  /x failed" and logged. An error it lets through (a bug) reaches the python-telegram-bot error
  handler (``bot/telegram/error_handler.py``), which logs it with its context and tells the
  owner: that handler is for bugs, and would treat a user's bad argument as one.

Narrower catches of one subclass handle it where it is expected and are not error
boundaries: ``ButtonExpired`` answered on the button (``bot/telegram/buttons.py``),
``SearchError`` and ``SourceError``-family errors turned into a reply or a ``Problem`` where
the input is read, a ``FeedError`` raised inside the fetcher returned as the feed's value,
``SignatureCodecError`` caught by the story grouper (bot.cycle.story_grouping), which
computes the signature instead, ``DatabaseMissing`` (storage.db.open_reader) turned into a
``WebError`` saying to run the bot first (bot.web.server), and ``DeliveryDeferred``
(``TelegramDeferred``) ending one send attempt.

Some classes also derive from the built-in they replace (``ValueError``, ``LookupError``) so
that a caller catching the built-in keeps working. Control flow inside one module (a parser's
fallback signal, the parse pool's time-limit interrupt) is not part of this tree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import ClassVar

from bot.core.models import Problem


class NewswatchError(Exception):
    """The root: an error newswatch raises on purpose, with a message fit to show.

    ``exit_code`` is what the command line exits with when this error ends a command.
    """

    exit_code: ClassVar[int] = 1

    def lines(self) -> list[str]:
        """What the command line prints for this error, one line each (on stderr)."""
        return [f"newswatch: {self}"]


# ----- problem lists ----------------------------------------------------------------------
class ProblemsError(NewswatchError):
    """Carries every problem found (``file:line: message``), not only the first."""

    exit_code: ClassVar[int] = 2

    def __init__(self, problems: Iterable[Problem], message: str | None = None) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(message or "\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(problem) for problem in self.problems]


class ConfigError(ProblemsError):
    """The configuration cannot be used; carries every problem found."""


class WatchlistError(ProblemsError):
    """The watchlists could not be loaded and no earlier good version exists."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        lines = "\n".join(str(p) for p in problems)
        super().__init__(problems, f"invalid watchlists ({len(problems)} problem(s)):\n{lines}")


# ----- user-facing ------------------------------------------------------------------------
class UserFacingError(NewswatchError):
    """A request that cannot be served; the message goes back to the user as is."""

    exit_code: ClassVar[int] = 2

    def lines(self) -> list[str]:
        return [str(self)]


class UserError(UserFacingError):
    """A bad bot command argument: the message goes back to the user as is (plain text)."""


class PeriodError(UserFacingError, ValueError):
    """A command argument that is not a valid count, period or time; the text is for the user."""


class SearchError(UserFacingError):
    """FTS5 refused a MATCH expression (should not happen with bot.core.search_query)."""


class LookupFailed(UserFacingError, LookupError):
    """Something the user named was not found, or not only one thing was."""


class FeedLookupError(LookupFailed):
    """A feed named by a user could not be picked: the message says why, for the user."""


class ButtonExpired(LookupFailed):
    """A pressed button no longer resolves (alert pruned, other chat, stale data)."""


class SourceError(UserFacingError, ValueError):
    """A source declaration that cannot be used; the message says why, for the user."""


class SourceReadError(SourceError):
    """A source given to `main.py match` (file, URL, stdin) could not be read."""


class SelectorProblem(UserFacingError, ValueError):
    """A CSS selector that cannot be compiled; the message names it."""


# ----- data files -------------------------------------------------------------------------
class DataFileError(NewswatchError, ValueError):
    """A data file shipped with newswatch is unusable; the message names the entry."""


class GazetteerError(DataFileError):
    """The gazetteer data has a bad entry; the message names the entry and the field."""


class LexiconError(DataFileError):
    """The incident lexicon has a bad entry; the message names it."""


class ModelError(DataFileError):
    """The story model data is unusable; the message says which part."""


class ActionLexiconError(DataFileError):
    """The story action classes are unusable; the message names the class and the field."""


class MeaningLexiconError(DataFileError):
    """The cross-language meaning lexicon is unusable; the message names the line."""


class SignatureCodecError(NewswatchError, ValueError):
    """Stored story signature bytes (bot.core.story_codec) that are not a signature of this
    format and these inputs: the signature is computed again, never used."""


# ----- the service ------------------------------------------------------------------------
class ServiceError(NewswatchError):
    """The service cannot start or cannot go on; the message says why and what to do."""


class AlreadyRunning(ServiceError):
    """Another newswatch process holds the lock; the message says which and how to proceed."""

    exit_code: ClassVar[int] = 3


class DatabaseGone(ServiceError):
    """The file at the database path is no longer the one this process opened."""


class DatabaseMissing(ServiceError):
    """No database file at the path a read-only connection was asked for (nothing is created
    there: a reader never creates the file nor migrates it). ``path`` is the path given."""

    def __init__(self, path: str) -> None:
        super().__init__(f"no database at {path}")
        self.path = path


class WebError(ServiceError):
    """`web` cannot start; the message says why and what to do."""

    exit_code: ClassVar[int] = 2

    def lines(self) -> list[str]:
        return [f"newswatch web: {self}"]


class DeliveryDeferred(NewswatchError):
    """A message was not sent (a long rate limit, the network) and stays pending: the next
    delivery pass sends it. The Telegram adapter raises its own subclass."""


# ----- feed failures ----------------------------------------------------------------------
class FeedErrorKind(StrEnum):
    """Why a feed's fetch or parse failed, named where it failed. Stored as its value."""

    DNS = "dns"  # the host name does not resolve
    TLS = "tls"  # certificate or TLS handshake
    CONNECT_TIMEOUT = "connect_timeout"  # no TCP connection within connect_timeout
    TIMEOUT = "timeout"  # read, write or connection-pool timeout
    DEADLINE = "deadline"  # the whole fetch took longer than fetch_deadline
    CONNECT = "connect"  # connection refused or unreachable
    NETWORK = "network"  # the connection dropped, or another transport error
    BAD_URL = "bad_url"  # not an http(s) URL with a host (also a redirect to one)
    PRIVATE_ADDRESS = "private_address"  # refused: allow_private_addresses is false
    REDIRECT_LOOP = "redirect_loop"  # a redirect back to an address already visited
    TOO_MANY_REDIRECTS = "too_many_redirects"  # more than max_redirects hops
    RATE_LIMITED = "rate_limited"  # HTTP 429
    GONE = "gone"  # HTTP 410: the feed is disabled until /retry
    HTTP_STATUS = "http_status"  # any other HTTP error status (``FeedError.status``)
    TOO_LARGE = "too_large"  # the body is larger than max_body_bytes
    BAD_ENCODING = "bad_encoding"  # corrupt gzip/deflate, or an unsupported Content-Encoding
    EMPTY = "empty"  # the server sent no content
    NOT_A_FEED = "not_a_feed"  # an HTML page, JSON that is no JSON Feed, unreadable XML
    MALFORMED = "malformed"  # a feed so broken that no item could be read
    PARSE_TIMEOUT = "parse_timeout"  # parsing took longer than its time limit
    SOURCE = "source"  # a non-feed source's own failure (no channel preview, GDELT, selector)
    INTERNAL = "internal"  # a bug of newswatch while reading this feed
    UNKNOWN = "unknown"  # a failure stored before kinds were (unrecognised old text)

    @property
    def label(self) -> str:
        """The kind in words, for the log, /feeds, status and /health."""
        return _LABELS[self]


_LABELS: dict[FeedErrorKind, str] = {
    FeedErrorKind.DNS: "DNS lookup failed",
    FeedErrorKind.TLS: "TLS error",
    FeedErrorKind.CONNECT_TIMEOUT: "connect timeout",
    FeedErrorKind.TIMEOUT: "timeout",
    FeedErrorKind.DEADLINE: "overall fetch deadline",
    FeedErrorKind.CONNECT: "connection failed",
    FeedErrorKind.NETWORK: "network error",
    FeedErrorKind.BAD_URL: "not a fetchable URL",
    FeedErrorKind.PRIVATE_ADDRESS: "non-public address refused",
    FeedErrorKind.REDIRECT_LOOP: "redirect loop",
    FeedErrorKind.TOO_MANY_REDIRECTS: "too many redirects",
    FeedErrorKind.RATE_LIMITED: "rate limited (429)",
    FeedErrorKind.GONE: "gone (410)",
    FeedErrorKind.HTTP_STATUS: "HTTP error",
    FeedErrorKind.TOO_LARGE: "body too large",
    FeedErrorKind.BAD_ENCODING: "bad encoding",
    FeedErrorKind.EMPTY: "empty body",
    FeedErrorKind.NOT_A_FEED: "not a feed",
    FeedErrorKind.MALFORMED: "malformed feed",
    FeedErrorKind.PARSE_TIMEOUT: "parse time limit",
    FeedErrorKind.SOURCE: "source error",
    FeedErrorKind.INTERNAL: "internal error",
    FeedErrorKind.UNKNOWN: "other",
}

# Kinds that, for many feeds at once, mean this machine cannot reach the Internet.
NETWORK_KINDS = frozenset({FeedErrorKind.DNS, FeedErrorKind.CONNECT, FeedErrorKind.CONNECT_TIMEOUT})


class FeedError(NewswatchError):
    """One feed's failure: its ``kind`` and the ``detail`` shown to people (``str()``).

    Mostly a value (``FetchResult.error``, ``ParsedFeed.error``); raised only inside the
    fetcher, and caught there. ``status`` is the HTTP status when there was one. Equal when
    kind, detail and status are; it pickles (it crosses the parse pool's process boundary).
    """

    def __init__(self, kind: FeedErrorKind, detail: str, status: int | None = None) -> None:
        super().__init__(kind, detail, status)
        self.kind = FeedErrorKind(kind)
        self.detail = detail
        self.status = status

    def __str__(self) -> str:
        return self.detail

    def __repr__(self) -> str:
        return f"FeedError({self.kind.value!r}, {self.detail!r}, status={self.status!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FeedError):
            return NotImplemented
        return (self.kind, self.detail, self.status) == (other.kind, other.detail, other.status)

    def __hash__(self) -> int:
        return hash((self.kind, self.detail, self.status))

    @property
    def group(self) -> str:
        """What failures are grouped by in words: the kind, with the status for HTTP errors."""
        if self.kind is FeedErrorKind.HTTP_STATUS and self.status is not None:
            return f"HTTP {self.status}"
        return self.kind.label

    def prefixed(self, prefix: str) -> FeedError:
        """The same failure, its detail after ``prefix`` (e.g. which page of a source)."""
        return FeedError(self.kind, f"{prefix}{self.detail}", self.status)


def kind_label(kind: str | None, status: int | None = None) -> str | None:
    """A stored kind (``feeds.last_error_kind``) in words; None when there is no failure."""
    if not kind:
        return None
    try:
        value = FeedErrorKind(kind)
    except ValueError:
        value = FeedErrorKind.UNKNOWN
    return FeedError(value, "", status).group
