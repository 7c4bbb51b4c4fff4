"""What int8 weights cost in retrieval quality: nDCG@10 on SciFact's 300 test claims.

Documents are `title + " " + text` (SciFact's rules), one vector each; the
questions are always embedded with the float32 export, as `rag ask` does.
Rows: dense retrieval alone, and dense + BM25 fused by reciprocal rank (k=60).
The float32 export and sentence-transformers give the same vectors (cosine
>= 0.9999), so the float32 row stands for both.

    python benchmarks/quality.py            # about 5-15 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import CACHE, machine, ndcg_at_10, scifact_docs, scifact_queries, table

from rag.index.embedding import load_embedder
from rag.index.keyword import KeywordIndex


def doc_vectors(docs: list[dict], quantized: bool) -> tuple[np.ndarray, float]:
    """Vectors of every document with the float32 or int8 export (cached); and the seconds it took."""
    path = CACHE / f"scifact-docs-{'int8' if quantized else 'fp32'}.npy"
    if path.exists():
        return np.load(path), float("nan")
    embedder = load_embedder(index_dir=CACHE / "models", quantized=quantized)
    t0 = time.perf_counter()
    vectors = embedder.embed([f"{d['title']} {d['text']}" for d in docs])
    seconds = time.perf_counter() - t0
    np.save(path, vectors)
    return vectors, seconds


def rrf(rankings: list[list[int]], k: int = 60) -> dict[int, float]:
    """Reciprocal rank fusion: each document's sum of 1 / (k + rank) over the rankings that hold it."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, i in enumerate(ranking, 1):
            scores[i] = scores.get(i, 0.0) + 1.0 / (k + rank)
    return scores


def evaluate(ids: list[str], vectors: np.ndarray, queries: np.ndarray, bm25: list[np.ndarray], qrels: list[dict]):
    """(dense nDCG@10, fused nDCG@10), averaged over the queries."""
    dense, fused = [], []
    sims = queries @ vectors.T
    for q, grades in enumerate(qrels):
        d_rank = list(np.argsort(-sims[q])[:50])
        k_rank = [int(i) for i in np.argsort(-bm25[q])[:50] if bm25[q][i] > 0]
        f = rrf([d_rank, k_rank])
        f_rank = sorted(f, key=f.get, reverse=True)
        dense.append(ndcg_at_10([ids[i] for i in d_rank], grades))
        fused.append(ndcg_at_10([ids[i] for i in f_rank], grades))
    return float(np.mean(dense)), float(np.mean(fused))


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    print(machine())
    docs = scifact_docs()
    ids = [d["_id"] for d in docs]
    texts, qrels = scifact_queries("test")
    order = sorted(texts)
    query_vectors = load_embedder(index_dir=CACHE / "models").embed([texts[q] for q in order])
    keyword = KeywordIndex.build([f"{d['title']} {d['text']}" for d in docs])
    bm25 = [keyword.scores(texts[q]) for q in order]
    grades = [qrels[q] for q in order]
    rows, base = [], None
    for quantized in (False, True):
        vectors, seconds = doc_vectors(docs, quantized)
        dense, fused = evaluate(ids, vectors, query_vectors, bm25, grades)
        base = base or (dense, fused)
        rows.append(
            [
                "int8 (per-channel)" if quantized else "float32",
                f"{dense:.4f}",
                f"{dense - base[0]:+.4f}",
                f"{fused:.4f}",
                f"{fused - base[1]:+.4f}",
                "cached" if np.isnan(seconds) else f"{seconds:.0f} s",
            ]
        )
    print(f"\nSciFact test, {len(order)} claims, {len(docs):,} documents; nDCG@10\n")
    headers = ["document vectors", "dense", "change", "dense + BM25 (RRF)", "change", "embedding time"]
    print(table(headers, rows))
    print("\n" + machine())


if __name__ == "__main__":
    main()
