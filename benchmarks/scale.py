"""Dense search alone at 10k, 100k and 1M passages: the index `rag` picks by size, against a flat FAISS index.

Vectors are synthetic, standing in for embeddings: each is a real SciFact
passage vector (from the cached SciFact index) plus Gaussian noise,
normalised, so that neighbours exist as they do among real articles (pure
random vectors in 384 dimensions are all nearly orthogonal, which no real
corpus is). The questions are SciFact's 1,109 real claims, embedded.

For each size: build time, time to open the index, memory after opening it
and after the queries, size on disk, p50/p95 of a single-question search for
the top 50 (what `rag` asks of the dense index), and recall@10 against exact
search; for HNSW also recall and latency by `efSearch`. The baseline is
faiss.IndexFlatIP held in memory.

    python benchmarks/scale.py [--sizes 10000,100000,1000000] [--queries 1000]
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import time

import numpy as np
from common import CACHE, SCIFACT, machine, median, pct, rss_mb, scifact_index, table

from rag.index.embedding import load_embedder
from rag.index.faiss.dense import EXACT_LIMIT, build_dense, exact_index, load_dense

SWEEP = (64, 128, 256, 512, 1024)
SWEPT: list[list] = []
NOISE = 0.6  # noise norm relative to the unit centre: cosine ~0.86 to the centre, ~0.74 between siblings
DEPTH = 50


def centres() -> np.ndarray:
    index = scifact_index()
    gen = index / (index / "CURRENT").read_text().strip()
    return np.load(gen / "vectors.npy")


def synthetic(base: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for at in range(0, n, 100_000):
        m = min(100_000, n - at)
        x = base[rng.integers(0, len(base), m)] + rng.normal(0, NOISE / np.sqrt(base.shape[1]), (m, base.shape[1]))
        out[at : at + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def questions(count: int) -> np.ndarray:
    with (SCIFACT / "queries.jsonl").open() as f:
        texts = [json.loads(line)["text"] for line in f]
    vectors = load_embedder(index_dir=CACHE / "models").embed(texts)
    return np.resize(vectors, (count, vectors.shape[1]))


def latencies(index, queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    times, found = [], []
    for q in queries:
        t0 = time.perf_counter()
        _, ids = index.search(q.reshape(1, -1), DEPTH)
        times.append(time.perf_counter() - t0)
        found.append(ids[0, :10])
    return times, np.array(found)


def exact_top10(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    exact = exact_index(vectors)
    return np.concatenate([exact.search(queries[at : at + 50], 10)[1] for at in range(0, len(queries), 50)])


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)]))


def measure_rag(vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray, folder) -> list:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    np.save(folder / "vectors.npy", vectors)
    build_dense(folder, vectors)
    build = time.perf_counter() - t0
    disk = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    index = load_dense(folder)
    opened = time.perf_counter() - t0
    after_open = rss_mb() - before
    times, found = latencies(index, queries)
    after_queries = rss_mb() - before
    if index.__class__.__name__ == "IndexFlatIP":
        kind = "rag: exact (IndexFlatIP, mmap)"
    else:
        parts = graphs(index)
        shards = f"{len(parts)} graphs of {parts[0].ntotal:,}" if len(parts) > 1 else "one graph"
        kind = f"rag: HNSW{parts[0].hnsw.nb_neighbors(1)}, {shards}, efSearch {parts[0].hnsw.efSearch}, mmap"
        for ef in SWEEP:
            for part in parts:
                part.hnsw.efSearch = ef
            t, f = latencies(index, queries[:300])
            SWEPT.append([f"{len(vectors):,}", ef, *ms(t), recall(f, truth[:300])])
    del index
    return [kind, build, opened * 1000, after_open, after_queries, disk, *ms(times), recall(found, truth)]


def graphs(index) -> list:
    """The HNSW graphs of a dense index: itself, or each of its shards."""
    import faiss

    return [index] if hasattr(index, "hnsw") else [faiss.downcast_index(index.at(i)) for i in range(index.count())]


def measure_flat(vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> list:
    import faiss

    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    build = time.perf_counter() - t0
    after_build = rss_mb() - before
    times, found = latencies(index, queries)
    return [
        "baseline: faiss IndexFlatIP",
        build,
        "-",
        after_build,
        rss_mb() - before,
        "-",
        *ms(times),
        recall(found, truth),
    ]


def ms(times: list[float]) -> list[float]:
    return [median(times) * 1000, pct(times, 95) * 1000]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    print(machine(), flush=True)
    base, queries = centres(), questions(args.queries)
    rows = []
    for n in map(int, args.sizes.split(",")):
        vectors = synthetic(base, n, seed=n)
        truth = exact_top10(vectors, queries)
        rows.append([f"{n:,}", *measure_rag(vectors, queries, truth, CACHE / f"scale-{n}")])
        rows.append([f"{n:,}", *measure_flat(vectors, queries, truth)])
        print(f"  {n:,} done", flush=True)
        del vectors
    print(
        f"\nDense search only; synthetic vectors around real SciFact embeddings; {args.queries:,} single-question "
        f"searches for the top {DEPTH} (SciFact claims); exact below {EXACT_LIMIT:,} passages\n"
    )
    headers = [
        "passages",
        "index",
        "build s",
        "open ms",
        "RSS after open MB",
        "RSS after queries MB",
        "disk MB",
        "p50 ms",
        "p95 ms",
        "recall@10",
    ]
    print(table(headers, rows))
    if SWEPT:
        print("\nHNSW: recall@10 and latency by efSearch (300 questions)\n")
        print(table(["passages", "efSearch", "p50 ms", "p95 ms", "recall@10"], SWEPT))
    print("\n" + machine())


if __name__ == "__main__":
    main()
