"""Query -> ranked passages: dense (FAISS) and keyword (BM25) candidates, fused.

Both retrievers propose their best candidates. Each candidate gets three
scores: its passage cosine, the cosine of its best sentence (sentence
vectors stored at index time) and its BM25 score as a share of a full match
("coverage"). The default mixes them on their own scales, 0.25 / 0.25 / 0.5,
plus a small bonus for a passage holding what the question asks for; this
beat min-max score fusion and reciprocal rank fusion on the bundled question
set and on SciFact's train queries (README, "Answer quality"). Passages
overlapping a better one, or repeating its text, are dropped, so the same
words are never shown twice and another article with the answer can show up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .keyword import tokenize
from .store import Store

__all__ = [
    "Hit",
    "Candidates",
    "Fusion",
    "candidates",
    "fuse",
    "sentence_similarities",
    "search",
    "search_any",
    "select",
    "fuse_documents",
    "rrf",
    "DEFAULT_FUSION",
]

RRF_K = 60
CANDIDATES = 50
TYPED_CANDIDATES = 10


@dataclass(frozen=True)
class Fusion:
    """How dense and keyword scores are mixed.

    method "score", normalise "fixed": wd * passage cosine + ws * best-sentence cosine
    + (1 - wd - ws) * BM25 coverage; normalise "minmax": the same signals (raw BM25) min-max
    scaled over the candidate pool; method "rrf": reciprocal rank fusion of the dense and
    keyword rankings with constant `rrf_k`. `same_doc_penalty` (1: none) multiplies the score
    of each further passage of a document already chosen.
    """

    method: str = "score"
    dense_weight: float = 0.2
    sentence_weight: float = 0.4
    normalise: str = "minmax"
    rrf_k: int = RRF_K
    same_doc_penalty: float = 0.9
    answer_type_bonus: float = 0.0  # added for a passage holding what the question asks for (a date for "when"...)


DEFAULT_FUSION = Fusion(
    dense_weight=0.25, sentence_weight=0.25, normalise="fixed", same_doc_penalty=1.0, answer_type_bonus=0.08
)


@dataclass(frozen=True)
class Hit:
    """One retrieved passage and how each retriever ranked it (ranks start at 1; None: not retrieved)."""

    passage: int
    score: float
    dense_rank: int | None
    keyword_rank: int | None
    dense_score: float
    keyword_score: float
    sentence_score: float = 0.0  # cosine of the passage's best sentence
    coverage: float = 0.0  # BM25 score as a share of a full match of the query


@dataclass(frozen=True)
class Candidates:
    """The pooled candidates of one query, with both scores for each (arrays aligned with `ids`)."""

    ids: np.ndarray
    dense: np.ndarray  # cosine similarity of the passage
    sentence: np.ndarray  # cosine similarity of the passage's best sentence
    keyword: np.ndarray  # BM25 score
    coverage: np.ndarray  # BM25 score over the sum of the query terms' idf: how much of the wording is there
    dense_rank: dict[int, int]
    keyword_rank: dict[int, int]

    def __len__(self) -> int:
        return len(self.ids)


def rrf(rankings: list[list[int]], k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion.

    >>> rrf([[7, 3], [3]], k=1)
    {7: 0.5, 3: 0.8333333333333333}
    """
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


def candidates(
    store: Store, query_vector: np.ndarray, query: str, depth: int, sentence_vector: np.ndarray | None = None
) -> Candidates:
    """Top `depth` passages of each retriever, pooled, each with its dense and keyword score.

    `sentence_vector` (default: `query_vector`) is what the passages' sentences are compared with;
    a follow-up question passes its bare form here and its contextualised form as the query.
    """
    n = len(store)
    depth = min(n, depth)
    qv = np.asarray(query_vector, dtype=np.float32).reshape(1, -1)
    dense, sims = store.dense_search(qv[0], depth)
    dense_sim = dict(zip(dense, sims, strict=True))
    keyword, _ = store.keyword_search(query, depth)
    pool = list(dict.fromkeys(dense + keyword))
    missing = [p for p in pool if p not in dense_sim]
    if missing:
        sims_missing = store.vector_rows(np.array(missing)) @ qv[0]
        dense_sim.update(zip(missing, sims_missing.tolist(), strict=True))
    ids_arr = np.array(pool, dtype=np.int64)
    kw = store.keyword_scores(query, ids_arr)
    return Candidates(
        ids=ids_arr,
        dense=np.array([dense_sim[p] for p in pool], dtype=np.float32),
        sentence=best_sentence_similarity(store, ids_arr, qv[0] if sentence_vector is None else sentence_vector),
        keyword=kw,
        coverage=np.minimum(kw / max(sum(store.idf(tokenize(query)).values()), 1e-6), 1.0),
        dense_rank={p: r for r, p in enumerate(dense, 1)},
        keyword_rank={p: r for r, p in enumerate(keyword, 1)},
    )


def sentence_similarities(store: Store, passage: int, query_vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosine of the question with each sentence of one passage, in order, and the sentences' spans."""
    rows, spans = store.sentences(passage)
    return rows @ np.asarray(query_vector, dtype=np.float32), spans


def best_sentence_similarity(store: Store, passages: np.ndarray, query_vector: np.ndarray) -> np.ndarray:
    """For each passage, the cosine of its sentence closest to the question (one gather, one product)."""
    if not len(passages):
        return np.zeros(0, dtype=np.float32)
    rows, lengths = store.sentence_block(passages)
    firsts = np.cumsum(lengths) - lengths  # where each passage's rows begin in the block
    return np.maximum.reduceat(rows @ query_vector, firsts).astype(np.float32)


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
    wd, ws = fusion.dense_weight, fusion.sentence_weight
    if fusion.normalise == "minmax":
        fused = wd * _minmax(c.dense) + ws * _minmax(c.sentence) + (1 - wd - ws) * _minmax(c.keyword)
    else:
        fused = wd * c.dense + ws * c.sentence + (1 - wd - ws) * c.coverage
    return fused.astype(np.float32)


def search(
    store: Store,
    query_vector: np.ndarray,
    query: str,
    k: int,
    candidates_per_retriever: int = CANDIDATES,
    fusion: Fusion = DEFAULT_FUSION,
    sentence_vector: np.ndarray | None = None,
) -> list[Hit]:
    """The `k` best passages for a query, best first, without overlapping duplicates."""
    if len(store) == 0:
        return []
    c = candidates(store, query_vector, query, max(candidates_per_retriever, 4 * k), sentence_vector)
    return select(store, c, _typed(store, c, fuse(c, fusion), query, fusion), k, fusion.same_doc_penalty)


def _typed(store: Store, c: Candidates, scores: np.ndarray, question: str, fusion: Fusion) -> np.ndarray:
    """Scores plus a bonus for passages that hold the kind of thing the question asks for."""
    from .answer import wanted_answer

    wanted = wanted_answer(question) if fusion.answer_type_bonus else None
    if wanted is None:
        return scores
    # Only the leading candidates can be lifted into the answer; reading every candidate's text would cost more.
    lead = np.argsort(-scores, kind="stable")[:TYPED_CANDIDATES]
    bonus = np.zeros_like(scores)
    bonus[lead] = [fusion.answer_type_bonus * bool(wanted.search(store.text(int(c.ids[i])))) for i in lead]
    return scores + bonus


def search_any(
    store: Store,
    queries: list[tuple[np.ndarray, str, np.ndarray | None]],
    k: int,
    weights: list[float] | None = None,
    candidates_per_retriever: int = CANDIDATES,
    fusion: Fusion = DEFAULT_FUSION,
) -> list[Hit]:
    """Like `search` for several readings of one question (vector, text, sentence vector).

    Each reading's fused scores are divided by its best one, then averaged per passage with `weights`
    (default: equal; 0 where a reading did not retrieve it), so a long contextual reading cannot
    drown the bare question.
    A passage's explanation comes from the reading that scored it highest.
    """
    if len(store) == 0:
        return []
    weights = weights or [1.0 / len(queries)] * len(queries)
    total: dict[int, float] = {}
    best: dict[int, tuple[float, Candidates, int]] = {}
    for (vector, text, sentence_vector), weight in zip(queries, weights, strict=True):
        c = candidates(store, vector, text, max(candidates_per_retriever, 4 * k), sentence_vector)
        scores = _typed(store, c, fuse(c, fusion), text if sentence_vector is None else queries[-1][1], fusion)
        top = float(scores.max()) if len(scores) else 0.0
        for i, (p, score) in enumerate(zip(c.ids.tolist(), scores.tolist(), strict=True)):
            total[p] = total.get(p, 0.0) + weight * (score / top if top > 0 else 0.0)
            if p not in best or score > best[p][0]:
                best[p] = (score, c, i)
    ids = list(best)
    pick = [best[p] for p in ids]
    merged = Candidates(
        ids=np.array(ids, dtype=np.int64),
        dense=np.array([c.dense[i] for _, c, i in pick], dtype=np.float32),
        sentence=np.array([c.sentence[i] for _, c, i in pick], dtype=np.float32),
        keyword=np.array([c.keyword[i] for _, c, i in pick], dtype=np.float32),
        coverage=np.array([c.coverage[i] for _, c, i in pick], dtype=np.float32),
        dense_rank={p: c.dense_rank[p] for p, (_, c, _) in zip(ids, pick, strict=True) if p in c.dense_rank},
        keyword_rank={p: c.keyword_rank[p] for p, (_, c, _) in zip(ids, pick, strict=True) if p in c.keyword_rank},
    )
    return select(store, merged, np.array([total[p] for p in ids], dtype=np.float32), k, fusion.same_doc_penalty)


def select(store: Store, c: Candidates, scores: np.ndarray, k: int, same_doc_penalty: float = 1.0) -> list[Hit]:
    """Greedy pick of `k` passages: best score first, no overlap, later passages of a shown document demoted."""
    rows = store.passages[c.ids] if len(c) else store.passages[:0]
    docs, starts, ends = rows["doc"].tolist(), rows["start"].tolist(), rows["end"].tolist()
    remaining = np.argsort(-scores, kind="stable").tolist()
    taken: dict[int, list[tuple[int, int]]] = {}
    seen_texts: set[str] = set()
    hits: list[Hit] = []
    while remaining and len(hits) < k:
        if same_doc_penalty == 1.0:
            best = remaining.pop(0)
        else:
            best = max(remaining, key=lambda i: scores[i] * same_doc_penalty ** len(taken.get(docs[i], ())))
            remaining.remove(best)
        p = int(c.ids[best])
        doc, start, end = docs[best], starts[best], ends[best]
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
                float(c.sentence[best]),
                float(c.coverage[best]),
            )
        )
    return hits


def fuse_documents(store: Store, c: Candidates, fusion: Fusion = DEFAULT_FUSION) -> tuple[np.ndarray, np.ndarray]:
    """Document numbers in the pool and their fused scores: each signal of a document is its best passage's."""
    if not len(c):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    docs = np.asarray(store.passages[c.ids]["doc"], dtype=np.int64)
    numbers, inverse = np.unique(docs, return_inverse=True)
    signals = []
    for values in (c.dense, c.sentence, c.keyword, c.coverage):
        best = np.full(len(numbers), -np.inf, dtype=np.float32)
        np.maximum.at(best, inverse, values)
        signals.append(best)
    doc_c = Candidates(
        ids=numbers,
        dense=signals[0],
        sentence=signals[1],
        keyword=signals[2],
        coverage=signals[3],
        dense_rank=_ranks(numbers, signals[0]),
        keyword_rank=_ranks(numbers, signals[2], positive=True),
    )
    return numbers, fuse(doc_c, fusion)


def _ranks(ids: np.ndarray, values: np.ndarray, positive: bool = False) -> dict[int, int]:
    order = np.argsort(-values, kind="stable")
    return {int(ids[i]): r for r, i in enumerate(order, 1) if not positive or values[i] > 0}
