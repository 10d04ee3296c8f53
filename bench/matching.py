"""Benchmark: texts/second of the Aho-Corasick Matcher vs a naive regex alternation.

Run from the repository root:  python -m bench.matching  [--sizes 10,100,1000,10000]
Each text is one headline-sized string (about 100 characters: English, French with accents,
some Arabic), matched as an item title. Both methods include normalisation (``normalize``).
Figures are medians over ``--repeats`` runs on one core.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from bot.core.matching import Matcher
from bot.core.normalize import normalize
from bot.core.watchlist import Entity

SYLLABLES = [
    "ka",
    "ro",
    "ti",
    "la",
    "mu",
    "se",
    "no",
    "be",
    "da",
    "fi",
    "go",
    "hu",
    "ri",
    "sa",
    "to",
    "ve",
    "zu",
    "ma",
    "ne",
    "pi",
]
ENGLISH = [
    "the",
    "army",
    "says",
    "attack",
    "near",
    "border",
    "leaves",
    "dead",
    "as",
    "officials",
    "meet",
    "in",
    "capital",
    "over",
    "new",
    "security",
    "deal",
    "while",
    "rebels",
    "claim",
    "control",
    "of",
    "town",
    "after",
    "clashes",
    "with",
    "troops",
    "and",
    "drones",
    "strike",
    "convoy",
    "on",
    "road",
    "to",
    "north",
    "election",
    "delayed",
    "again",
    "amid",
    "protests",
    "over",
    "fuel",
    "prices",
]
FRENCH = [
    "l'armée",
    "annonce",
    "une",
    "attaque",
    "près",
    "de",
    "la",
    "frontière",
    "après",
    "des",
    "affrontements",
    "avec",
    "les",
    "rebelles",
    "élus",
    "réunis",
    "à",
    "la",
    "capitale",
    "pour",
    "un",
    "accord",
    "de",
    "sécurité",
    "prévu",
    "été",
    "déçus",
    "manifestés",
    "carburant",
    "prix",
    "élevés",
    "région",
    "désertée",
]
ARABIC = [
    "الجيش",
    "يعلن",
    "هجوم",
    "قرب",
    "الحدود",
    "بعد",
    "اشتباكات",
    "مع",
    "المسلحين",
    "في",
    "العاصمة",
    "اتفاق",
    "أمني",
    "جديد",
]


def make_entities(n: int, rng: random.Random) -> list[Entity]:
    """``n`` entities with 3 distinct synthetic aliases each (one or two words)."""
    seen: set[str] = set()
    entities = []
    for i in range(n):
        aliases: list[str] = []
        while len(aliases) < 3:
            words = [
                "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
                for _ in range(rng.randint(1, 2))
            ]
            alias = " ".join(w.capitalize() for w in words)
            if alias not in seen:
                seen.add(alias)
                aliases.append(alias)
        entities.append(Entity.of(f"entity-{i}", aliases))
    return entities


def make_texts(count: int, entities: Sequence[Entity], rng: random.Random) -> list[str]:
    """Headline-like texts; about 5% of them mention one watched alias."""
    texts = []
    for _ in range(count):
        roll = rng.random()
        vocab = ENGLISH if roll < 0.7 else FRENCH if roll < 0.9 else ARABIC
        words = [rng.choice(vocab) for _ in range(rng.randint(12, 18))]
        if entities and rng.random() < 0.05:
            alias = rng.choice(rng.choice(entities).aliases).text
            words.insert(rng.randrange(len(words)), alias)
        text = " ".join(words)
        texts.append(text[0].upper() + text[1:])
    return texts


def naive_regex(entities: Sequence[Entity]) -> Callable[[str], list[str]]:
    """One big ``\\b(?:a|b|...)\\b`` alternation over the normalised text."""
    alternation = "|".join(re.escape(normalize(a.text)) for e in entities for a in e.aliases)
    pattern = re.compile(rf"\b(?:{alternation})\b")

    def find(text: str) -> list[str]:
        return pattern.findall(normalize(text))

    return find


def rate(fn: Callable[[str], object], texts: Sequence[str], budget: float) -> float:
    """Texts per second of ``fn``, timing as many texts as fit in about ``budget`` seconds."""
    probe = texts[: min(20, len(texts))]
    start = time.perf_counter()
    for t in probe:
        fn(t)
    per_text = max((time.perf_counter() - start) / len(probe), 1e-9)
    count = int(min(len(texts), max(len(probe), budget / per_text)))
    chosen = texts[:count]
    start = time.perf_counter()
    for t in chosen:
        fn(t)
    return count / (time.perf_counter() - start)


def run(
    sizes: Sequence[int], repeats: int, n_texts: int, budget: float, seed: int, out: TextIO
) -> list[tuple[int, float, float]]:
    rows = []
    print(
        f"{'entities':>9} {'aliases':>8} {'compile s':>10} {'matcher texts/s':>16} "
        f"{'regex texts/s':>14} {'ratio':>8}",
        file=out,
    )
    for size in sizes:
        rng = random.Random(seed + size)
        entities = make_entities(size, rng)
        texts = make_texts(n_texts, entities, rng)
        start = time.perf_counter()
        matcher = Matcher.compile(entities)
        compile_s = time.perf_counter() - start
        regex = naive_regex(entities)

        def match(text: str, m: Matcher = matcher) -> object:
            return m.match(text, "")

        ac = statistics.median(rate(match, texts, budget) for _ in range(repeats))
        rx = statistics.median(rate(regex, texts, budget) for _ in range(repeats))
        rows.append((size, ac, rx))
        print(
            f"{size:>9,} {size * 3:>8,} {compile_s:>10.3f} {ac:>16,.0f} {rx:>14,.0f} "
            f"{ac / rx:>7.1f}x",
            file=out,
            flush=True,
        )
    return rows


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10,100,1000,10000", help="entity counts, comma-sep")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--texts", type=int, default=20000, help="distinct texts per size")
    parser.add_argument("--budget", type=float, default=0.5, help="seconds per measurement")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    run(sizes, args.repeats, args.texts, args.budget, args.seed, out or sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
