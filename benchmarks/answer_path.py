"""Time the question path after the model call (hybrid search, fusion, highlight) on a synthetic index.

    python benchmarks/answer_path.py [--passages 100000] [--queries 200]

Builds an index of random unit vectors and random-word passages of five sentences (sentence
vectors included) in a temporary folder, then times, per question: the FAISS search alone, the
whole `search` (FAISS, BM25, sentence scores, fusion, de-duplication), a follow-up's
`search_any` (two readings) and the highlight of five results. The model call is left out: it is
the same for every ranking method and is measured by the speed benchmarks.

Times are CPU time of the calling thread (`time.thread_time`), so other programs on a shared
machine do not inflate them; FAISS runs single-threaded here for the same reason.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.answer.question import Query
from rag.answer.results import answer_from
from rag.answer.search import search, search_any
from rag.index.faiss.reader import Store
from rag.index.faiss.writer import write_store
from rag.index.schema import PASSAGE_DTYPE, Manifest


def build(folder: Path, n: int, dim: int = 384, seed: int = 0) -> Store:
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(20000)]
    zipf = 1 / np.arange(1, len(vocab) + 1)
    zipf /= zipf.sum()
    words = rng.choice(len(vocab), size=(n, 5, 14), p=zipf)
    texts = [" ".join(" ".join(vocab[w] for w in sent).capitalize() + "." for sent in p) for p in words]
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    sentences = rng.standard_normal((5 * n, dim)).astype(np.float32)
    sentences /= np.linalg.norm(sentences, axis=1, keepdims=True)
    per_doc = 100
    docs = [
        {
            "source": f"d{d}.txt",
            "title": f"Doc {d}",
            "hash": "",
            "size": 0,
            "mtime_ns": 0,
            "first": d * per_doc,
            "count": min(per_doc, n - d * per_doc),
        }
        for d in range((n + per_doc - 1) // per_doc)
    ]
    rows = np.array([(i // per_doc, (i % per_doc) * 1000, (i % per_doc) * 1000 + 900) for i in range(n)], PASSAGE_DTYPE)
    manifest = Manifest("synthetic", dim, {"size": 600, "overlap": 120}, docs, n, time.time())
    offsets = np.arange(0, 5 * n + 1, 5, dtype=np.int64)
    spans = np.array([_sentence_spans(t) for t in texts], dtype=np.int32).reshape(-1, 2)
    write_store(folder, manifest, rows, texts, vectors, sentences=(sentences, offsets, spans))
    return Store.load(folder)


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    ends = [i + 1 for i, ch in enumerate(text) if ch == "."]
    return [(0 if j == 0 else ends[j - 1] + 1, e) for j, e in enumerate(ends)]


def percentiles(times: list[float]) -> str:
    ms = np.array(times) * 1000
    return f"{np.percentile(ms, 50):7.2f} {np.percentile(ms, 90):7.2f} {ms.max():7.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    import faiss

    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = build(Path(tmp), args.passages)
        print(f"built {args.passages} passages in {time.perf_counter() - t0:.1f} s")
        timings: dict[str, list[float]] = {"faiss only": [], "search": [], "follow-up search": [], "highlight (5)": []}
        for _ in range(args.queries):
            text = store.text(int(rng.integers(len(store))))
            question = "When did " + " ".join(text.split()[3:10]) + "?"
            qv = rng.standard_normal(store.manifest.dim).astype(np.float32)
            qv /= np.linalg.norm(qv)
            t = time.thread_time()
            store.dense.search(qv.reshape(1, -1), 50)
            timings["faiss only"].append(time.thread_time() - t)
            t = time.thread_time()
            query = Query.read(question, qv, store.idf)
            hits = search(store, query, 5)
            timings["search"].append(time.thread_time() - t)
            t = time.thread_time()
            search_any(store, [(Query.read("Who was it? " + question, qv, store.idf), qv), (query, None)], 5)
            timings["follow-up search"].append(time.thread_time() - t)
            t = time.thread_time()
            answer_from(store, question, query, hits, qv)
            timings["highlight (5)"].append(time.thread_time() - t)
        print(f"{'step':<18} {'p50 ms':>7} {'p90 ms':>7} {'max ms':>7}")
        for name, times in timings.items():
            print(f"{name:<18} {percentiles(times[5:])}")


if __name__ == "__main__":
    main()
