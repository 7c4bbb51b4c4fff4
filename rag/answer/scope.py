"""Asking within chosen articles: path globs -> the articles they name -> a store offering only their passages.

    store = within(engine.store(), ["reports/2025/*", "manual.pdf"])
    search(store, query, k)      # candidates come from those articles only

A pattern is matched against each article's path in the corpus (`reports/q1.pdf`), against its file name
when the pattern holds no "/", and names a whole sub-folder when it is one (`reports` or `reports/`).
The FAISS folder's passages are filtered here: a small selection is searched exactly, passage by passage,
so that it still gives every candidate it holds; a large one through the FAISS index, searched deeper until
enough of its passages come. Milvus filters by document itself (`doc in [...]`), so it needs no more.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

import numpy as np

from ..errors import InputError

__all__ = ["Within", "within", "within_source", "matching_documents", "EXACT_PASSAGES"]

EXACT_PASSAGES = 20_000  # a selection this small is searched passage by passage (30 MB of 384-d vectors at most)


def matching_documents(documents: Sequence[dict], patterns: Sequence[str]) -> list[int]:
    """Positions in `documents` of the articles any of `patterns` names.

    >>> docs = [{"source": "a.txt"}, {"source": "reports/q1.pdf"}, {"source": "reports/old/q4.pdf"}]
    >>> matching_documents(docs, ["reports"]), matching_documents(docs, ["q1.pdf"]), matching_documents(docs, ["*.txt"])
    ([1, 2], [1], [0])
    """
    out = []
    for position, doc in enumerate(documents):
        source = str(doc["source"])
        name = source.rsplit("/", 1)[-1]
        for pattern in patterns:
            pattern = pattern.strip().strip("/").replace("\\", "/")
            if pattern.startswith("./"):
                pattern = pattern[2:]
            if (
                fnmatch.fnmatchcase(source, pattern)
                or source.startswith(pattern + "/")
                or fnmatch.fnmatchcase(source, pattern + "/*")
                or ("/" not in pattern and fnmatch.fnmatchcase(name, pattern))
            ):
                out.append(position)
                break
    return out


def within(store, patterns: Sequence[str]) -> Within:
    """`store` limited to the articles `patterns` name; refuses a selection that names none."""
    patterns = [p for p in patterns if p and p.strip()]
    documents = store.manifest.documents
    chosen = matching_documents(documents, patterns)
    if not chosen:
        named = ", ".join(f"“{p}”" for p in patterns) or "nothing"
        raise InputError(
            f"no article matches {named}; choose articles by their path in the corpus, e.g. “reports/*” or “*.pdf”."
        )
    return _of_documents(store, chosen)


def within_source(store, source: str) -> Within | None:
    """`store` limited to the article whose path is `source` exactly; None when it holds no such article.

    `store` may itself be limited to chosen articles: the result is then limited to that one of them.
    """
    if isinstance(store, Within):
        return within_source(store.whole, source) if source in store.sources else None
    chosen = [i for i, doc in enumerate(store.manifest.documents) if str(doc["source"]) == source]
    return _of_documents(store, chosen) if chosen else None


def _of_documents(store, chosen: list[int]) -> Within:
    documents = store.manifest.documents
    numbers = [int(documents[i].get("id", i)) for i in chosen]  # Milvus numbers documents by id, FAISS by place
    count = sum(int(documents[i]["count"]) for i in chosen)
    return Within(store, numbers, count, [documents[i] for i in chosen])


class Within:
    """A store that offers only the passages of some documents; everything else is read from `store`."""

    def __init__(self, store, numbers: list[int], count: int, documents: list[dict]) -> None:
        self._store = store
        self.numbers = numbers
        self.documents = documents  # the manifest's entries of the chosen articles
        self.sources = [str(d["source"]) for d in documents]
        self._count = count
        # The FAISS store finds the chosen passages in memory; Milvus is asked to filter by document instead.
        self._ids = store.passages_of(numbers)
        if self._ids is not None:
            self._count = len(self._ids)

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    @property
    def whole(self):
        """The store this one limits."""
        return self._store

    def __len__(self) -> int:
        return self._count

    def dense_search(self, vector: np.ndarray, n: int) -> tuple[list[int], list[float]]:
        """Ids and cosines of the `n` chosen passages nearest to `vector`, best first."""
        if self._ids is None:
            return self._store.dense_search(vector, n, docs=self.numbers)
        if len(self._ids) <= EXACT_PASSAGES:
            sims = self._store.vector_rows(self._ids) @ np.asarray(vector, dtype=np.float32).reshape(-1)
            return _top(self._ids, sims, n)
        return self._deeper(vector, n)

    def _deeper(self, vector: np.ndarray, n: int) -> tuple[list[int], list[float]]:
        """The FAISS index searched deeper and deeper until `n` of the chosen passages come (or all have)."""
        assert self._ids is not None  # the FAISS store's passages are in memory
        total = len(self._store)
        allowed = np.zeros(total, dtype=bool)
        allowed[self._ids] = True
        depth = min(total, 2 * n * -(-total // len(self._ids)))  # twice what an even spread would need
        while True:
            ids, sims = self._store.dense_search(vector, depth)
            kept = [(i, s) for i, s in zip(ids, sims, strict=True) if allowed[i]]
            if len(kept) >= n or depth >= total:
                return [i for i, _ in kept[:n]], [s for _, s in kept[:n]]
            depth = min(total, depth * 4)

    def keyword_search(self, terms: Sequence[str], n: int) -> tuple[list[int], list[float]]:
        """Ids and BM25 scores of the `n` best chosen passages for `terms`, best first."""
        if self._ids is None:
            return self._store.keyword_search(terms, n, docs=self.numbers)
        scores = self._store.keyword_scores(terms, self._ids)
        ids, found = _top(self._ids, scores, n)
        return [i for i, s in zip(ids, found, strict=True) if s > 0], [s for s in found if s > 0]


def _top(ids: np.ndarray, scores: np.ndarray, n: int) -> tuple[list[int], list[float]]:
    """The `n` highest `scores` and their `ids`, best first (ties in id order)."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[:n]
    return ids[order].tolist(), [float(s) for s in np.asarray(scores)[order]]
