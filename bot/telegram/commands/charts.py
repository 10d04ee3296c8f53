"""Commands that draw: /trend (a chart of an entity's mentions) and /map (incidents on a map),
both off the event loop with a time limit.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from functools import partial

from telegram import (
    Update,
)
from telegram.ext import (
    ContextTypes,
)

from bot.core.errors import UserError
from bot.core.periods import (
    describe_duration,
    is_duration,
    parse_duration,
)
from bot.core.reports import (
    bin_counts,
    trend_bins,
)
from bot.render.heavy_work import heavy_work
from bot.telegram.commands.env import (
    CommandEnv,
    message_of,
    split_period,
)

log = logging.getLogger("newswatch.commands")

MAP_TIME_LIMIT = 60.0  # seconds for drawing /map in a worker thread


async def trend(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    from bot.render.charts import trend_png

    message = message_of(update)
    name_text, period = split_period(args, timedelta(days=30))
    if not name_text:
        raise UserError("Which entity? For example: /trend JNIM 30d")
    assert period is not None
    name = env.resolve_entity(name_text)
    now = env.clock()
    bins = trend_bins(period, now)
    times = env.queries.entity_times(name, bins.since, now + timedelta(seconds=1))
    series = bin_counts(bins, times)
    total = sum(n for _, n in series)
    label = describe_duration(period)
    try:  # in the worker process: ten years of bars must not hold alerts back
        png = await heavy_work().run(
            partial(trend_png, xlabel=bins.axis_label, unit=bins.unit),
            name,
            series,
            f"{name}: alerts per {bins.unit}, last {label} (UTC)",
        )
    except TimeoutError:
        raise UserError("The chart took too long to draw; try a shorter period.") from None
    await message.reply_photo(
        photo=png,
        caption=f"{name}: {total} alert(s) in the last {label}, per {bins.unit}",
        filename=f"trend-{label.replace(' ', '')}.png",
    )


async def map_command(
    env: CommandEnv, update: Update, context: ContextTypes.DEFAULT_TYPE, args: str
) -> None:
    """/map [period] [entity] [ar]: a PNG of incidents, drawn off the event loop."""
    from bot.data.gazetteer_file import load_default_boundaries
    from bot.render.incident_map import map_for

    message = message_of(update)
    words = args.split()
    arabic = bool(words) and words[-1].lower() in ("ar", "arabic", "عربي")
    if arabic:
        words = words[:-1]
    period = timedelta(days=30)
    if words and is_duration(words[0]):
        period = parse_duration(words.pop(0))
    elif words and is_duration(words[-1]):
        period = parse_duration(words.pop())
    entity = env.resolve_entity(" ".join(words)) if words else None
    now = env.clock()
    rows = env.queries.incident_rows(now - period, now + timedelta(seconds=1), entity)
    label = describe_duration(period)
    try:
        rendered, caption = await asyncio.wait_for(
            asyncio.to_thread(
                map_for,
                rows,
                load_default_boundaries(),
                period_label=label,
                entity=entity,
                arabic=arabic,
                now=now,
            ),
            timeout=MAP_TIME_LIMIT,
        )
    except TimeoutError:
        raise UserError("The map took too long to draw; try a shorter period.") from None
    await message.reply_photo(
        photo=rendered.png,
        caption=caption[:1000],
        filename=f"map-{label.replace(' ', '')}.png",
    )
