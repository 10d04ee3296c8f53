"""The repository: one object that composes the storage aggregates over one database.

``repo.feeds`` (storage/feeds.py), ``repo.alerts`` (items, alerts, weak matches, stories:
storage/alerts.py), ``repo.outbox`` (deliveries, story edits, admin notices:
storage/outbox.py), ``repo.chats`` (chats and their settings: storage/chats.py) and
``repo.access`` (users, subscriptions, the access log: storage/access.py).
"""

from __future__ import annotations

from bot.core.models import StoredAlert
from storage.access import AccessStore
from storage.alerts import AlertDraft, AlertStore, NewItem, WeakDraft
from storage.chats import ChatStore
from storage.columns import iso, parse_iso
from storage.feeds import FeedStore
from storage.outbox import Outbox
from storage.sqlite_utils_loader import Database

__all__ = [
    "AlertDraft",
    "NewItem",
    "Repository",
    "StoredAlert",
    "WeakDraft",
    "iso",
    "parse_iso",
]


class Repository:
    """Typed access to the database, by aggregate. Every multi-row write is one transaction."""

    def __init__(self, db: Database):
        self.db = db
        self.feeds = FeedStore(db)
        self.alerts = AlertStore(db)
        self.outbox = Outbox(db)
        self.chats = ChatStore(db)
        self.access = AccessStore(db)
