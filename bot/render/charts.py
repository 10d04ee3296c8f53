"""Draw the /trend chart (mentions of one entity per hour, day or week) as PNG, matplotlib Agg."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.reports import TrendUnit

# Bar width in days (matplotlib's date unit), a little narrower than the bin.
_WIDTH = {"hour": 0.8 / 24, "day": 0.8, "week": 0.8 * 7}
_FORMAT = {"hour": "%m-%d %Hh", "day": "%Y-%m-%d", "week": "%Y-%m-%d"}


def trend_png(
    entity: str,
    bins: Sequence[tuple[date | datetime, int]],
    title: str | None = None,
    *,
    xlabel: str = "day (UTC)",
    unit: TrendUnit = "day",
) -> bytes:
    """A bar chart of mentions per bin (``unit``: hour, day or week), the x axis labelled.

    Uses the Agg backend (no display), chosen here.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(8, 4), dpi=100)
    axes = figure.subplots()
    xs = [
        d.replace(tzinfo=None) if isinstance(d, datetime) else datetime.combine(d, time())
        for d, _ in bins
    ]
    ys = [n for _, n in bins]
    # Bars start at their bin's start (align="edge"), so a bar covers the time it counts.
    axes.bar(xs, ys, color="#b03a2e", width=_WIDTH.get(unit, 0.8), align="edge")  # type: ignore[arg-type]
    axes.set_title(title or f"{entity}: alerts per {unit} (UTC)")
    axes.set_xlabel(xlabel)
    # matplotlib.dates.DateFormatter.__init__ has no annotations
    formatter = DateFormatter(_FORMAT.get(unit, "%Y-%m-%d"))  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(formatter)
    axes.set_ylabel("alerts")
    axes.set_ylim(bottom=0, top=max([*ys, 1]) * 1.15)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="y", alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
