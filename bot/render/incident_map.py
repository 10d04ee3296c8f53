"""Draw the /map PNG: incidents as points (colour by event type, size by toll) over country
outlines, with matplotlib's Agg backend, offline (no tiles, no network).

Arabic labels are shaped and laid out right to left by matplotlib itself (it lays text out
with libraqm since 3.11) in DejaVu Sans, which has the Arabic contextual forms.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.boundaries import CountryOutline
from bot.core.incidents import EVENT_ICONS, EventType
from bot.core.records import IncidentRecord

TYPE_COLOURS = {
    EventType.BATTLES: "#c0392b",
    EventType.EXPLOSIONS: "#e67e22",
    EventType.VIOLENCE_AGAINST_CIVILIANS: "#8e44ad",
    EventType.PROTESTS: "#2980b9",
    EventType.RIOTS: "#d4ac0d",
    EventType.STRATEGIC: "#27ae60",
}
UNKNOWN_COLOUR = "#555555"  # a stored type this version does not know
# Mali and its neighbours (lon_min, lon_max, lat_min, lat_max); grown to fit every point.
DEFAULT_EXTENT = (-13.0, 16.0, 8.0, 26.0)
FIGSIZE = (8.0, 6.0)
DPI = 100
LABEL_LIMIT = 12


@dataclass(frozen=True, slots=True)
class MapPoint:
    """One incident on the map."""

    lat: float
    lon: float
    event_type: EventType | None  # None: a stored type this version does not know (grey)
    fatalities: int | None
    label: str  # the place name shown (Latin or Arabic)
    title: str = ""


@dataclass(frozen=True, slots=True)
class RenderedMap:
    """The PNG and, for tests and captions, where each point was drawn (pixels from top left)."""

    png: bytes
    width: int
    height: int
    pixels: tuple[tuple[float, float], ...]


def points_from_rows(rows: Iterable[IncidentRecord], *, arabic: bool = False) -> list[MapPoint]:
    """One point per story: its report with the highest toll (else the first), at the most
    specific place with coordinates (a story with none is left out). ``rows`` are the
    incident fields of stored alerts."""
    best: dict[Any, IncidentRecord] = {}
    for row in rows:
        incident = row.incident
        if not incident.is_incident or not incident.places:
            continue
        key = row.story_id or ("alert", row.id)
        held = best.get(key)
        if held is None or (incident.fatalities or -1) > (held.incident.fatalities or -1):
            best[key] = row
    points = []
    for row in best.values():
        place = next((p for p in row.incident.places if p.point is not None), None)
        if place is None or place.lat is None or place.lon is None:
            continue
        points.append(
            MapPoint(
                lat=place.lat,
                lon=place.lon,
                event_type=row.incident.event_type,
                fatalities=row.incident.fatalities,
                label=place.arabic if arabic and place.arabic else place.name,
                title=row.title or "",
            )
        )
    return points


def marker_size(fatalities: int | None) -> float:
    """Marker area in points²: 40 with no toll, growing with the square root of the toll."""
    return 40.0 + 30.0 * math.sqrt(max(0, fatalities or 0))


def extent_for(points: Sequence[MapPoint]) -> tuple[float, float, float, float]:
    lon0, lon1, lat0, lat1 = DEFAULT_EXTENT
    for p in points:
        lon0, lon1 = min(lon0, p.lon - 1), max(lon1, p.lon + 1)
        lat0, lat1 = min(lat0, p.lat - 1), max(lat1, p.lat + 1)
    return lon0, lon1, lat0, lat1


def render_map(
    points: Sequence[MapPoint],
    outlines: Mapping[str, CountryOutline],
    title: str,
    *,
    when: datetime | None = None,
) -> RenderedMap:
    """Draw the map. Pure apart from matplotlib (Agg); safe to run in a worker thread."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    figure = Figure(figsize=FIGSIZE, dpi=DPI)
    axes = figure.subplots()
    lon0, lon1, lat0, lat1 = extent_for(points)
    for outline in outlines.values():
        highlight = outline.iso2 in ("ML", "BF", "NE")
        for rings in outline.polygons:
            ring = rings[0]
            xs = [x for x, _ in ring] + [ring[0][0]]
            ys = [y for _, y in ring] + [ring[0][1]]
            axes.fill(xs, ys, color="#f4f1ea" if highlight else "#fbfaf7", zorder=1)
            axes.plot(xs, ys, color="#7f7f7f", linewidth=0.8 if highlight else 0.5, zorder=2)
    for iso2, outline in outlines.items():
        if iso2 not in ("ML", "BF", "NE"):
            continue
        ring = max((r[0] for r in outline.polygons), key=len)
        cx = sum(x for x, _ in ring) / len(ring)
        cy = sum(y for _, y in ring) / len(ring)
        if lon0 < cx < lon1 and lat0 < cy < lat1:
            axes.text(cx, cy, outline.name, color="#b0a999", fontsize=11, ha="center", zorder=2)
    ordered = sorted(points, key=lambda p: -(p.fatalities or 0))  # big ones under small ones
    for p in ordered:
        axes.scatter(
            [p.lon],
            [p.lat],
            s=marker_size(p.fatalities),
            c=TYPE_COLOURS[p.event_type] if p.event_type else UNKNOWN_COLOUR,
            alpha=0.85,
            edgecolors="white",
            linewidths=0.6,
            zorder=3,
        )
    labelled: set[str] = set()
    for p in ordered[:LABEL_LIMIT]:
        if p.label and p.label not in labelled:
            labelled.add(p.label)
            axes.annotate(
                p.label,
                (p.lon, p.lat),
                xytext=(5, 4),
                textcoords="offset points",
                fontsize=8,
                zorder=4,
            )
    axes.set_xlim(lon0, lon1)
    axes.set_ylim(lat0, lat1)
    axes.set_aspect("equal")
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(title, fontsize=11)
    present = [t for t in TYPE_COLOURS if any(p.event_type == t for p in points)]
    if present:
        handles = [
            Line2D([], [], marker="o", linestyle="", color=TYPE_COLOURS[t],
                   label=EVENT_ICONS[t][1])
            for t in present
        ]  # fmt: skip
        axes.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9)
    note = "Boundaries: Natural Earth 1:50m (public domain). Size: fatalities."
    if when is not None:
        note += f" Drawn {when:%Y-%m-%d %H:%M} UTC."
    figure.text(0.01, 0.01, note, fontsize=6, color="#777777")
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    # after savefig: the transforms are those of the drawn image (aspect applied)
    width, height = figure.canvas.get_width_height()
    pixels = []
    for p in points:
        x, y = axes.transData.transform((p.lon, p.lat))
        pixels.append((float(x), float(height - y)))
    return RenderedMap(out.getvalue(), width, height, tuple(pixels))


def map_for(
    rows: Iterable[IncidentRecord],
    outlines: Mapping[str, CountryOutline],
    *,
    period_label: str,
    entity: str | None = None,
    arabic: bool = False,
    now: datetime | None = None,
) -> tuple[RenderedMap, str]:
    """The map of stored incident rows and its caption (shared by /map and `newswatch map`)."""
    points = points_from_rows(rows, arabic=arabic)
    who = f"{entity}: " if entity else ""
    title = f"{who}incidents, last {period_label}"
    rendered = render_map(points, outlines, title, when=now)
    counts: dict[EventType, int] = {}
    for p in points:
        if p.event_type is not None:
            counts[p.event_type] = counts.get(p.event_type, 0) + 1
    killed = sum(p.fatalities or 0 for p in points)
    parts = [f"{EVENT_ICONS[t][1]}: {n}" for t, n in sorted(counts.items())]
    caption = f"{who}{len(points)} incident(s) with a known place in the last {period_label}"
    if parts:
        caption += " (" + ", ".join(parts) + f"; {killed} killed reported)"
    return rendered, caption
