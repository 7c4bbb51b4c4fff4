"""Query -> ranked passages: dense (FAISS) and keyword (BM25) results, fused.

Both retrievers return their best candidates; reciprocal rank fusion (RRF)
merges them, then passages overlapping a better one are dropped so the
same words are never shown twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .store import Store

__all__ = ["Hit", "search", "rrf"]

RRF_K = 60
CANDIDATES = 50


@dataclass(frozen=True)
class Hit:
    """One retrieved passage and how each retriever ranked it (ranks start at 1; None: not retrieved)."""

    passage: int
    score: float
    dense_rank: int | None
    keyword_rank: int | None
    dense_score: float
    keyword_score: float


def rrf(rankings: list[list[int]], k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion.

    >>> rrf([[7, 3], [3]], k=1)
    {7: 0.5, 3: 1.0}
    """
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


def search(store: Store, query_vector: np.ndarray, query: str, k: int, candidates: int = CANDIDATES) -> list[Hit]:
    """The `k` best passages for a query, best first, without overlapping duplicates."""
    n = len(store)
    if n == 0:
        return []
    depth = min(n, max(candidates, 4 * k))
    sims, ids = store.dense.search(np.asarray(query_vector, dtype=np.float32).reshape(1, -1), depth)
    dense = [int(i) for i in ids[0] if i >= 0]
    dense_sim = {int(i): float(s) for i, s in zip(ids[0], sims[0], strict=True) if i >= 0}
    kw_scores = store.keyword.scores(query)
    keyword: list[int] = []
    if len(kw_scores) and kw_scores.max() > 0:
        top = np.argpartition(-kw_scores, min(depth, n) - 1)[:depth]
        keyword = [int(i) for i in top[np.argsort(-kw_scores[top])] if kw_scores[i] > 0]
    fused = rrf([dense, keyword])
    dense_pos = {p: r for r, p in enumerate(dense, 1)}
    keyword_pos = {p: r for r, p in enumerate(keyword, 1)}
    ranked = sorted(fused, key=lambda p: -fused[p])
    hits: list[Hit] = []
    for p in _distinct(store, ranked):
        if p not in dense_sim:
            dense_sim[p] = float(np.dot(store.vectors()[p], query_vector))
        hits.append(
            Hit(
                p,
                fused[p],
                dense_pos.get(p),
                keyword_pos.get(p),
                dense_sim[p],
                float(kw_scores[p]) if len(kw_scores) else 0.0,
            )
        )
        if len(hits) == k:
            break
    return hits


def _distinct(store: Store, ranked: list[int]):
    """Yield passages that share no characters with a passage already yielded, nor the same text."""
    taken: dict[int, list[tuple[int, int]]] = {}
    seen_texts: set[str] = set()
    for p in ranked:
        doc, start, end = (int(x) for x in store.passages[p])
        if any(start < e and s < end for s, e in taken.get(doc, [])):
            continue
        text = " ".join(store.text(p).split())
        if text in seen_texts:
            continue
        taken.setdefault(doc, []).append((start, end))
        seen_texts.add(text)
        yield p
