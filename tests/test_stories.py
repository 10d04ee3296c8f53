"""Story fingerprints (bot.core.stories) and the token-Jaccard index built on them
(bench/jaccard_index.py, the baseline of bench/dedup.py): guard, window, labelled-set P/R."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.jaccard_index import DEFAULT_THRESHOLD, StoryIndex, jaccard, same_event
from bot.core.stories import Fingerprint, fingerprint, story_tokens

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DATA = Path(__file__).parent / "data" / "stories_labelled.json"


def _items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))["items"]
    return items


def cluster(items: list[dict[str, Any]], threshold: float = DEFAULT_THRESHOLD) -> list[int]:
    """Run items through a StoryIndex in time order, as the pipeline does; story id per item."""
    index = StoryIndex(threshold=threshold)
    assigned = [0] * len(items)
    next_id = 1
    for k in sorted(range(len(items)), key=lambda k: items[k]["hours"]):
        item = items[k]
        fp = fingerprint(item["title"], item["summary"])
        at = T0 + timedelta(hours=item["hours"])
        sid = index.find(fp, at)
        if sid is None:
            sid, next_id = next_id, next_id + 1
        index.add(sid, fp, at)
        assigned[k] = sid
    return assigned


def pairwise(items: list[dict[str, Any]], assigned: list[int]) -> tuple[float, float]:
    tp = fp = fn = 0
    for a, b in itertools.combinations(range(len(items)), 2):
        same = items[a]["story"] == items[b]["story"]
        pred = assigned[a] == assigned[b]
        tp += same and pred
        fp += pred and not same
        fn += same and not pred
    return tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0


def test_labelled_set_shape() -> None:
    items = _items()
    sizes: dict[str, int] = {}
    for item in items:
        sizes[item["story"]] = sizes.get(item["story"], 0) + 1
    assert sum(1 for n in sizes.values() if 2 <= n <= 6) >= 15
    assert {item["lang"] for item in items} == {"en", "fr"}


def test_labelled_set_pairwise_precision_and_recall() -> None:
    items = _items()
    precision, recall = pairwise(items, cluster(items))
    assert precision >= 0.95, precision
    assert recall >= 0.8, recall


def test_guard_is_what_keeps_similar_attacks_apart() -> None:
    # Without the guard (threshold alone) these pairs would merge: their tokens overlap a lot.
    a = fingerprint(
        "Jihadists kill 10 soldiers in attack on army post near Gao",
        "Militants attacked an army post near Gao in northern Mali, killing 10 soldiers.",
    )
    b = fingerprint(
        "Militants kill 10 soldiers in attack near Menaka",
        "Islamic State fighters attacked a military post near Menaka, killing 10 soldiers.",
    )
    assert jaccard(a.tokens, b.tokens) >= DEFAULT_THRESHOLD
    assert not same_event(a, b)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        # same town, same toll: same event
        (("Attack on Boulkessi kills 30 soldiers", ""), ("30 soldats tués à Boulkessi", ""), True),
        # same town, different tolls: two attacks
        (("Attack on Boulkessi kills 30 soldiers", ""), ("Attack on Boulkessi kills 6", ""), False),
        # same toll, different towns
        (("12 soldiers killed in Léré", ""), ("12 soldiers killed in Gao", ""), False),
        # spelling variants of one place are one place
        (("Drone strike in Tinzaouatène", ""), ("Drone strike in Tinzaouaten", ""), True),
        (("Attaque à Tombouctou", ""), ("Attack in Timbuktu", ""), True),
        # number words are numbers
        (("Eight civilians killed near Kidal", ""), ("8 civils tués près de Kidal", ""), True),
        (("Huit civils tués près de Kidal", ""), ("Five civilians killed near Kidal", ""), False),
        # one item gives no place or number: no conflict from the guard
        (("Jihadists attack army camp", ""), ("Jihadists attack army camp, 30 dead", ""), True),
        # a headline place against an item with no place at all
        (("ECOWAS leaders meet in Abuja", ""), ("Sahel juntas leave ECOWAS", ""), False),
        # headlines sharing only a country name
        (("Mali: Lavrov hosts ministers", ""), ("Mali quits ECOWAS", ""), False),
        # different countries
        (("Fuel shortage in Mali", ""), ("Fuel shortage in Niger", ""), False),
        # years are not death tolls
        (("Mali 2024: 12 soldiers killed", ""), ("12 soldiers killed in Mali", ""), True),
    ],
)
def test_same_event_guard(a: tuple[str, str], b: tuple[str, str], same: bool) -> None:
    assert same_event(fingerprint(*a), fingerprint(*b)) is same
    assert same_event(fingerprint(*b), fingerprint(*a)) is same


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mali's military ruler", {"mali", "military", "leader"}),
        ("Le chef de la junte malienne", {"leader", "junta", "mali"}),
        ("Attaque jihadiste à Léré", {"attack", "jihadist", "lere"}),
        ("Jihadist attack in Léré", {"attack", "jihadist", "lere"}),
        ("Cinq ans", {"#5", "year"}),
        ("five years", {"#5", "year"}),
    ],
)
def test_story_tokens_fold_languages_and_inflections(text: str, expected: set[str]) -> None:
    assert story_tokens(text, "") == expected


def test_fingerprint_separates_numbers_places_and_countries() -> None:
    fp = fingerprint(
        "Mali: au moins 12 soldats tués dans une attaque à Léré",
        "Le camp de Léré, région de Tombouctou, près de la frontière mauritanienne, en 2024.",
    )
    assert fp.numbers == {"12"}
    assert fp.places == {"lere", "timbuktu"}
    assert fp.countries == {"mali"}
    assert fp.headline <= fp.tokens
    assert "#2024" in fp.tokens and "2024" not in fp.numbers


def test_fingerprint_json_round_trip_and_version() -> None:
    fp = fingerprint("Drone strike kills 8 civilians near Kidal", "The FLA said ...")
    text = fp.to_json()
    assert Fingerprint.from_json(text) == fp
    assert text == Fingerprint.from_json(text).to_json()  # stable form
    with pytest.raises(ValueError):
        Fingerprint.from_json(text.replace('"v":1', '"v":999'))


@given(st.text(max_size=80), st.text(max_size=120))
def test_fingerprint_never_fails_and_round_trips(title: str, summary: str) -> None:
    fp = fingerprint(title, summary)
    assert Fingerprint.from_json(fp.to_json()) == fp
    assert fp.headline <= fp.tokens


def _fp(title: str, summary: str = "") -> Fingerprint:
    return fingerprint(title, summary)


BOULKESSI = _fp(
    "Jihadists kill 30 soldiers in attack on Boulkessi army base in Mali",
    "JNIM fighters attacked the army camp in Boulkessi, killing at least 30 soldiers.",
)
BOULKESSI_2 = _fp(
    "Mali: 30 soldiers killed in jihadist attack on Boulkessi camp",
    "Islamist militants overran the Boulkessi military camp, killing 30 soldiers.",
)


def test_index_finds_the_story_of_a_rewrite() -> None:
    index = StoryIndex()
    index.add(7, BOULKESSI, T0)
    assert index.find(BOULKESSI_2, T0 + timedelta(hours=3)) == 7
    m = index.match(BOULKESSI_2, T0 + timedelta(hours=3))
    assert m is not None and m.story_id == 7 and DEFAULT_THRESHOLD <= m.similarity <= 1.0


def test_index_window_is_counted_from_the_story_start() -> None:
    index = StoryIndex(window=timedelta(hours=72))
    index.add(7, BOULKESSI, T0)
    index.add(7, BOULKESSI, T0 + timedelta(hours=60))
    assert index.find(BOULKESSI_2, T0 + timedelta(hours=71)) == 7
    assert index.find(BOULKESSI_2, T0 + timedelta(hours=73)) is None
    # naive datetimes are UTC
    assert index.find(BOULKESSI_2, (T0 + timedelta(hours=1)).replace(tzinfo=None)) == 7


def test_index_prefers_the_most_similar_story() -> None:
    index = StoryIndex()
    index.add(1, _fp("Jihadists attack army base in Boulkessi", "Soldiers were killed."), T0)
    index.add(2, BOULKESSI, T0)
    assert index.find(BOULKESSI_2, T0) == 2


def test_index_applies_the_guard() -> None:
    index = StoryIndex()
    index.add(1, BOULKESSI, T0)
    second = _fp(
        "Jihadists attack Boulkessi army base again, killing 6 soldiers",
        "JNIM fighters attacked the Boulkessi army camp again, killing 6 soldiers.",
    )
    assert jaccard(BOULKESSI.tokens, second.tokens) >= DEFAULT_THRESHOLD
    assert index.find(second, T0 + timedelta(days=1)) is None


def test_index_empty_and_unrelated() -> None:
    index = StoryIndex()
    assert index.find(BOULKESSI, T0) is None
    index.add(1, BOULKESSI, T0)
    assert index.find(_fp("Mali seizes gold from Barrick mine", ""), T0) is None
    assert index.find(Fingerprint(frozenset()), T0) is None


def test_prune_forgets_old_stories_and_compacts() -> None:
    index = StoryIndex(window=timedelta(hours=72))
    for sid in range(10):
        index.add(sid, _fp(f"Story number {sid} about topic{sid}", ""), T0)
    index.add(99, BOULKESSI, T0 + timedelta(hours=50))
    assert len(index) == 11 and index.story_count == 11
    assert index.prune(T0 + timedelta(hours=100)) == 10
    assert len(index) == 1 and index.story_count == 1
    assert index.find(BOULKESSI_2, T0 + timedelta(hours=100)) == 99
    assert index.find(_fp("Story number 3 about topic3", ""), T0 + timedelta(hours=100)) is None


def test_rebuild_from_stored_rows_gives_the_same_answers() -> None:
    items = _items()
    live = StoryIndex()
    rows = []
    for k, item in enumerate(items[:20]):
        fp = fingerprint(item["title"], item["summary"])
        at = T0 + timedelta(hours=item["hours"])
        live.add(k, fp, at)
        rows.append((k, fp.to_json(), at))
    rebuilt = StoryIndex()
    rebuilt.rebuild((sid, Fingerprint.from_json(js), at) for sid, js, at in rows)
    for item in items[20:]:
        fp = fingerprint(item["title"], item["summary"])
        at = T0 + timedelta(hours=item["hours"])
        assert rebuilt.match(fp, at) == live.match(fp, at)


def test_prefix_blocking_finds_what_brute_force_finds() -> None:
    items = _items()
    fps = [fingerprint(i["title"], i["summary"]) for i in items]
    index = StoryIndex(threshold=0.2)
    for k, fp in enumerate(fps[:40]):
        index.add(k, fp, T0)
    for fp in fps[40:]:
        brute = [
            (jaccard(fp.tokens, other.tokens), k)
            for k, other in enumerate(fps[:40])
            if jaccard(fp.tokens, other.tokens) >= 0.2 and same_event(fp, other)
        ]
        m = index.match(fp, T0)
        if not brute:
            assert m is None
        else:
            assert m is not None and m.similarity == pytest.approx(max(brute)[0])


def test_threshold_must_be_valid() -> None:
    with pytest.raises(ValueError):
        StoryIndex(threshold=0.0)


_VOCAB = [f"t{k}" for k in range(12)]


@st.composite
def _fps(draw: st.DrawFn) -> Fingerprint:
    tokens = draw(st.frozensets(st.sampled_from(_VOCAB), min_size=1, max_size=8))
    headline = draw(st.frozensets(st.sampled_from(sorted(tokens))))
    places = draw(st.frozensets(st.sampled_from(["gao", "kidal"]), max_size=1))
    return Fingerprint(tokens | places, headline, places=places)


def _brute(fp: Fingerprint, members: list[tuple[int, Fingerprint]], t: float) -> float | None:
    sims = [
        jaccard(fp.tokens, m.tokens)
        for _sid, m in members
        if jaccard(fp.tokens, m.tokens) >= t and same_event(fp, m)
    ]
    return max(sims, default=None)


@given(
    st.lists(_fps(), max_size=40),
    st.lists(_fps(), min_size=1, max_size=10),
    st.sampled_from([0.2, 0.3, 0.5, 1.0]),
)
@pytest.mark.slow
def test_index_returns_the_brute_force_best_match(
    members: list[Fingerprint], queries: list[Fingerprint], threshold: float
) -> None:
    """Any index size, any re-index point: the best similarity equals brute force's."""
    index = StoryIndex(threshold=threshold, scan_budget=None)
    stored: list[tuple[int, Fingerprint]] = []
    for k, fp in enumerate(members):
        index.add(k % 7, fp, T0)
        stored.append((k % 7, fp))
        if k == len(members) // 2:
            index._reindex()  # re-ranks tokens mid-stream, as a large index does
    for fp in queries:
        want = _brute(fp, stored, threshold)
        got = index.match(fp, T0)
        if want is None:
            assert got is None
        else:
            assert got is not None and got.similarity == pytest.approx(want)
            assert any(
                sid == got.story_id and jaccard(fp.tokens, m.tokens) == pytest.approx(want)
                for sid, m in stored
            )


def test_index_stays_exact_across_re_index_and_prune() -> None:
    items = _items()
    fps = [fingerprint(i["title"], i["summary"]) for i in items]
    index = StoryIndex(threshold=0.2, scan_budget=None)
    for k, fp in enumerate(fps * 20):  # 1,440 members: re-indexes at 1,024
        index.add(k, fp, T0 + timedelta(hours=k // 72))
    assert len(index) == 1440
    dropped = index.prune(T0 + timedelta(hours=72 + 10))  # stories started before hour 10
    assert dropped == 720 and len(index) == 720 and index.story_count == 720
    for fp in fps:
        got = index.match(fp, T0 + timedelta(hours=20))
        assert got is not None and got.similarity == 1.0  # its own copies are still there


@given(
    st.lists(_fps(), max_size=40),
    st.lists(_fps(), min_size=1, max_size=10),
    st.integers(min_value=1, max_value=6),
)
@pytest.mark.slow
def test_over_budget_lookups_only_return_real_matches(
    members: list[Fingerprint], queries: list[Fingerprint], budget: int
) -> None:
    """A scan budget may miss a match, never invent one: what it returns is a member's story
    at that member's similarity, and never better than brute force's best."""
    index = StoryIndex(threshold=0.3, scan_budget=budget, min_share=1)
    stored = [(k % 5, fp) for k, fp in enumerate(members)]
    for sid, fp in stored:
        index.add(sid, fp, T0)
    for fp in queries:
        got = index.match(fp, T0)
        if got is None:
            continue
        want = _brute(fp, stored, 0.3)
        assert want is not None and got.similarity <= want + 1e-9
        assert any(
            sid == got.story_id
            and jaccard(fp.tokens, m.tokens) == pytest.approx(got.similarity)
            and same_event(fp, m)
            for sid, m in stored
        )


def test_over_budget_lookups_still_find_a_recent_rewrite() -> None:
    """Postings far over the budget: each probed token gives its newest slots, and another
    report of a story is usually recent."""
    shared = frozenset({"junta", "decree", "party", "dissolve"})
    old = Fingerprint(shared | {f"o{k}" for k in range(10)}, shared)  # J = 4/14 < 0.3
    index = StoryIndex(threshold=0.3, scan_budget=16, min_share=4)
    for k in range(2000):  # re-indexes at 1,024: every token is now frequent
        index.add(k, old, T0)
    recent = Fingerprint(shared | {"bamako"}, shared)
    index.add(5000, recent, T0 + timedelta(hours=1))
    query = Fingerprint(shared | {"kati"}, shared)
    got = index.match(query, T0 + timedelta(hours=2))
    assert got is not None and got.story_id == 5000
    assert got.similarity == pytest.approx(4 / 6)


def test_prune_counts_from_the_earliest_member_and_is_idempotent() -> None:
    index = StoryIndex(window=timedelta(hours=72))
    index.add(1, BOULKESSI, T0 + timedelta(hours=10))
    index.add(1, BOULKESSI_2, T0)  # an earlier report: the story now starts at T0
    index.add(2, BOULKESSI, T0 + timedelta(hours=20))
    assert index.prune(T0 + timedelta(hours=71)) == 0
    assert index.prune(T0 + timedelta(hours=73)) == 2  # story 1, both members
    assert index.prune(T0 + timedelta(hours=73)) == 0
    assert index.story_count == 1
    assert index.prune(T0 + timedelta(hours=93)) == 1
    assert len(index) == 0 and index.story_count == 0
    index.add(3, BOULKESSI, T0 + timedelta(hours=100))  # usable after emptying
    assert index.find(BOULKESSI_2, T0 + timedelta(hours=101)) == 3
