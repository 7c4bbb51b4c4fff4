"""One generation of the index in Milvus, read for search: a MilvusStore.

It answers what search asks of a store (see backends.py). Candidates come from
two Milvus searches, dense (inner product) and Milvus' BM25 over the terms of
our own tokenizer (pack.py), with the same k1 and b as the local index. The
rows they return (text, vector, sentence vectors) are kept, so fusion,
de-duplication and highlights read them without another round trip. BM25
scores are divided by k1 + 1, the factor Milvus' formula has and the local
index's (bm25s' "lucene" variant) has not, so both give the same numbers;
document frequencies for `idf` come from the terms collection, as of the
store's generation. Passages of documents the generation does not hold
(written by an update not yet, or no longer, live) are passed over.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...config import MilvusLocation
from ...errors import IndexStateError
from ..keyword import K1
from ..mentions import Vocabulary, fold
from ..schema import DocumentEntry, Manifest
from .client import milvus_errors
from .pack import bm25_query, milvus_term, unpack_sentences, unpack_spans
from .schema import DOC_SHIFT, MAX_TERM, WINDOW

__all__ = ["MilvusStore"]

ROW_FIELDS = ["start", "end", "text", "vector", "sentences", "spans"]
PASSAGE_DTYPE = np.dtype([("doc", "<i8"), ("start", "<i8"), ("end", "<i8")])  # as the FAISS store's, wider ids
CACHE_ROWS = 20_000  # passage rows kept between questions


@dataclass(frozen=True)
class _Row:
    doc: int
    start: int
    end: int
    text: str
    vector: np.ndarray
    sentences: np.ndarray  # float32, one row per sentence
    spans: np.ndarray  # (start, end) of each sentence within the passage


class MilvusStore:
    """One generation of the index in Milvus; see the module docstring."""

    def __init__(self, client, location: MilvusLocation, manifest: Manifest, header: dict) -> None:
        self.client = client
        self.location = location
        self.manifest = manifest
        self.generation = int(header["generation"])
        self.collection = str(header["collection"])
        self.terms = str(header["terms"])
        self._docs = {int(d["id"]): d for d in manifest.documents}
        self._rows: dict[int, _Row] = {}
        self._df: dict[str, int] = {}
        self._last_keyword: tuple[str, dict[int, float], bool] | None = None  # query, scores, all matches?

    def __len__(self) -> int:
        return self.manifest.passages

    # -- candidates ------------------------------------------------------------

    def dense_search(self, vector: np.ndarray, n: int, docs: list[int] | None = None) -> tuple[list[int], list[float]]:
        """Ids and cosines of the `n` passages nearest to `vector`, best first; only of documents `docs` if given."""
        params = {"metric_type": "IP"} if self.location.lite else {"metric_type": "IP", "params": {"ef": max(64, n)}}
        data = [np.asarray(vector, dtype=np.float32).tolist()]
        return self._search(data, "vector", n, params, where=_of(docs))[:2]

    def keyword_search(
        self, terms: Sequence[str], n: int, docs: list[int] | None = None
    ) -> tuple[list[int], list[float]]:
        """Ids and BM25 scores of the `n` best passages for `terms`, best first (none when no term matches);
        only of documents `docs` if given."""
        query = bm25_query(terms)
        params = {"metric_type": "BM25"}
        ids, scores, found = self._search([query], "sparse", n, params, where=_of(docs)) if query else ([], [], 0)
        # Milvus Lite reports BM25 as a negative distance, a server as a positive score.
        scores = [abs(s) / (K1 + 1) for s in scores]
        kept = [(i, s) for i, s in zip(ids, scores, strict=True) if s > 0]
        self._last_keyword = (query, dict(kept), found < n)
        return [i for i, _ in kept], [s for _, s in kept]

    def keyword_scores(self, terms: Sequence[str], ids: np.ndarray) -> np.ndarray:
        """BM25 score of each passage in `ids` for `terms` (0 where no term matches)."""
        query, last = bm25_query(terms), self._last_keyword
        known, complete = (last[1], last[2]) if last and last[0] == query else ({}, False)
        todo = [int(i) for i in ids if int(i) not in known]
        if todo and query and not complete:
            found, scores, _ = self._search(
                [query], "sparse", len(todo), {"metric_type": "BM25"}, where=f"id in {todo}", keep_rows=False
            )
            known = {**known, **{i: abs(s) / (K1 + 1) for i, s in zip(found, scores, strict=True)}}
        return np.array([known.get(int(i), 0.0) for i in ids], dtype=np.float32)

    def idf(self, terms: list[str]) -> dict[str, float]:
        """BM25 inverse document frequency of each term, as the local index computes it."""
        keys = {t: milvus_term(t) for t in terms}
        self._count_passages(list(keys.values()))
        n = len(self)
        out = {}
        for term, key in keys.items():
            df = self._df.get(key, 0) or 1  # a term no passage holds counts as seen once, as in the local index
            out[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return out

    def mentions(self, term: str) -> bool:
        """Whether any passage holds `term`, accents aside and a typo aside (mentions.py); near misses are
        looked for among the terms that begin with the same character."""
        key = milvus_term(term)
        plain = fold(key)
        self._count_passages([key, plain])
        if self._df.get(key) or self._df.get(plain):
            return True
        with milvus_errors(self.location):
            rows = self.client.query(
                self.terms, filter=f'term like "{plain[:1]}%"', output_fields=["df", "prev", "gen"], limit=WINDOW
            )
        held = [r["term"] for r in rows if self._live_count(r) > 0]
        return Vocabulary(held).mentions(plain)

    def _count_passages(self, keys: list[str]) -> None:
        """Fetch how many passages hold each of `keys` (Milvus terms) into self._df, where not known yet."""
        todo = sorted({k for k in keys if k not in self._df and len(k.encode()) <= MAX_TERM})
        if todo:
            with milvus_errors(self.location):
                rows = self.client.get(self.terms, ids=todo, output_fields=["df", "prev", "gen"])
            self._df.update({k: 0 for k in todo})
            self._df.update({r["term"]: self._live_count(r) for r in rows})

    def _live_count(self, row: dict) -> int:
        """A term row's passage count as this generation sees it: an update written after it keeps the old count."""
        return int(row["df"] if row["gen"] <= self.generation else row["prev"])

    def _search(self, data, field, limit, params, where="", keep_rows=True) -> tuple[list[int], list[float], int]:
        """Ids and scores of the hits this generation holds, and how many hits Milvus returned."""
        with milvus_errors(self.location):
            hits = self.client.search(
                self.collection,
                data=data,
                anns_field=field,
                limit=limit,
                search_params=params,
                filter=where,
                output_fields=ROW_FIELDS if keep_rows else ["start"],
            )[0]
        if keep_rows and len(self._rows) > CACHE_ROWS:
            self._rows.clear()
        ids, scores = [], []
        for hit in hits:
            i = int(hit["id"])
            if i >> DOC_SHIFT not in self._docs:
                continue  # written by an update that is not (or no longer) this generation
            if keep_rows:
                self._rows[i] = self._parse(i, hit["entity"])
            ids.append(i)
            scores.append(float(hit["distance"]))
        return ids, scores, len(hits)

    # -- rows ------------------------------------------------------------------

    def _parse(self, i: int, row: dict) -> _Row:
        dim = self.manifest.dim
        vector = np.asarray(row["vector"], dtype=np.float32)
        sentences, spans = unpack_sentences(row["sentences"], dim), unpack_spans(row["spans"])
        return _Row(i >> DOC_SHIFT, int(row["start"]), int(row["end"]), row["text"], vector, sentences, spans)

    def _get(self, ids) -> list[_Row]:
        ids = [int(i) for i in ids]
        missing = list(dict.fromkeys(i for i in ids if i not in self._rows))
        if missing:
            with milvus_errors(self.location):
                found = self.client.get(self.collection, ids=missing, output_fields=ROW_FIELDS)
            self._rows.update({int(r["id"]): self._parse(int(r["id"]), r) for r in found})
        try:
            return [self._rows[i] for i in ids]
        except KeyError:
            raise IndexStateError("the index was updated while answering", "ask again.") from None

    def text(self, i: int) -> str:
        return self._get([i])[0].text

    def document(self, i: int) -> DocumentEntry:
        """Metadata of the document that passage `i` belongs to."""
        return self._docs[int(i) >> DOC_SHIFT]

    def rows(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The (doc, start, end) record of each passage in `ids`, as `schema.PASSAGE_DTYPE`."""
        found = self._get(np.asarray(ids).tolist())
        return np.array([(r.doc, r.start, r.end) for r in found], dtype=PASSAGE_DTYPE)

    def passages_of(self, docs: list[int]) -> np.ndarray | None:
        """None: Milvus filters by document inside its searches (`dense_search(docs=...)`)."""
        return None

    def doc(self, number: int) -> DocumentEntry:
        """Metadata of the document that `rows(...)["doc"]` names."""
        return self._docs[number]

    def opening(self, doc: DocumentEntry, n: int) -> list[int]:
        """Ids of the first `n` passages of `doc` (a manifest entry), in the order of its text."""
        return [int(doc["id"]) << DOC_SHIFT | i for i in range(min(n, int(doc["count"])))]

    def vector_rows(self, ids: np.ndarray) -> np.ndarray:
        return np.stack([r.vector for r in self._get(ids)]) if len(ids) else np.zeros((0, self.manifest.dim))

    def sentence_block(self, passages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sentence vectors of `passages`, back to back, and how many rows each passage has."""
        rows = self._get(passages)
        return np.concatenate([r.sentences for r in rows]), np.array([len(r.sentences) for r in rows])

    def sentences(self, passage: int) -> tuple[np.ndarray, np.ndarray]:
        """Sentence vectors of one passage, in order, and each sentence's (start, end) in the passage."""
        row = self._get([passage])[0]
        return row.sentences, row.spans


def _of(docs: list[int] | None) -> str:
    """Milvus' filter for the passages of some documents ("" for all): their ids' high bits are the document."""
    return "" if docs is None else f"doc in {sorted(int(d) for d in docs)}"
