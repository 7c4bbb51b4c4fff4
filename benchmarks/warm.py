"""The whole `Engine.ask`, warm, at 100,000 passages: p50 and p95 over SciFact's 300 test claims.

The index holds SciFact's ~17,700 real passages with their real vectors (from
the cached SciFact index) and synthetic passages up to 100,000: each is three
sentences drawn from random SciFact passages, its vector the normalised mean
of theirs plus a little noise. It is written by rag's own `write_store`, so
the dense index is the one rag picks at this size, and BM25 is real.

Each ask is timed whole (embed the question, dense + BM25 search, fusion,
results with highlights) and in parts. The baseline answers the same claims
the plain way, warm: sentence-transformers `encode` + a flat FAISS index
over the same vectors (no BM25, no highlight).

    python benchmarks/warm.py [--passages 100000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import functools
import random
import time

import numpy as np
from common import CACHE, machine, median, pct, scifact_index, scifact_queries, table

from rag import engine as engine_module
from rag.config import Settings
from rag.engine import Engine
from rag.index.embedding import OnnxEmbedder, SentenceTransformerEmbedder, load_embedder
from rag.index.faiss.reader import Store
from rag.index.faiss.writer import write_store
from rag.index.schema import PASSAGE_DTYPE, Manifest

PER_ARTICLE = 5


def build(target, n: int) -> None:
    """Write the 100,000-passage index described above into `target` (once)."""
    if (target / "CURRENT").exists() and len(Store.load(target)) == n:
        return
    print(f"building a {n:,}-passage index (once; cached in benchmarks/.cache)...", flush=True)
    real = Store.load(scifact_index())
    texts = [real.text(i) for i in range(len(real))]
    vectors = np.asarray(real.vectors())
    offsets, spans = np.asarray(real.sentence_offsets()), np.asarray(real.sentence_spans())
    owner = np.repeat(np.arange(len(texts)), np.diff(offsets))  # passage of each sentence row
    rng = random.Random(0)
    noise = np.random.default_rng(0)
    extra = n - len(texts)
    picks = [rng.sample(range(len(owner)), 3) for _ in range(extra)]  # three sentence rows each
    sentence_rows = [np.arange(offsets[i], offsets[i + 1]) for i in range(len(texts))]
    sentence_spans_out = [spans[offsets[i] : offsets[i + 1]] for i in range(len(texts))]
    for pick in picks:
        parts = [texts[owner[r]][spans[r, 0] : spans[r, 1]] for r in pick]
        starts = np.cumsum([0] + [len(t) + 1 for t in parts[:-1]])
        texts.append(" ".join(parts))
        sentence_rows.append(np.array(pick))
        sentence_spans_out.append(np.array([(a, a + len(t)) for a, t in zip(starts, parts, strict=True)]))
    mixed = np.stack([vectors[owner[pick]].mean(0) for pick in picks]).astype(np.float32)
    mixed += noise.normal(0, 0.3 / np.sqrt(mixed.shape[1]), mixed.shape).astype(np.float32)
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    rows_all = np.concatenate(sentence_rows)
    sentences = (
        real.sentence_rows(rows_all),
        np.concatenate([[0], np.cumsum([len(r) for r in sentence_rows])]),
        np.concatenate(sentence_spans_out),
    )
    all_vectors = np.concatenate([vectors, mixed])
    docs, rows = [], []
    for d, first in enumerate(range(0, n, PER_ARTICLE)):
        count = min(PER_ARTICLE, n - first)
        at = 0
        for t in texts[first : first + count]:
            rows.append((d, at, at + len(t)))
            at += len(t) + 1
        docs.append(
            {
                "source": f"a{d:06d}.txt",
                "title": f"Article {d}",
                "hash": "0" * 64,
                "size": at,
                "mtime_ns": 0,
                "first": first,
                "count": count,
                "url": None,
            }
        )
    manifest = Manifest(
        model="all-MiniLM-L6-v2",
        dim=all_vectors.shape[1],
        chunking={"size": 600, "overlap": 120},
        documents=docs,
        passages=n,
        created=time.time(),
    )
    t0 = time.perf_counter()
    write_store(target, manifest, np.array(rows, dtype=PASSAGE_DTYPE), texts, all_vectors, sentences=sentences)
    print(f"  written in {time.perf_counter() - t0:.0f} s", flush=True)


PARTS = {"embed the question": 0.0, "search (dense + BM25 + sentences + fusion)": 0.0}


def timed(func, part):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            PARTS[part] += time.perf_counter() - t0

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2, help="times each of the 300 claims is asked")
    args = parser.parse_args()
    print(machine(), flush=True)
    folder = CACHE / f"warm-{args.passages}"
    build(folder / "index", args.passages)
    embedder = load_embedder(index_dir=CACHE / "models")
    engine = Engine(Settings(corpus=folder / "corpus", index=folder / "index"), embedder=embedder)
    OnnxEmbedder.embed_query = timed(OnnxEmbedder.embed_query, "embed the question")
    engine_module.search = timed(engine_module.search, "search (dense + BM25 + sentences + fusion)")
    texts, _ = scifact_queries("test")
    claims = [texts[q] for q in sorted(texts)]
    for q in claims[:20]:
        engine.ask(q)
    totals, parts = [], {p: [] for p in PARTS}
    for _ in range(args.rounds):
        for q in claims:
            for p in PARTS:
                PARTS[p] = 0.0
            engine.question_vector.cache_clear()  # each ask embeds its question, as a new question would
            t0 = time.perf_counter()
            engine.ask(q)
            totals.append(time.perf_counter() - t0)
            for p in PARTS:
                parts[p].append(PARTS[p])
    rest = [t - sum(parts[p][i] for p in PARTS) for i, t in enumerate(totals)]

    base = baseline(engine.store(), claims, args.rounds)
    rows = [[f"Engine.ask, whole ({engine.store().dense.__class__.__name__})", *ms(totals)]]
    rows += [[f"  {p}", *ms(v)] for p, v in parts.items()]
    rows += [["  the rest (texts, citations, highlight)", *ms(rest)]]
    rows += [[f"baseline: encode + {k}", *ms(v)] for k, v in base.items()]
    print(
        f"\nWarm ask at {args.passages:,} passages (synthetic beyond SciFact's real ones, see above); "
        f"{len(totals)} asks; milliseconds\n"
    )
    print(table(["", "p50 ms", "p95 ms", "mean ms"], rows))
    print("\n" + machine())


def baseline(store: Store, claims: list[str], rounds: int) -> dict[str, list[float]]:
    import faiss

    flat = faiss.IndexFlatIP(store.manifest.dim)
    flat.add(np.ascontiguousarray(store.vectors(), dtype=np.float32))
    st = SentenceTransformerEmbedder()
    out = {"IndexFlatIP search": []}
    for q in claims[:20]:
        flat.search(st.embed_query(q).reshape(1, -1), 5)
    for _ in range(rounds):
        for q in claims:
            t0 = time.perf_counter()
            flat.search(st.embed_query(q).reshape(1, -1), 5)
            out["IndexFlatIP search"].append(time.perf_counter() - t0)
    return out


def ms(values: list[float]) -> list[float]:
    return [median(values) * 1000, pct(values, 95) * 1000, float(np.mean(values)) * 1000]


if __name__ == "__main__":
    main()
