"""Query -> ranked passages: dense (FAISS) and keyword (BM25) candidates, fused, then re-ranked.

Both retrievers propose their best candidates. Each candidate gets three
scores: its passage cosine, the cosine of its best sentence (sentence
vectors stored at index time) and its BM25 score as a share of a full match
("coverage"). A first, cheap ranking mixes them 0.25 / 0.25 / 0.5, plus a
small bonus for a passage holding what the question asks for. The leading
candidates are then re-ranked by the learned ranker (ranker.py) over richer
signals (signals.py). Passages overlapping a better one, or repeating its
text, are dropped, so the same words are never shown twice and another
article with the answer can show up.

Whether the best passage answers at all is decided here too (`is_answered`),
from the same signals, by the learned abstention model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..index.protocols import ReadableStore
from .question import Query
from .ranker import Ranker, load_ranker
from .signals import PassageView, passage_signals

__all__ = [
    "Hit",
    "Candidates",
    "candidates",
    "fuse",
    "first_scores",
    "passage_view",
    "passage_views",
    "sentence_similarities",
    "search",
    "search_any",
    "select",
    "fuse_documents",
    "is_answered",
    "DENSE_WEIGHT",
    "SENTENCE_WEIGHT",
    "LEAD",
]

CANDIDATES = 50
TYPED_CANDIDATES = 10
LEAD = 30  # candidates the learned ranker re-scores
DENSE_WEIGHT, SENTENCE_WEIGHT = 0.25, 0.25  # the keyword coverage weighs the rest
ANSWER_TYPE_BONUS = 0.08  # added for a passage holding what the question asks for (a date for "when"...)


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
    signals: tuple[float, ...] = ()  # the ranker's view of it (signals.PASSAGE_SIGNALS), when re-ranked


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
    sentence_vector: np.ndarray  # what the passages' sentences were compared with

    def __len__(self) -> int:
        return len(self.ids)


def candidates(store: ReadableStore, query: Query, depth: int, sentence_vector: np.ndarray | None = None) -> Candidates:
    """Top `depth` passages of each retriever, pooled, each with its dense and keyword score.

    `sentence_vector` (default: the query's vector) is what the passages' sentences are compared with;
    a follow-up question passes its bare form here and its contextualised form as the query.
    """
    n = len(store)
    depth = min(n, depth)
    qv = np.asarray(query.vector, dtype=np.float32).reshape(-1)
    sv = qv if sentence_vector is None else np.asarray(sentence_vector, dtype=np.float32)
    dense, sims = store.dense_search(qv, depth)
    dense_sim = dict(zip(dense, sims, strict=True))
    keyword, _ = store.keyword_search(query.terms, depth)
    pool = in_article_order(store, list(dict.fromkeys(dense + keyword)))
    missing = [p for p in pool if p not in dense_sim]
    if missing:
        sims_missing = store.vector_rows(np.array(missing)) @ qv
        dense_sim.update(zip(missing, sims_missing.tolist(), strict=True))
    ids_arr = np.array(pool, dtype=np.int64)
    kw = store.keyword_scores(query.terms, ids_arr)
    return Candidates(
        ids=ids_arr,
        dense=np.array([dense_sim[p] for p in pool], dtype=np.float32),
        sentence=best_sentence_similarity(store, ids_arr, sv),
        keyword=kw,
        coverage=np.minimum(kw / max(query.weight_total, 1e-6), 1.0),
        dense_rank={p: r for r, p in enumerate(dense, 1)},
        keyword_rank={p: r for r, p in enumerate(keyword, 1)},
        sentence_vector=sv,
    )


def in_article_order(store: ReadableStore, ids: list[int]) -> list[int]:
    """`ids` by article name, then place in the article: passages that score alike are then ranked alike,
    whichever order the store returned them in."""
    if not ids:
        return ids
    rows = store.rows(ids)
    sources = [str(store.doc(int(d))["source"]) for d in rows["doc"].tolist()]
    return [p for _, _, p in sorted(zip(sources, rows["start"].tolist(), ids, strict=True))]


def sentence_similarities(store: ReadableStore, passage: int, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosine of the question with each sentence of one passage, in order, and the sentences' spans."""
    rows, spans = store.sentences(passage)
    return rows @ np.asarray(vector, dtype=np.float32), spans


def best_sentence_similarity(store: ReadableStore, passages: np.ndarray, query_vector: np.ndarray) -> np.ndarray:
    """For each passage, the cosine of its sentence closest to the question (one gather, one product)."""
    if not len(passages):
        return np.zeros(0, dtype=np.float32)
    rows, lengths = store.sentence_block(passages)
    firsts = np.cumsum(lengths) - lengths  # where each passage's rows begin in the block
    return np.maximum.reduceat(rows @ query_vector, firsts).astype(np.float32)


def fuse(c: Candidates) -> np.ndarray:
    """The cheap first score of each candidate (aligned with `c.ids`); higher is better."""
    if not len(c):
        return np.zeros(0, dtype=np.float32)
    keyword_weight = 1 - DENSE_WEIGHT - SENTENCE_WEIGHT
    return (DENSE_WEIGHT * c.dense + SENTENCE_WEIGHT * c.sentence + keyword_weight * c.coverage).astype(np.float32)


def first_scores(store: ReadableStore, c: Candidates, query: Query) -> tuple[np.ndarray, np.ndarray]:
    """The first ranking's scores, and the indices (into `c.ids`) of its LEAD best candidates, best first."""
    scores = fuse(c)
    if query.wanted is not None and len(c):
        # Only the leading candidates can be lifted into the answer; reading every candidate's text would cost more.
        lead = np.argsort(-scores, kind="stable")[:TYPED_CANDIDATES]
        bonus = np.zeros_like(scores)
        bonus[lead] = [ANSWER_TYPE_BONUS * bool(query.wanted.search(store.text(int(c.ids[i])))) for i in lead]
        scores = scores + bonus
    return scores, np.argsort(-scores, kind="stable")[:LEAD]


def passage_view(
    store: ReadableStore,
    passage: int,
    sentence_vector: np.ndarray,
    dense: float,
    coverage: float,
    dense_rank: int | None,
    keyword_rank: int | None,
) -> PassageView:
    """What the signals read of one passage: its text, title, sentences and their similarities, and its scores."""
    similarities, spans = sentence_similarities(store, passage, sentence_vector)
    return PassageView(
        text=store.text(passage),
        title=str(store.document(passage).get("title") or ""),
        spans=spans,
        similarities=similarities,
        dense=dense,
        coverage=coverage,
        dense_rank=dense_rank,
        keyword_rank=keyword_rank,
    )


def passage_views(store: ReadableStore, c: Candidates, query: Query, lead: np.ndarray) -> list[PassageView]:
    """What the signals read of the candidates at `lead`."""
    views = []
    for i in lead.tolist():
        p = int(c.ids[i])
        dense, coverage = float(c.dense[i]), float(c.coverage[i])
        views.append(
            passage_view(store, p, c.sentence_vector, dense, coverage, c.dense_rank.get(p), c.keyword_rank.get(p))
        )
    return views


def _ranked(
    store: ReadableStore, c: Candidates, query: Query, ranker: Ranker
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Scores of every candidate: the learned ranker's for the lead, kept above the rest in the first order.

    Also the signals of each re-ranked candidate, by index into `c.ids`.
    """
    scores, lead = first_scores(store, c, query)
    if not len(lead):
        return scores, {}
    rows = passage_signals(query, passage_views(store, c, query, lead))
    learned = ranker.passage_scores(rows, scores[lead])
    out = np.full(len(c), -np.inf, dtype=np.float32)
    rest = np.setdiff1d(np.arange(len(c)), lead)
    # below every re-ranked one, in the first order
    out[rest] = float(learned.min()) - 1.0 - np.argsort(np.argsort(-scores[rest], kind="stable")) * 1e-6
    out[lead] = learned
    return out, dict(zip(lead.tolist(), rows, strict=True))


def search(
    store: ReadableStore,
    query: Query,
    k: int,
    candidates_per_retriever: int = CANDIDATES,
    ranker: Ranker | None = None,
) -> list[Hit]:
    """The `k` best passages for a query, best first, without overlapping duplicates."""
    if len(store) == 0:
        return []
    ranker = ranker or load_ranker()
    c = candidates(store, query, max(candidates_per_retriever, 4 * k))
    scores, signals = _ranked(store, c, query, ranker)
    return select(store, c, scores, k, signals)


def search_any(
    store: ReadableStore,
    readings: list[tuple[Query, np.ndarray | None]],
    k: int,
    weights: list[float] | None = None,
    candidates_per_retriever: int = CANDIDATES,
    ranker: Ranker | None = None,
) -> list[Hit]:
    """Like `search` for several readings of one question (a Query, and the vector its sentences are compared with).

    Each reading's scores are set against its best one, then averaged per passage with `weights`
    (default: equal; a reading that did not retrieve a passage gives it its lowest score), so a long
    contextual reading cannot drown the bare question. A passage's signals come from the bare
    question (the last reading) where it re-ranked the passage, else from the reading that scored it highest.
    """
    if len(store) == 0:
        return []
    ranker = ranker or load_ranker()
    weights = weights or [1.0 / len(readings)] * len(readings)
    per_reading = []
    for query, sentence_vector in readings:
        c = candidates(store, query, max(candidates_per_retriever, 4 * k), sentence_vector)
        scores, signals = _ranked(store, c, query, ranker)
        per_reading.append((c, scores - float(scores.max()) if len(scores) else scores, signals))
    total: dict[int, float] = {}
    best: dict[int, tuple[float, Candidates, int, np.ndarray | None]] = {}
    bare: dict[int, np.ndarray] = {}  # the signals the last reading (the bare question) gave, for the abstention
    for c, scores, signals in per_reading:
        bare = {int(c.ids[i]): row for i, row in signals.items()}
        for i, (p, score) in enumerate(zip(c.ids.tolist(), scores.tolist(), strict=True)):
            total.setdefault(p, 0.0)
            if p not in best or score > best[p][0]:
                best[p] = (score, c, i, signals.get(i))
    for (c, scores, _), weight in zip(per_reading, weights, strict=True):
        found = dict(zip(c.ids.tolist(), scores.tolist(), strict=True))
        floor = float(scores.min()) if len(scores) else 0.0
        for p in total:
            total[p] += weight * found.get(p, floor)
    ids = list(best)
    pick = [best[p] for p in ids]
    merged = Candidates(
        ids=np.array(ids, dtype=np.int64),
        dense=np.array([c.dense[i] for _, c, i, _ in pick], dtype=np.float32),
        sentence=np.array([c.sentence[i] for _, c, i, _ in pick], dtype=np.float32),
        keyword=np.array([c.keyword[i] for _, c, i, _ in pick], dtype=np.float32),
        coverage=np.array([c.coverage[i] for _, c, i, _ in pick], dtype=np.float32),
        dense_rank={p: c.dense_rank[p] for p, (_, c, _, _) in zip(ids, pick, strict=True) if p in c.dense_rank},
        keyword_rank={p: c.keyword_rank[p] for p, (_, c, _, _) in zip(ids, pick, strict=True) if p in c.keyword_rank},
        sentence_vector=per_reading[-1][0].sentence_vector,
    )
    signals = {j: bare[p] if p in bare else s for j, (p, (_, _, _, s)) in enumerate(zip(ids, pick, strict=True))}  # type: ignore[misc]  # None: no ranker signals
    signals = {j: s for j, s in signals.items() if s is not None}
    return select(store, merged, np.array([total[p] for p in ids], dtype=np.float32), k, signals)


def select(
    store: ReadableStore, c: Candidates, scores: np.ndarray, k: int, signals: dict[int, np.ndarray] | None = None
) -> list[Hit]:
    """Greedy pick of `k` passages: best score first, no overlap with one already taken, no text an article
    repeats. The same text in another article is kept beside them, not counted: the answer shows it once,
    "also in" that article."""
    rows = store.rows(c.ids)
    docs, starts, ends = rows["doc"].tolist(), rows["start"].tolist(), rows["end"].tolist()
    taken: dict[int, list[tuple[int, int]]] = {}
    seen_texts: set[tuple[int, str]] = set()
    texts: set[str] = set()
    hits: list[Hit] = []
    signals = signals or {}
    for best in np.argsort(-scores, kind="stable").tolist():
        p = int(c.ids[best])
        doc, start, end = docs[best], starts[best], ends[best]
        if any(start < e and s < end for s, e in taken.get(doc, [])):
            continue
        text = " ".join(store.text(p).split())
        if (doc, text) in seen_texts:
            continue
        if len(texts) == k and text not in texts:
            break  # k texts taken, and the copies of them that score alike and so come next
        taken.setdefault(doc, []).append((start, end))
        seen_texts.add((doc, text))
        texts.add(text)
        row = signals.get(best)
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
                tuple(float(x) for x in row) if row is not None else (),
            )
        )
    return hits


def fuse_documents(store: ReadableStore, c: Candidates) -> tuple[np.ndarray, np.ndarray]:
    """Document numbers in the pool and their fused scores: each signal of a document is its best passage's."""
    if not len(c):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    docs = np.asarray(store.rows(c.ids)["doc"], dtype=np.int64)
    numbers, inverse = np.unique(docs, return_inverse=True)
    signals = []
    for values in (c.dense, c.sentence, c.keyword, c.coverage):
        best = np.full(len(numbers), -np.inf, dtype=np.float32)
        np.maximum.at(best, inverse, values)
        signals.append(best)
    doc_c = replace(c, ids=numbers, dense=signals[0], sentence=signals[1], keyword=signals[2], coverage=signals[3])
    return numbers, fuse(doc_c)


def is_answered(hits: list[Hit], ranker: Ranker | None = None) -> bool:
    """Whether the best passage looks like an answer rather than the nearest unrelated text."""
    if not hits:
        return False
    return (ranker or load_ranker()).answered(hits)
