"""guess_language: script first, then function words; "" when the words do not tell."""

from __future__ import annotations

import pytest

from bot.core.language import guess_language


@pytest.mark.parametrize(
    ("title", "summary", "lang"),
    [
        ("Mali: JNIM claims the attack on the army camp", "", "en"),
        ("Mali : le JNIM revendique l'attaque du camp de Boulkessi", "", "fr"),
        ("مالي: الجيش يعلن مقتل 46 من المسلحين", "", "ar"),
        ("Wagner schickte vor dem Referendum Hunderte Soldaten", "", "de"),
        ("Mali, attacchi terroristici: morti 49 civili nella regione", "", "it"),
        # the title decides over a summary in another language
        ("Le Mali quitte la CEDEAO avec le Burkina et le Niger", "Mali quits the bloc.", "fr"),
        ("JNIM", "", ""),
        ("", "", ""),
    ],
)
def test_guess_language(title: str, summary: str, lang: str) -> None:
    assert guess_language(title, summary) == lang
