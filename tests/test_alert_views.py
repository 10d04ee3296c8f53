"""Which matched aliases an alert shows: no alias repeated inside a longer one of its entity."""

from __future__ import annotations

import pytest

from bot.core.alert_views import shown_aliases
from bot.core.matching import Hit


def _m(entity: str, *aliases: str) -> list[Hit]:
    return [Hit(entity, a, "title") for a in aliases]


@pytest.mark.parametrize(
    ("matches", "shown"),
    [
        (_m("Assimi Goïta", "Assimi Goïta", "Goïta"), ("Assimi Goïta",)),
        (_m("Assimi Goïta", "Goita", "Assimi GOÏTA"), ("Assimi GOÏTA",)),  # accents, case
        (_m("Mali", "Mali", "Malian"), ("Mali", "Malian")),  # not a whole word inside
        (_m("JNIM", "JNIM", "JNIM"), ("JNIM",)),
        (_m("Lavrov", "Lavrov") + _m("Russia", "Sergueï Lavrov"), ("Lavrov", "Sergueï Lavrov")),
        ([], ()),
    ],
)
def test_shown_aliases(matches: list[Hit], shown: tuple[str, ...]) -> None:
    assert shown_aliases(matches) == shown
