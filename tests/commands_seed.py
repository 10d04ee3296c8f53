"""Realistic stored alerts for the command and query tests, written through the repository."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.core.language import guess_language
from bot.core.matching import Hit, Matcher
from bot.core.watchlist import Priority
from storage.db import open_database
from storage.repository import AlertDraft, NewItem, Repository
from tests.harness import default_matcher

FEED = "https://feeds.example.org/sahel.xml"


@dataclass(frozen=True)
class Seed:
    hours_ago: float
    source: str
    title: str
    summary: str
    same_story_as: int | None = None  # index of an earlier seed


SEEDS: list[Seed] = [
    Seed(
        2,
        "RFI Afrique",
        "Mali: JNIM fighters attack army positions near Bamako",
        "Militants linked to al-Qaeda struck a checkpoint and a military base on the outskirts.",
    ),
    Seed(
        1.5,
        "France 24",
        "JNIM fighters attack army positions near Bamako, Mali",
        "The jihadist group claimed the attack on a checkpoint near the capital.",
        same_story_as=0,
    ),
    Seed(
        5,
        "Le Monde Afrique",
        "Assimi Goïta reçoit Sergueï Lavrov à Bamako",
        "Le chef de la junte malienne a reçu le ministre russe des affaires étrangères.",
    ),
    Seed(
        9,
        "Al Jazeera",
        "Jama'at Nusrat al-Islam wal-Muslimin claims ambush near Kidal",
        "The al-Qaeda affiliate said its fighters killed soldiers in northern Mali.",
    ),
    Seed(
        20,
        "BBC News Africa",
        "Africa Corps convoy hit by roadside bomb near Gao",
        "Russian paramilitaries and Malian soldiers were travelling between Gao and Ménaka.",
    ),
    Seed(
        30,
        "Jeune Afrique",
        "Le Front de libération de l'Azawad revendique le contrôle de Tinzaouatène",
        "Les rebelles touareg affirment avoir repoussé l'armée malienne.",
    ),
    Seed(
        50,
        "UN News",
        "Security Council reviews Mali a year after MINUSMA withdrawal",
        "Diplomats discussed the humanitarian situation in Mali.",
    ),
    Seed(
        100,
        "RFI Afrique",
        "Ségou: des hommes armés attaquent un marché, le JNIM soupçonné",
        "Plusieurs civils ont été tués dans la région de Ségou.",
    ),
    Seed(
        200,
        "Reuters Africa",
        "Mali junta extends transition, Goita to stay until 2030",
        "Colonel Assimi Goita will stay in power without elections.",
    ),
    Seed(
        230,
        "RFI Afrique",
        "Bamako: l'aéroport fermé après une attaque du JNIM",
        "Le groupe jihadiste a visé l'école de gendarmerie et l'aéroport.",
    ),
    Seed(
        400,
        "Al Jazeera",
        "JNIM blockade of Kayes and Nioro du Sahel enters second month",
        "Fuel shortages hit western Mali.",
    ),
    Seed(
        500,
        "BBC News Africa",
        "Timbuktu under JNIM siege as food prices soar",
        "The ancient city in Mali is cut off.",
    ),
]


def seed_alerts(db_path: Path, now: datetime, matcher: Matcher | None = None) -> Repository:
    """Store SEEDS as alerts (stories included) at times relative to ``now``."""
    repo = Repository(open_database(db_path))
    chosen = matcher or default_matcher()
    story_ids: list[int] = []
    for i, seed in enumerate(SEEDS):
        at = now - timedelta(hours=seed.hours_ago)
        result = chosen.match(seed.title, seed.summary)
        assert result, f"seed {i} must match the default watchlist: {seed.title}"
        story = story_ids[seed.same_story_as] if seed.same_story_as is not None else None
        key = hashlib.sha1(seed.title.encode()).hexdigest()
        link = f"https://news.example.org/{key[:10]}"
        draft = AlertDraft(
            source=seed.source,
            title=seed.title,
            link=link,
            summary=seed.summary,
            published=at - timedelta(minutes=10),
            entities=tuple(result.entities),
            matches=tuple(result.hits),
            priority=result.priority,
            chats=(),
            story_id=story,
            lang=guess_language(seed.title, seed.summary),
        )
        item = NewItem(key, link, FEED, seed.title, link, at, alert=draft)
        stored = repo.alerts.store_feed_items(FEED, [item], at, None, ())
        story_ids.append(stored[0].story_id)
    return repo


def seed_bulk(repo: Repository, now: datetime, count: int = 40) -> None:
    """``count`` more alerts over the last days: Kidal drone-strike reports from many outlets."""
    outlets = ["Studio Tamani", "Maliweb", "Journal du Mali", "DW Africa", "Crisis Group"]
    for n in range(count):
        at = now - timedelta(hours=3 + n * 5)
        title = (
            f"Kidal: drone strike reported on a vehicle north of the town, report {n + 1} of"
            " a long series of conflicting local accounts from residents and officials"
        )
        summary = "Residents of Kidal in northern Mali described explosions; details unclear."
        key = f"bulk-{n}"
        link = f"https://local.example.org/kidal/{n}"
        draft = AlertDraft(
            source=outlets[n % len(outlets)],
            title=title,
            link=link,
            summary=summary,
            published=at,
            entities=("Kidal", "Mali"),
            matches=(Hit("Kidal", "Kidal", "title"),),
            priority=Priority.NORMAL,
            chats=(),
        )
        item = NewItem(key, link, FEED, title, link, at, alert=draft)
        repo.alerts.store_feed_items(FEED, [item], at, None, ())
