"""Country outlines (lon/lat rings) parsed from the shipped boundary data, and point-in-country."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Ring = tuple[tuple[float, float], ...]  # (lon, lat) points, first == last or implicitly closed


@dataclass(frozen=True, slots=True)
class CountryOutline:
    """One country's outline: polygons, each an outer ring followed by its holes."""

    iso2: str
    name: str
    polygons: tuple[tuple[Ring, ...], ...]

    def contains(self, lat: float, lon: float) -> bool:
        """True when (lat, lon) lies inside an outer ring and outside that polygon's holes."""
        for rings in self.polygons:
            inside = bool(rings) and _in_ring(lon, lat, rings[0])
            if inside and not any(_in_ring(lon, lat, hole) for hole in rings[1:]):
                return True
        return False

    def distance_deg(self, lat: float, lon: float) -> float:
        """Distance in degrees from (lat, lon) to the nearest edge of the outline (planar)."""
        best = float("inf")
        for rings in self.polygons:
            for ring in rings:
                for (x1, y1), (x2, y2) in zip(ring, (*ring[1:], ring[0]), strict=True):
                    best = min(best, _segment_distance(lon, lat, x1, y1, x2, y2))
        return best


def _in_ring(x: float, y: float, ring: Ring) -> bool:
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def _segment_distance(px: float, py: float, x1: float, y1: float, x2: float, y2: float) -> float:
    dx, dy = x2 - x1, y2 - y1
    if dx == 0 and dy == 0:
        return float(((px - x1) ** 2 + (py - y1) ** 2) ** 0.5)
    t = max(0.0, min(1.0, ((px - x1) * dx + (py - y1) * dy) / (dx * dx + dy * dy)))
    cx, cy = x1 + t * dx, y1 + t * dy
    return float(((px - cx) ** 2 + (py - cy) ** 2) ** 0.5)


def parse_boundaries(mapping: Mapping[str, Any]) -> dict[str, CountryOutline]:
    """Parse ``{"countries": {"ML": {"name": …, "polygons": [[[[lon, lat], …], …], …]}}}``."""
    countries = mapping.get("countries") if isinstance(mapping, Mapping) else None
    if not isinstance(countries, Mapping):
        raise ValueError("boundaries: a 'countries' object is required")
    out: dict[str, CountryOutline] = {}
    for iso2, data in countries.items():
        try:
            polygons = tuple(
                tuple(tuple((float(x), float(y)) for x, y in ring) for ring in polygon)
                for polygon in data["polygons"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"boundaries: country {iso2!r} has a bad polygon ({exc})") from exc
        out[str(iso2)] = CountryOutline(str(iso2), str(data.get("name", iso2)), polygons)
    return out
