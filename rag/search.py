"""Query -> ranked passages: dense (FAISS) and keyword (BM25) candidates, fused.

Both retrievers propose their best candidates. Each candidate gets both
scores (the cosine from the stored vector, the BM25 score from the keyword
index); the scores are normalised over the candidate pool and mixed with a
weight (normalised score fusion), which beat reciprocal rank fusion on both
the bundled question set and SciFact (see README, "Answer quality").
Passages overlapping a better one, or repeating its text, are dropped, and a
document's later passages are slightly demoted so another article with the
answer can show up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .store import Store

__all__ = ["Hit", "Candidates", "Fusion", "candidates", "fuse", "search", "select", "rrf", "DEFAULT_FUSION"]

RRF_K = 60
CANDIDATES = 50


@dataclass(frozen=True)
class Fusion:
    """How dense and keyword scores are mixed.

    method "score": w * minmax(dense) + (1 - w) * minmax(bm25) over the pool;
    method "rrf": reciprocal rank fusion with constant `rrf_k`.
    `same_doc_penalty` multiplies the score of each further passage of a document already shown.
    """

    method: str = "score"
    dense_weight: float = 0.6
    rrf_k: int = RRF_K
    same_doc_penalty: float = 0.9


DEFAULT_FUSION = Fusion()


@dataclass(frozen=True)
class Hit:
    """One retrieved passage and how each retriever ranked it (ranks start at 1; None: not retrieved)."""

    passage: int
    score: float
    dense_rank: int | None
    keyword_rank: int | None
    dense_score: float
    keyword_score: float


@dataclass(frozen=True)
class Candidates:
    """The pooled candidates of one query, with both scores for each (arrays aligned with `ids`)."""

    ids: np.ndarray
    dense: np.ndarray  # cosine similarity
    keyword: np.ndarray  # BM25 score
    dense_rank: dict[int, int]
    keyword_rank: dict[int, int]

    def __len__(self) -> int:
        return len(self.ids)


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


def candidates(store: Store, query_vector: np.ndarray, query: str, depth: int) -> Candidates:
    """Top `depth` passages of each retriever, pooled, each with its dense and keyword score."""
    n = len(store)
    depth = min(n, depth)
    qv = np.asarray(query_vector, dtype=np.float32).reshape(1, -1)
    sims, ids = store.dense.search(qv, depth)
    dense = [int(i) for i in ids[0] if i >= 0]
    dense_sim = {int(i): float(s) for i, s in zip(ids[0], sims[0], strict=True) if i >= 0}
    kw_scores = store.keyword.scores(query)
    keyword: list[int] = []
    if len(kw_scores) and kw_scores.max() > 0:
        top = np.argpartition(-kw_scores, depth - 1)[:depth]
        keyword = [int(i) for i in top[np.argsort(-kw_scores[top], kind="stable")] if kw_scores[i] > 0]
    pool = list(dict.fromkeys(dense + keyword))
    missing = [p for p in pool if p not in dense_sim]
    if missing:
        sims_missing = np.asarray(store.vectors()[np.array(missing)], dtype=np.float32) @ qv[0]
        dense_sim.update(zip(missing, sims_missing.tolist(), strict=True))
    ids_arr = np.array(pool, dtype=np.int64)
    kw = kw_scores[ids_arr].astype(np.float32) if len(kw_scores) else np.zeros(len(pool), dtype=np.float32)
    return Candidates(
        ids=ids_arr,
        dense=np.array([dense_sim[p] for p in pool], dtype=np.float32),
        keyword=kw,
        dense_rank={p: r for r, p in enumerate(dense, 1)},
        keyword_rank={p: r for r, p in enumerate(keyword, 1)},
    )


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def fuse(c: Candidates, fusion: Fusion = DEFAULT_FUSION) -> np.ndarray:
    """Fused score of each candidate (aligned with `c.ids`); higher is better."""
    if not len(c):
        return np.zeros(0, dtype=np.float32)
    if fusion.method == "rrf":
        ranked = [c.dense_rank, c.keyword_rank]
        return np.array(
            [sum(1.0 / (fusion.rrf_k + r[p]) for r in ranked if p in r) for p in c.ids.tolist()], dtype=np.float32
        )
    w = fusion.dense_weight
    return (w * _minmax(c.dense) + (1 - w) * _minmax(c.keyword)).astype(np.float32)


def search(
    store: Store,
    query_vector: np.ndarray,
    query: str,
    k: int,
    candidates_per_retriever: int = CANDIDATES,
    fusion: Fusion = DEFAULT_FUSION,
) -> list[Hit]:
    """The `k` best passages for a query, best first, without overlapping duplicates."""
    if len(store) == 0:
        return []
    c = candidates(store, query_vector, query, max(candidates_per_retriever, 4 * k))
    return select(store, c, fuse(c, fusion), k, fusion.same_doc_penalty)


def select(store: Store, c: Candidates, scores: np.ndarray, k: int, same_doc_penalty: float = 1.0) -> list[Hit]:
    """Greedy pick of `k` passages: best score first, no overlap, later passages of a shown document demoted."""
    rows = store.passages[c.ids] if len(c) else store.passages[:0]
    docs = rows["doc"].tolist()
    remaining = [int(i) for i in np.argsort(-scores, kind="stable")]
    taken: dict[int, list[tuple[int, int]]] = {}
    seen_texts: set[str] = set()
    hits: list[Hit] = []
    while remaining and len(hits) < k:
        best = max(remaining, key=lambda i: scores[i] * same_doc_penalty ** len(taken.get(docs[i], ())))
        remaining.remove(best)
        p = int(c.ids[best])
        doc, start, end = docs[best], int(rows["start"][best]), int(rows["end"][best])
        if any(start < e and s < end for s, e in taken.get(doc, [])):
            continue
        text = " ".join(store.text(p).split())
        if text in seen_texts:
            continue
        taken.setdefault(doc, []).append((start, end))
        seen_texts.add(text)
        hits.append(
            Hit(
                p,
                float(scores[best]),
                c.dense_rank.get(p),
                c.keyword_rank.get(p),
                float(c.dense[best]),
                float(c.keyword[best]),
            )
        )
    return hits
