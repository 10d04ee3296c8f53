"""Draw the /trend chart (daily mentions of one entity) as PNG bytes, matplotlib Agg backend."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime, time


def trend_png(entity: str, days: Sequence[tuple[date, int]], title: str | None = None) -> bytes:
    """A bar chart of mentions per day. Uses the Agg backend (no display), chosen here."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(8, 4), dpi=100)
    axes = figure.subplots()
    xs = [datetime.combine(d, time()) for d, _ in days]
    ys = [n for _, n in days]
    axes.bar(xs, ys, color="#b03a2e", width=0.8)  # type: ignore[arg-type]
    axes.set_title(title or f"{entity}: alerts per day (UTC)")
    axes.set_ylabel("alerts")
    axes.set_ylim(bottom=0, top=max([*ys, 1]) * 1.15)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="y", alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
