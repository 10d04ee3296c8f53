"""Group alerts into stories across feeds: the core StoryGroups, its model and gazetteer loaded
from data files, rebuilt from SQLite at start; a cycle's stored alerts are grouped together,
in the order of their events, each visible to the next."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import re
import sqlite3
import threading
import tomllib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from bot.core.arrival_bound import dated_by_arrival
from bot.core.gazetteer import PlaceKind
from bot.core.link_dates import link_event_time
from bot.core.meanings import MeaningLexicon
from bot.core.models import StoredAlert
from bot.core.normalize import normalize
from bot.core.records import PendingAlert, StoryMember
from bot.core.story_actions import ActionLexicon, parse_actions
from bot.core.story_codec import (
    SignatureCodecError,
    decode_signature,
    encode_signature,
    inputs_digest,
)
from bot.core.story_index import StoryGroups
from bot.core.story_model import (
    PlaceFinder,
    Signature,
    StoryModel,
    parse_story_model,
    signature,
)
from bot.cycle.signature_helper import SignatureHelper
from bot.cycle.story_signatures import signature_tag
from bot.data.gazetteer_file import load_default_gazetteer
from bot.data.meaning_file import load_default_meanings
from storage.alerts import AlertStore
from storage.db import open_reader
from storage.repository import Repository
from storage.sqlite_utils_loader import Database
from storage.transactions import transaction

log = logging.getLogger("newswatch.stories")

_REGION_WORD = re.compile(r"\s+(region|department|province)$", re.IGNORECASE)

MODEL_FILE = Path(__file__).resolve().parent.parent / "data" / "story_model.json"
ACTIONS_FILE = Path(__file__).resolve().parent.parent / "data" / "story_actions.toml"

PlaceFinderFn = PlaceFinder


def load_story_model(path: Path = MODEL_FILE) -> StoryModel:
    """The shipped story model (fitted weights, see docs/dedup.md)."""
    return parse_story_model(json.loads(path.read_text(encoding="utf-8")))


def load_actions(path: Path = ACTIONS_FILE) -> ActionLexicon:
    """The shipped action classes (freed, arrives, quits... in EN/FR/AR; docs/dedup.md)."""
    return parse_actions(tomllib.loads(path.read_text(encoding="utf-8")))


@cache
def action_finder() -> ActionLexicon:
    """The shipped action classes, parsed once per process."""
    return load_actions()


def meaning_finder() -> MeaningLexicon | None:
    """The shipped cross-language meaning lexicon (parsed once per process), or None when this
    installation has no lexicon file (grouping then goes without the meaning features). A
    malformed file is refused (MeaningLexiconError), as the model and action files are."""
    try:
        return load_default_meanings()
    except OSError as exc:
        log.warning("no meaning lexicon for story grouping: %s", exc)
        return None


@cache
def place_finder() -> PlaceFinderFn | None:
    """The shipped Sahel gazetteer as a PlaceFinder (bot.core.story_model), or None when this
    installation has no gazetteer file."""
    try:
        gazetteer = load_default_gazetteer()
    except (OSError, ValueError) as exc:
        log.warning("no gazetteer for story grouping: %s", exc)
        return None

    def find(text: str) -> list[tuple[str, str | None, bool]]:
        out = []
        for mention in gazetteer.find(text):
            place = mention.place
            is_region = place.kind is PlaceKind.REGION
            admin1 = place.admin1
            if is_region and not admin1:  # "Mopti Region": the region of the Mopti places
                admin1 = _REGION_WORD.sub("", place.name)
            region = f"{place.country}:{normalize(admin1)}" if admin1 else None
            # A region's capital stands for the region in the news ("the Mopti area").
            is_region = is_region or (
                admin1 is not None and normalize(admin1) == normalize(place.name)
            )
            out.append((place.id, region, is_region))
        return out

    return find


def event_time(published: datetime | None, arrived: datetime) -> datetime:
    """When a report's event happened, for story grouping: its publication time, never later
    than its arrival (a date in the future is a feed's mistake); its arrival when the feed
    gave no date."""
    return min(published, arrived) if published is not None else arrived


def has_date(
    published: datetime | None, published_after: datetime | None, arrived: datetime
) -> bool:
    """Whether grouping knows a report's date: its feed gave one, or its feed was read without
    it shortly before it arrived (bot.core.arrival_bound: its arrival is then its date).
    Otherwise its gap to any other report is unknown."""
    return published is not None or dated_by_arrival(published_after, arrived)


def report_date(
    published: datetime | None,
    published_after: datetime | None,
    link: str | None,
    arrived: datetime,
    link_dates: bool = True,
) -> tuple[datetime, bool]:
    """A report's event time for story grouping and whether it is dated (its gap to other
    reports known): its feed's date; else its arrival when the arrival bounds its date
    (bot.core.arrival_bound); else, with ``link_dates``, the day its link states
    (bot.core.link_dates: noon UTC, never after its arrival); else its arrival, undated.
    Derived from what is stored with the alert, so a restart reads the same."""
    if has_date(published, published_after, arrived):
        return event_time(published, arrived), True
    if link_dates and link:
        linked = link_event_time(link, arrived)
        if linked is not None:
            return linked, True
    return arrived, False


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection in the block. Re-indexing allocates a few dozen sets per
    alert and frees none: the collector's passes over them found nothing and cost a fifth of
    the re-index's CPU (bench/story_rebuild.py). The block creates no reference cycles."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a report goes: an open story (``story_id``) or a new one (None), with what the
    index keeps of it and its signature's bytes to store with it ((tag, bytes), None when
    signatures are not stored)."""

    story_id: int | None
    signature: Signature
    arrived: datetime
    event: datetime
    stored: tuple[str, bytes] | None = None
    dated: bool = True  # False: no date known (report_date): its gap to any report is unknown


def event_order(alerts: Iterable[PendingAlert], link_dates: bool = True) -> list[PendingAlert]:
    """Alerts in the order their events happened (``report_date``; ties: the order they were
    stored). Online grouping links a report to the story of its best match, so a report that
    links two others must come between them: fed in the order feeds ended, it may come
    last, and the other two start two stories."""

    def key(a: PendingAlert) -> tuple[datetime, int]:
        event, _dated = report_date(
            a.published_at, a.published_after, a.link, a.created_at, link_dates
        )
        return event, a.alert_id

    return sorted(alerts, key=key)


def _index_member(
    index: StoryGroups, row: StoryMember, sig: Signature, now: datetime, link_dates: bool = True
) -> None:
    """Index a stored story member: its arrival (``now`` for a row without one), its event
    time and whether it is dated (``report_date``: as when it was filed)."""
    arrived = row.created_at or now
    event, dated = report_date(row.published_at, row.published_after, row.link, arrived, link_dates)
    index.add(row.story_id, sig, arrived, event, dated=dated)


def _database_file(repo: Repository) -> str | None:
    """The file of the repository's main database, None for an in-memory one."""
    try:
        for _seq, name, path in repo.db.execute("PRAGMA database_list").fetchall():
            if name == "main":
                return str(path) or None
    except sqlite3.Error:
        return None
    return None


# A signature's lexicons: gazetteer places, action classes, meanings (each may be absent).
Lexicons = tuple[PlaceFinderFn | None, ActionLexicon | None, MeaningLexicon | None]
# Serialises the first parse of the shipped lexicons across threads (the loader thread of
# ``start_loading`` and the event loop): each file is parsed once per process.
_LEXICON_LOCK = threading.Lock()


@dataclass(slots=True)
class _Indexed:
    """The story window indexed (by ``StoryGrouper._index_window``, in any thread): what
    ``_install`` puts in force and writes back, on the event loop's thread."""

    index: StoryGroups
    count: int = 0
    stored: int = 0  # signatures read back; the rest were computed
    missing: list[tuple[int, bytes]] = field(default_factory=list)  # computed, to store
    oldest: int | None = None
    corrupt: list[int] = field(default_factory=list)


# Fewer pending alerts than this are filed without a signature helper: forking one costs
# about as much as computing that many signatures.
HELPER_MIN = 96
HELPER_LEAD = 32  # alerts the main thread files while the helper starts (without a limit)


class StoryGrouper:
    """Implements the pipeline's StoryAssigner: the pipeline stores each feed's alerts without
    a story (``AlertDraft.group_later``), then ``group_pending`` gives the stored ones their
    stories, in event order, each indexed before the next is placed.

    With ``store_signatures`` (the service and `poll --once`), each assignment carries its
    signature's bytes, stored with the alert (table ``story_signatures``), and ``load`` reads
    them back instead of computing them: about 0.1 ms an alert instead of 0.5-0.6 ms. Only
    signatures of the running tag (bot.cycle.story_signatures) and of the row's own inputs
    are used; the others are computed, then stored for the next re-index. With lexicons other
    than the shipped ones nothing is stored (their tag cannot be known).

    With ``parallel_signatures`` as well (`poll --once`, whose second core is idle while it
    files), a batch of at least HELPER_MIN pending alerts gets a helper process
    (bot.cycle.signature_helper) that computes their signatures ahead of the filing; each
    alert takes its helper's signature when it is ready and of its own inputs, else computes
    it as before. The filing, its order and what it stores are the same either way."""

    def __init__(
        self,
        repo: Repository,
        window: timedelta,
        model: StoryModel | None = None,
        places: PlaceFinderFn | bool | None = True,
        actions: ActionLexicon | bool | None = True,
        meanings: MeaningLexicon | bool | None = True,
        store_signatures: bool = False,
        parallel_signatures: bool = False,
        link_dates: bool = True,
    ):
        self.repo = repo
        # An undated report whose link states its day is dated by it (report_date); False:
        # as before link dates (bench/stories_e2e.py --no-link-dates)
        self.link_dates = link_dates
        self.window = window
        self.model = model or load_story_model()
        # True: the shipped gazetteer, action classes and meaning lexicon, loaded with the
        # first signature (``preload`` loads them now). Parsing them costs about 0.16 s of
        # CPU, which a `poll --once` that alerts nothing (a cycle of 304s) never needs.
        self._wanted = (places, actions, meanings)
        self._lexicons: Lexicons | None = None
        self.index = StoryGroups(self.model, window=window)
        self._loaded = False
        # (story, outlet) of the alerts filed since pending alerts were last all filed: the
        # feed body each came from (group_pending)
        self._bodies: dict[tuple[int, str], str | None] = {}
        shipped = all(w is True for w in self._wanted)
        self._store = store_signatures and shipped
        self.loaded_stored = 0  # signatures the last load read back (the rest it computed)
        self._parallel = parallel_signatures and self._store
        self._helper: SignatureHelper | None = None
        # The pending alerts in event order as last read, less those filed since, and the
        # (alert id, arrival) of each: the next chunk reuses the order while it still holds.
        self._queue: list[PendingAlert] = []
        self._queue_keys: dict[int, str] = {}
        # The loading started off the event loop (start_loading), until it is in force.
        self._loading: asyncio.Future[_Indexed | None] | None = None
        self._lexicon_lock = threading.Lock()

    def preload(self) -> None:
        """Load the lexicons now: `run` does it at start, so a malformed file stops it there."""
        self._resolve()

    def _resolve(self) -> Lexicons:
        lexicons = self._lexicons
        if lexicons is None:
            # Once, whichever thread asks first (the loader thread or the event loop).
            with self._lexicon_lock, _LEXICON_LOCK:
                if self._lexicons is None:
                    places, actions, meanings = self._wanted
                    self._lexicons = (
                        place_finder() if places is True else places or None,
                        action_finder() if actions is True else actions or None,
                        meaning_finder() if meanings is True else meanings or None,
                    )
                lexicons = self._lexicons
        return lexicons

    @property
    def places(self) -> PlaceFinderFn | None:
        return self._resolve()[0]

    @property
    def actions(self) -> ActionLexicon | None:
        return self._resolve()[1]

    @property
    def meanings(self) -> MeaningLexicon | None:
        return self._resolve()[2]

    def signature(self, title: str, summary: str, entities: Iterable[str]) -> Signature:
        return signature(title, summary, entities, *self._resolve())

    @property
    def tag(self) -> str | None:
        """The tag signatures are stored under, None when they are not stored."""
        return signature_tag() if self._store else None

    @property
    def loaded(self) -> bool:
        """Whether the window's index is in force (filing needs it)."""
        return self._loaded

    def start_loading(self, now: datetime) -> None:
        """Start loading, off the event loop, what filing needs: the lexicons and the story
        window's index, read through a connection of its own (never the event loop's, whose
        transactions it would see). The pipeline calls it when a cycle has alerts to file
        and awaits ``wait_loaded`` before filing, so the event loop goes on serving commands
        and fetches meanwhile (parsing the lexicons and re-indexing the window: 0.1-0.2 s of
        CPU, seconds under load). Nothing is started twice; a database without a file
        (``:memory:``) is indexed by ``load``, on the caller's thread."""
        if self._loaded or self._loading is not None:
            return
        path = _database_file(self.repo)
        tag = self.tag
        window_from = now - self.window
        self._loading = asyncio.get_running_loop().run_in_executor(
            None, self._load_in_thread, path, window_from, now, tag
        )

    def _load_in_thread(
        self, path: str | None, since: datetime, now: datetime, tag: str | None
    ) -> _Indexed | None:
        self._resolve()
        if path is None:
            return None
        conn = open_reader(path)  # read-only; waits out the writer's locks (busy timeout)
        try:
            rows = AlertStore(Database(conn)).iter_story_members(since, tag)
            with _gc_paused():
                return self._index_window(rows, now, tag)
        finally:
            conn.close()

    async def ready(self, now: datetime) -> None:
        """Before filing: when alerts wait for their story, have the loading (off the event
        loop) in force. A cycle with nothing to file costs one query."""
        if self._loaded or (self._loading is None and not self.repo.alerts.has_pending_story()):
            return
        await self.wait_loaded(now)

    async def wait_loaded(self, now: datetime) -> None:
        """Await the loading ``start_loading`` began (starting it if needed) and put it in
        force. A loading that failed is only logged: ``group_pending`` then loads on the
        caller's thread as before, with the same outcome (a missing lexicon file means
        grouping goes without it; a malformed one fails the filing, alerts stay pending)."""
        if self._loaded:
            return
        self.start_loading(now)
        loading = self._loading
        if loading is None:
            return
        try:
            built = await asyncio.shield(loading)
        except asyncio.CancelledError:
            raise  # the loading goes on; the next wait takes its result
        except Exception as exc:  # boundary: filing loads on its own thread and says why
            self._loading = None
            log.warning("story index not loaded off the event loop: %s", exc)
            return
        self._loading = None
        if built is not None and not self._loaded:
            self._install(built, self.tag)

    def load(self, now: datetime) -> int:
        """Index every story member stored within the window (a story stays open while it
        keeps being reported), on this thread."""
        with _gc_paused():
            return self._load(now)

    def _load(self, now: datetime) -> int:
        tag = self.tag
        since = now - self.window
        if tag is None:
            rows: Iterable[StoryMember] = self.repo.alerts.recent_story_members(since)
        else:
            rows = self.repo.alerts.iter_story_members(since, tag)
        return self._install(self._index_window(rows, now, tag), tag)

    def _index_window(
        self, rows: Iterable[StoryMember], now: datetime, tag: str | None
    ) -> _Indexed:
        """A new index of the window's members (their stored signatures read back when
        ``tag`` is set, else computed). Touches nothing of ``self`` but the lexicons: safe
        in the loader thread."""
        built = _Indexed(StoryGroups(self.model, window=self.window))
        for row in rows:
            built.count += 1
            sig = None
            if tag is not None:
                if built.oldest is None or row.alert_id < built.oldest:
                    built.oldest = row.alert_id
                sig = self._stored(row, built.corrupt)
            if sig is None:
                sig = self.signature(row.title, row.summary, row.entities)
                if tag is not None:
                    built.missing.extend(self._encoded(row, sig, tag))
            else:
                built.stored += 1
            _index_member(built.index, row, sig, now, self.link_dates)
        return built

    def _install(self, built: _Indexed, tag: str | None) -> int:
        """Put an index in force; store the signatures it computed (event loop's thread)."""
        self.index = built.index
        self._loaded = True
        if tag is None:
            return built.count
        corrupt = built.corrupt
        if corrupt:
            log.warning(
                "story index: %d stored signature(s) unreadable (alerts %s%s): computed again",
                len(corrupt),
                ", ".join(map(str, corrupt[:5])),
                "..." if len(corrupt) > 5 else "",
            )
        self.loaded_stored = built.stored
        try:  # an optimisation only: a failure here never fails the cycle
            self.repo.alerts.save_story_signatures(tag, built.missing)
            if built.oldest is not None:
                self.repo.alerts.prune_story_signatures(built.oldest)
        except sqlite3.Error as exc:
            log.warning("story signatures not stored: %s", exc)
        log.debug("story index: %d members, %d signatures read back", built.count, built.stored)
        return built.count

    @staticmethod
    def _stored(row: StoryMember, corrupt: list[int]) -> Signature | None:
        """The row's stored signature, None when it has none of this tag or an unusable one
        (counted in ``corrupt``)."""
        if row.signature is None:
            return None
        try:
            return decode_signature(
                row.signature, inputs_digest(row.title, row.summary, row.entities)
            )
        except SignatureCodecError as exc:
            log.debug("alert %d: stored signature not used: %s", row.alert_id, exc)
            corrupt.append(row.alert_id)
            return None

    @staticmethod
    def _encoded(row: StoryMember, sig: Signature, tag: str) -> list[tuple[int, bytes]]:
        try:
            digest = inputs_digest(row.title, row.summary, row.entities)
            return [(row.alert_id, encode_signature(sig, digest))]
        except SignatureCodecError as exc:
            log.debug("alert %d: signature not stored: %s", row.alert_id, exc)
            return []

    def reload(self, now: datetime) -> None:
        """Rebuild the index from what SQLite holds (after stored stories were rolled back):
        the next filing loads it again (the pipeline: off the event loop)."""
        self.index = StoryGroups(self.model, window=self.window)
        self._loaded = False
        self._loading = None

    def place(
        self,
        title: str,
        summary: str,
        entities: Iterable[str],
        published: datetime | None,
        arrived: datetime,
        published_after: datetime | None = None,
        ready: bytes | None = None,
        link: str | None = None,
    ) -> Placement:
        """The story of a report that arrived at ``arrived``: the best of the open stories
        (StoryGroups.match), or a new one. Nothing is indexed: ``add`` it once filed.
        ``published_after``: an undated report's bound (bot.core.arrival_bound); ``link``:
        its link, which may state its date (bot.core.link_dates; ``report_date``).
        ``ready``: its signature's stored form, made elsewhere (a signature helper); used
        when it decodes and is of these inputs, else the signature is computed here."""
        if not self._loaded:
            self.load(arrived)
        entities = tuple(entities)
        tag = self.tag
        sig, stored = self._ready(ready, tag, title, summary, entities)
        if sig is None:
            sig = self.signature(title, summary, entities)
        event, dated = report_date(published, published_after, link, arrived, self.link_dates)
        hit = self.index.match(sig, arrived, event_at=event, dated=dated)
        if tag is not None and stored is None:
            try:
                stored = (tag, encode_signature(sig, inputs_digest(title, summary, entities)))
            except SignatureCodecError as exc:  # stored without: the next re-index computes it
                log.debug("signature not stored: %s", exc)
        story_id = hit.story_id if hit is not None else None
        return Placement(story_id, sig, arrived, event, stored, dated)

    @staticmethod
    def _ready(
        data: bytes | None, tag: str | None, title: str, summary: str, entities: tuple[str, ...]
    ) -> tuple[Signature | None, tuple[str, bytes] | None]:
        """A signature made elsewhere, with its stored form; (None, None) when there is none,
        it does not decode, or it is of other inputs."""
        if data is None or tag is None:
            return None, None
        try:
            sig = decode_signature(data, inputs_digest(title, summary, entities))
        except SignatureCodecError as exc:
            log.debug("helper's signature not used: %s", exc)
            return None, None
        return sig, (tag, data)

    def add(self, story_id: int, placed: Placement) -> None:
        """Index a placed report under the story it was filed in."""
        self.index.add(story_id, placed.signature, placed.arrived, placed.event, placed.dated)

    def group_pending(
        self, now: datetime, limit: int | None = None
    ) -> tuple[list[StoredAlert], int]:
        """File the alerts stored without their story (this cycle's, or a dead process's), in
        event order: the first ``limit`` of them (all when None) in one transaction. Returns
        those filed (``new_story`` for those that start one) and how many are left: call
        again until none is (the caller lets other work run in between). A report that
        cannot be placed (a bug on hostile text) starts its own story: never lost. On a
        storage error nothing of the call is filed and the index is rebuilt from SQLite (the
        rows stay pending for the next try); the error propagates."""
        try:
            ordered = self._pending_in_order()
        except BaseException:  # any stop (even a cancel): helper stopped, re-raised
            self._forget_pending()
            raise
        if not ordered:
            self._bodies = {}
            self._forget_pending()
            return [], 0
        if not self._loaded:
            self.load(now)
        self.index.prune(now)
        left = max(0, len(ordered) - limit) if limit is not None else 0
        batch = ordered[: len(ordered) - left]
        if self._helper is None and self._parallel and len(ordered) >= HELPER_MIN:
            self._start_helper(ordered[len(batch) if limit is not None else HELPER_LEAD :])
        filed: list[StoredAlert] = []
        try:
            with transaction(self.repo.db):
                for alert in batch:
                    filed.extend(self._file(alert, now, self._bodies))
        except BaseException:  # whatever stopped the filing (even a cancel): the index is redone
            self._bodies = {}
            self._forget_pending()
            self.reload(now)
            raise
        if left:
            self._queue = ordered[len(batch) :]
            for alert in batch:
                self._queue_keys.pop(alert.alert_id, None)
        else:
            self._bodies = {}
            self._forget_pending()
        return filed, left

    def _pending_in_order(self) -> list[PendingAlert]:
        """The pending alerts in event order: the last read's order, less the alerts filed
        since, while the pending rows are exactly those (by id and arrival); else read again."""
        keys = self.repo.alerts.pending_story_keys()
        if self._queue and keys == self._queue_keys:
            return self._queue
        self._stop_helper()  # other rows than it was started for
        ordered = event_order(self.repo.alerts.pending_story_alerts(), self.link_dates)
        self._queue, self._queue_keys = ordered, keys
        return ordered

    def _forget_pending(self) -> None:
        self._queue, self._queue_keys = [], {}
        self._stop_helper()

    def _start_helper(self, alerts: list[PendingAlert]) -> None:
        """A helper computing the signatures of ``alerts`` (those after this chunk), with the
        lexicons loaded here first, so that the forked helper shares them."""
        if not alerts:
            return
        try:
            self._helper = SignatureHelper(alerts, self._resolve())
        except Exception as exc:  # an optimisation only: without it, signatures are made here
            log.warning("no signature helper: %s", exc)
            self._helper = None

    def _stop_helper(self) -> None:
        helper, self._helper = self._helper, None
        if helper is not None:
            log.debug("signature helper: %d signatures taken", helper.taken)
            try:
                helper.close()
            except Exception as exc:  # never fails the filing
                log.warning("signature helper did not stop cleanly: %s", exc)

    def _file(
        self, alert: PendingAlert, now: datetime, bodies: dict[tuple[int, str], str | None]
    ) -> list[StoredAlert]:
        ready = self._helper.take(alert.alert_id) if self._helper is not None else None
        try:
            placed: Placement | None = self.place(
                alert.title,
                alert.summary,
                alert.entities,
                alert.published_at,
                alert.created_at,
                alert.published_after,
                ready,
                alert.link,
            )
        except Exception:  # boundary: one report's trouble never holds back the others
            log.exception("alert %d: story not found; it starts its own", alert.alert_id)
            placed = None
        story_id = placed.story_id if placed is not None else None
        # A story that has an alert from this outlet keeps no second one (a feed rotating its
        # GUIDs), unless both came in one feed body now (an aggregator naming one outlet twice).
        same_body = story_id is not None and bodies.get((story_id, alert.source), "") == (
            alert.feed_url
        )
        done = self.repo.alerts.file_pending(
            alert,
            story_id,
            now,
            signature=placed.stored if placed is not None else None,
            drop_if_outlet_reported=not same_body,
        )
        if done is None:
            return []
        bodies.setdefault((done.story_id, alert.source), alert.feed_url)
        if placed is not None:
            self.add(done.story_id, placed)
        return [done]
