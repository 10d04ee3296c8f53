"""Benchmark story dedup: cost per item (find + add), memory and quality at 1k/10k/100k items.

    python bench/dedup.py --repeat 3 --check 300   # sizes 1,000 10,000 100,000 (minutes)
    python bench/dedup.py --sizes 300 --queries 20 --repeat 1 --check 10 --baseline-n 100

Two synthetic profiles (see docs/dedup.md): "news" (default), calibrated on the document
frequencies of tests/data/stories_labelled.json: an anchor entity in 90% of items, 8 draws
from a 100-concept core (Zipf-Mandelbrot s=0.7), 6 from a 30,000-word tail, a place in
70%, a number in 50%, 10% rewrites of a recent item; "skewed": the earlier generator (two
near-universal tokens, 20 tokens per item), harder. Every time is the median over --repeat
rounds of --queries items. The index measured is the token-Jaccard StoryIndex of
bench/jaccard_index.py (the bot's grouper before the learned one, kept as the one Jaccard
baseline; bench/stories_eval.py measures the bot's own grouper). datasketch MinHashLSH at
--baseline-n items and brute force run in the same process; brute force also gives the
exactness figure (fraction of --check queries having a brute-force match whose best
similarity the index returns). "rewrites" counts the --check
queries the generator made as rewrites of an indexed item that land in that item's story
(brute force's own count on its row). Memory is what the index keeps alive (tracemalloc
across generating the fingerprints and building, fingerprints dropped).
"""

from __future__ import annotations

import argparse
import bisect
import gc
import json
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.jaccard_index import (
    DEFAULT_THRESHOLD,
    DEFAULT_WINDOW,
    StoryIndex,
    jaccard,
    same_event,
)
from bot.core.stories import Fingerprint, fingerprint

T0 = datetime(2025, 6, 1, tzinfo=UTC)
LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "stories_labelled.json"


def zipf_choice(rng: random.Random, n: int, s: float = 1.1, q: float = 0.0) -> Callable[[], int]:
    """Sampler of ranks 0..n-1 with P(k) proportional to 1 / (k + 1 + q) ** s."""
    cum: list[float] = []
    total = 0.0
    for k in range(n):
        total += 1.0 / (k + 1 + q) ** s
        cum.append(total)

    def pick() -> int:
        return bisect.bisect_left(cum, rng.random() * total)

    return pick


def _rewrite_source(
    rng: random.Random, out: list[Fingerprint], sources: list[int] | None
) -> Fingerprint:
    """One of the last 5,000 items, for a rewrite; its index goes to ``sources``."""
    index = rng.randrange(max(0, len(out) - 5000), len(out))
    if sources is not None:
        sources.append(index)
    return out[index]


def synthetic_news(n: int, seed: int = 1, sources: list[int] | None = None) -> list[Fingerprint]:
    """Fingerprints whose document frequencies follow the labelled set (see module doc).

    ``sources``, when given, receives for each item the index of the item it rewrites
    (-1 for an original story).
    """
    rng = random.Random(seed)
    core = zipf_choice(rng, 100, 0.7, 2)
    tail = zipf_choice(rng, 30_000, 1.0, 30)
    place_of = zipf_choice(rng, 300, 1.0, 1)
    anchors = ["mali"] * 8 + ["burkina", "niger"]
    out: list[Fingerprint] = []
    for _ in range(n):
        if out and rng.random() < 0.10:  # a rewrite of a recent item
            src = _rewrite_source(rng, out, sources)
            kept = [t for t in sorted(src.tokens) if rng.random() < 0.65]
            toks = set(kept) | {f"w{tail()}" for _ in range(3)}
            head = frozenset(t for t in src.headline if t in toks) or frozenset(kept[:4])
            out.append(Fingerprint(frozenset(toks), head, src.numbers, src.places, src.countries))
            continue
        if sources is not None:
            sources.append(-1)
        core_t = [f"c{core()}" for _ in range(8)]
        tail_t = [f"w{tail()}" for _ in range(6)]
        head_s = set(core_t[:4] + tail_t[:2])
        toks = set(core_t) | set(tail_t)
        countries: frozenset[str] = frozenset()
        if rng.random() < 0.9:
            anchor = rng.choice(anchors)
            toks.add(anchor)
            head_s.add(anchor)
            countries = frozenset({anchor})
        places: frozenset[str] = frozenset()
        if rng.random() < 0.7:
            place = f"place{place_of()}"
            toks.add(place)
            places = frozenset({place})
            if rng.random() < 0.5:
                head_s.add(place)
        nums: frozenset[str] = frozenset()
        if rng.random() < 0.5:
            num = str(rng.randint(2, 90))
            toks.add("#" + num)
            nums = frozenset({num})
        out.append(Fingerprint(frozenset(toks), frozenset(head_s), nums, places, countries))
    return out


def synthetic_skewed(n: int, seed: int = 1, sources: list[int] | None = None) -> list[Fingerprint]:
    """The earlier generator: 20 tokens per item, two tokens in ~80% of items."""
    rng = random.Random(seed)
    topical = zipf_choice(rng, 300, 1.0)
    tail = zipf_choice(rng, 50_000, 1.1)
    places = [f"place{k}" for k in range(300)]
    out: list[Fingerprint] = []
    for _ in range(n):
        if out and rng.random() < 0.10:  # a rewrite of an earlier item
            src = _rewrite_source(rng, out, sources)
            kept = [t for t in sorted(src.tokens) if rng.random() < 0.65]
            toks = set(kept) | {f"w{tail()}" for _ in range(4)}
            out.append(Fingerprint(frozenset(toks), frozenset(kept[:6]), src.numbers, src.places))
            continue
        if sources is not None:
            sources.append(-1)
        head = {f"c{topical()}" for _ in range(6)}
        toks = head | {f"c{topical()}" for _ in range(4)} | {f"w{tail()}" for _ in range(10)}
        place = rng.choice(places)
        nums = frozenset({str(rng.randint(2, 90))}) if rng.random() < 0.4 else frozenset()
        toks |= {place} | {"#" + x for x in nums}
        out.append(Fingerprint(frozenset(toks), frozenset(head), nums, frozenset({place})))
    return out


PROFILES = {"news": synthetic_news, "skewed": synthetic_skewed}


def build(make: Callable[[], StoryIndex], fps: list[Fingerprint]) -> StoryIndex:
    index = make()
    for k, fp in enumerate(fps):
        index.add(k, fp, T0 + timedelta(seconds=k))
    return index


def retained_mb(make: Callable[[], StoryIndex], gen: Callable[[], list[Fingerprint]]) -> float:
    """Memory the index keeps alive, fingerprints included when it holds on to them."""
    gc.collect()
    tracemalloc.start()
    fps = gen()
    index = build(make, fps)
    del fps
    gc.collect()
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del index
    return current / 1e6


def per_item_us(rounds: list[float], per_round: int) -> float:
    return statistics.median(rounds) / per_round * 1e6


def bench_index(
    make: Callable[[], StoryIndex], fps: list[Fingerprint], queries: list[list[Fingerprint]]
) -> tuple[float, float, float]:
    """(bulk add us/item, find us/item, add us/item), medians over the query rounds."""
    t = time.perf_counter()
    index = build(make, fps)
    build_us = (time.perf_counter() - t) / len(fps) * 1e6
    at = T0 + timedelta(hours=1)
    find_rounds, add_rounds = [], []
    next_id = len(fps)
    for batch in queries:
        t = time.perf_counter()
        found = [index.find(fp, at) for fp in batch]
        find_rounds.append(time.perf_counter() - t)
        t = time.perf_counter()
        for fp, sid in zip(batch, found, strict=True):
            if sid is None:
                sid, next_id = next_id, next_id + 1
            index.add(sid, fp, at)
        add_rounds.append(time.perf_counter() - t)
    m = len(queries[0])
    return build_us, per_item_us(find_rounds, m), per_item_us(add_rounds, m)


def bench_minhash_lsh(fps: list[Fingerprint], queries: list[list[Fingerprint]]) -> float:
    from datasketch import MinHash, MinHashLSH

    proto = MinHash(num_perm=64)
    shared, scheme = proto.permutations, proto.scheme

    def sketch(fp: Fingerprint) -> MinHash:
        mh = MinHash(num_perm=64, permutations=shared, scheme=scheme)
        mh.update_batch([t.encode() for t in fp.tokens])
        return mh

    lsh = MinHashLSH(threshold=DEFAULT_THRESHOLD, num_perm=64)
    for k, fp in enumerate(fps):
        lsh.insert(k, sketch(fp))
    rounds = []
    key = len(fps)
    for batch in queries:
        t = time.perf_counter()
        for fp in batch:
            mh = sketch(fp)
            lsh.query(mh)
            lsh.insert(key, mh)
            key += 1
        rounds.append(time.perf_counter() - t)
    return per_item_us(rounds, len(queries[0]))


def brute_best(fp: Fingerprint, pool: list[Fingerprint]) -> tuple[float, int] | None:
    """(similarity, item) of the best Jaccard >= threshold passing the guard, comparing with
    every item (all in the window); ties go to the earliest item, as in StoryIndex."""
    best: tuple[float, int] | None = None
    for k, other in enumerate(pool):
        j = jaccard(fp.tokens, other.tokens)
        if j >= DEFAULT_THRESHOLD and (best is None or j > best[0]) and same_event(fp, other):
            best = (j, k)
    return best


def brute_match(fp: Fingerprint, pool: list[Fingerprint]) -> float | None:
    """Best similarity only (see ``brute_best``)."""
    best = brute_best(fp, pool)
    return None if best is None else best[0]


@dataclass
class Check:
    """The reference answers for the checked queries: brute force, and the generator's truth.

    ``root[i]`` is the original story of item i (itself, or what its rewrite chain started
    from); a rewrite is *found* when the match's story (each indexed item is its own story
    here) has the same root. Only rewrites of indexed items count.
    """

    queries: list[Fingerprint]
    brute: list[tuple[float, int] | None]
    rewrites: list[int]  # positions in ``queries`` of rewrites of indexed items
    root: list[int]
    indexed: int  # items before the queries in the stream

    def same_story(self, q: int, item: int) -> bool:
        """Whether indexed ``item`` and query ``q`` come from the same original story."""
        return self.root[item] == self.root[self.indexed + q]

    @classmethod
    def make(cls, fps: list[Fingerprint], queries: list[Fingerprint], sources: list[int]) -> Check:
        root: list[int] = []
        for i, src in enumerate(sources):
            root.append(i if src < 0 else root[src])
        n = len(fps)
        rewrites = [q for q in range(len(queries)) if 0 <= sources[n + q] < n]
        return cls(
            queries,
            [brute_best(fp, fps) for fp in queries],
            rewrites,
            root,
            n,
        )

    def brute_rewrites_found(self) -> int:
        return sum(
            1
            for q in self.rewrites
            if (b := self.brute[q]) is not None and self.same_story(q, b[1])
        )


def quality(index: StoryIndex, check: Check) -> tuple[str, str]:
    """("found/total" exact best similarities, "found/total" rewrites) for ``index``;
    raises if the index ever returns a match brute force does not have."""
    at = T0 + timedelta(hours=1)
    found = total = rewrites_found = 0
    rewrites = set(check.rewrites)
    for q, (fp, want) in enumerate(zip(check.queries, check.brute, strict=True)):
        got = index.match(fp, at)
        if want is None:
            if got is not None:
                raise AssertionError(f"index matched {got} where brute force found nothing")
            continue
        total += 1
        found += got is not None and abs(got.similarity - want[0]) < 1e-9
        if q in rewrites and got is not None:
            rewrites_found += check.same_story(q, got.story_id)
    return f"{found}/{total}", f"{rewrites_found}/{len(rewrites)}"


def bench_fingerprint(repeat: int) -> float:
    items = json.loads(LABELLED.read_text(encoding="utf-8"))["items"]
    rounds = []
    for _ in range(repeat):
        t = time.perf_counter()
        for item in items:
            fingerprint(item["title"], item["summary"])
        rounds.append(time.perf_counter() - t)
    return per_item_us(rounds, len(items))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--profile", choices=sorted(PROFILES), default="news")
    ap.add_argument("--queries", type=int, default=500, help="items per timed round")
    ap.add_argument("--repeat", type=int, default=5, help="timed rounds (median reported)")
    ap.add_argument("--check", type=int, default=200, help="queries checked against brute force")
    ap.add_argument("--baseline-n", type=int, default=10_000, help="items for MinHashLSH")
    ap.add_argument("--scan-budget", type=int, default=-1, help="-1: the default; 0: none")
    args = ap.parse_args(argv)
    gen = PROFILES[args.profile]
    budget_kw: dict[str, int | None] = {}
    if args.scan_budget >= 0:
        budget_kw["scan_budget"] = args.scan_budget or None

    def make_index() -> StoryIndex:
        if "scan_budget" in budget_kw:
            return StoryIndex(DEFAULT_WINDOW, DEFAULT_THRESHOLD, budget_kw["scan_budget"])
        return StoryIndex(DEFAULT_WINDOW, DEFAULT_THRESHOLD)

    print(f"dedup benchmark: profile {args.profile}, threshold {DEFAULT_THRESHOLD}, median of")
    print(f"{args.repeat} rounds x {args.queries} items; budget {make_index().scan_budget};")
    print(f"fingerprint(title, summary): {bench_fingerprint(max(args.repeat, 3)):.1f} us/item")
    print()
    header = (
        f"{'method':<36} {'indexed':>9} {'find+add':>9} {'find':>8} {'add':>7} {'bulk':>7}"
        f" {'MB':>7} {'exact':>9} {'rewrites':>9} {'vs index':>8}"
    )
    print(header + "\n" + "-" * len(header))
    for n in args.sizes:
        sources: list[int] = []
        every = gen(n + max(args.queries * args.repeat, args.check), sources=sources)
        fps, qs = every[:n], every[n:]  # queries continue the stream: some are rewrites
        queries = [qs[r * args.queries : (r + 1) * args.queries] for r in range(args.repeat)]
        check = Check.make(fps, qs[: args.check], sources)
        rows: list[
            tuple[str, float, float | None, float | None, float | None, float | None, str, str]
        ]
        rows = []
        mb = retained_mb(make_index, partial(gen, n))
        bulk, find, add = bench_index(make_index, fps, queries)
        exact, rewrites = quality(build(make_index, fps), check)
        rows.append(("token-Jaccard StoryIndex", find + add, find, add, bulk, mb, exact, rewrites))
        if n == args.baseline_n:
            lsh_us = bench_minhash_lsh(fps, queries)
            rows.append(
                ("datasketch MinHashLSH (64 perm)", lsh_us, None, None, None, None, "approx.", "")
            )
        brute_rounds = []
        for fp in queries[0][: max(1, min(50, args.queries))]:
            t = time.perf_counter()
            brute_match(fp, fps)
            brute_rounds.append(time.perf_counter() - t)
        brute_rewrites = f"{check.brute_rewrites_found()}/{len(check.rewrites)}"
        brute_us = statistics.median(brute_rounds) * 1e6
        rows.append(
            ("brute force (find only)", brute_us, None, None, None, None, "exact", brute_rewrites)
        )
        index_us = rows[0][1]
        for name, total_us, find_us, add_us, bulk_us, row_mb, exact, rewrites in rows:
            cells = [f"{name:<36} {n:>9,} {total_us:9.1f}"]
            cells += [f"{v:8.1f}" if v is not None else f"{'':>8}" for v in (find_us,)]
            cells += [
                f"{v:7.1f}" if v is not None else f"{'':>7}" for v in (add_us, bulk_us, row_mb)
            ]
            cells += [f"{exact:>9}", f"{rewrites:>9}", f"{total_us / index_us:7.2f}x"]
            print(" ".join(cells), flush=True)
    print()
    print("exact: checked queries (of those with a brute-force match) whose best similarity is")
    print("found; rewrites: checked queries that the generator made as rewrites of an indexed")
    print("item, put in that item's story (brute force: the same, comparing with everything)")
    print("MB: what the index keeps alive; bulk: bulk add (start-up rebuild), us/item")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
