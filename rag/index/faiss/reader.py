"""The index on disk: one folder per generation, switched atomically.

    index/
      CURRENT            name of the live generation (replaced atomically)
      gen-<id>/
        manifest.json    format version, model, chunking, documents
        passages.npy     (doc, start, end) per passage
        texts.bin        passage texts, UTF-8, back to back
        offsets.npy      byte offsets of each text in texts.bin (N + 1)
        vectors.npy      float32 embeddings, unit length (N x dim)
        dense.faiss      FAISS index over the vectors: exact, or an HNSW graph for large corpora (see dense.py)
        sentence_vectors.npy  int8 embedding of each sentence of each passage, x 127 (S x dim)
        sentence_offsets.npy  first sentence row of each passage (N + 1)
        sentence_spans.npy    (start, end) of each sentence row within its passage (S x 2)
        keyword/         BM25 index over the passage texts (see ../keyword.py)
      skipped.json       articles that could not be indexed, and why

Everything is memory-mapped when a generation is opened, so opening one
costs about the same for a hundred passages as for a million.

A new generation is written beside the live one and only then named in
CURRENT, so a reader sees the old index or the new one, never half of one.
The manifest records the size and checksum of every other file, checked on
load (see integrity.py; CURRENT and the folders in generations.py, the writer
in writer.py); a reader opens every file of a generation while loading it,
so a writer deleting that generation afterwards does no harm.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...errors import IndexStateError
from ..quantize import dequantize
from ..retry import attempts
from ..schema import DocumentEntry, Manifest
from .generations import live_generation, read_live
from .integrity import verify

__all__ = ["Store"]

log = logging.getLogger(__name__)


class Store:
    """A loaded, read-only generation of the index."""

    def __init__(self, path: Path, manifest: Manifest) -> None:
        from ..keyword import KeywordIndex
        from .dense import load_dense

        self.path = path
        self.manifest = manifest
        self._last_keyword: tuple[tuple[str, ...], np.ndarray | None] | None = None
        try:
            verify(path, manifest.files)
            self.passages = _mapped(path / "passages.npy")
            self.offsets = _mapped(path / "offsets.npy")
            self._texts = (
                np.memmap(path / "texts.bin", dtype=np.uint8, mode="r").view(np.ndarray) if self.offsets[-1] else None
            )
            self._vectors = _mapped(path / "vectors.npy")
            self.dense = load_dense(path)
            # Opened now, not on first use: a loaded generation keeps answering after a writer deletes it.
            self._sentences = _mapped(path / "sentence_vectors.npy")
            self._sentence_offsets = _mapped(path / "sentence_offsets.npy")
            self._sentence_spans = _mapped(path / "sentence_spans.npy")
            self.keyword = KeywordIndex.load(path / "keyword")
        except IndexStateError:
            raise
        except Exception as exc:  # numpy, faiss and the keyword index each fail differently on a damaged file
            problem = f"index {str(path.parent)!r} is damaged ({exc.__class__.__name__}: {exc})"
            raise IndexStateError(problem[:300]) from None
        self._check_shapes()

    def _check_shapes(self) -> None:
        """Counts and sizes that must agree; cheap, so every load makes them."""
        n, dim = self.manifest.passages, self.manifest.dim
        texts = 0 if self._texts is None else len(self._texts)
        checks = {
            "passages.npy": len(self.passages) == n,
            "offsets.npy": len(self.offsets) == n + 1 and int(self.offsets[-1]) == texts,
            "vectors.npy": self._vectors.shape == (n, dim),
            "dense index": self.dense.ntotal == n and getattr(self.dense, "d", dim) == dim,
            "keyword index": len(self.keyword) == n,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            where = self.path.parent
            raise IndexStateError(f"index {str(where)!r} is inconsistent ({', '.join(bad)} do not match the manifest)")

    @classmethod
    def load(cls, index_dir: Path) -> Store | None:
        """The live generation, or None when no index has been written yet.

        A writer may replace the generation while we load it and then delete
        it; the load then fails on a missing file and is retried on the new one.
        """
        for _ in attempts(f"index {str(index_dir)!r}"):
            live = read_live(index_dir)
            if live is None:
                return None
            gen, manifest = live
            try:
                return cls(gen, manifest)
            except IndexStateError:
                if live_generation(index_dir) == gen:
                    raise
        raise AssertionError("attempts() raises when its tries run out")  # for the type checker

    def __len__(self) -> int:
        return self.manifest.passages

    def text(self, i: int) -> str:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return self._texts[a:b].tobytes().decode("utf-8") if self._texts is not None else ""

    def texts(self, first: int, count: int) -> list[str]:
        """Texts of passages first .. first + count - 1, read in one go."""
        if self._texts is None:
            return [""] * count
        bounds = self.offsets[first : first + count + 1].tolist()
        data = self._texts[bounds[0] : bounds[-1]].tobytes()
        return [data[a - bounds[0] : b - bounds[0]].decode("utf-8") for a, b in zip(bounds, bounds[1:], strict=False)]

    def document(self, i: int) -> DocumentEntry:
        """Metadata of the document that passage `i` belongs to."""
        return self.manifest.documents[int(self.passages[i]["doc"])]

    def vectors(self) -> np.ndarray:
        return self._vectors

    def sentence_vectors(self) -> np.ndarray:
        """Sentence vectors, int8 (see quantize.py); rows of passage i: sentence_offsets()[i:i + 2]."""
        return self._sentences

    def sentence_rows(self, rows: np.ndarray | slice) -> np.ndarray:
        """Sentence vectors as float32 (int8 keeps them small and quick to read: 0.1 ms for 500 rows)."""
        block = self._sentences[rows] if isinstance(rows, slice) else self._sentences.take(rows, axis=0)
        return dequantize(block)

    def sentence_codes(self, rows: slice) -> np.ndarray:
        """Sentence vectors as the index keeps them: int8 (quantize.py)."""
        return self._sentences[rows]

    def sentence_spans(self) -> np.ndarray:
        return self._sentence_spans

    def sentence_offsets(self) -> np.ndarray:
        return self._sentence_offsets

    # -- what search reads (the Milvus store answers the same calls; see protocols.py) --

    def doc(self, number: int) -> DocumentEntry:
        """Metadata of the document that `rows(...)["doc"]` names."""
        return self.manifest.documents[number]

    def rows(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The (doc, start, end) record of each passage in `ids`."""
        return self.passages[np.asarray(ids, dtype=np.int64)]

    def passages_of(self, docs: list[int]) -> np.ndarray | None:
        """Ids of the passages of documents `docs`, found in the passage rows held in memory."""
        return np.flatnonzero(np.isin(self.passages["doc"], docs))

    def opening(self, doc: DocumentEntry, n: int) -> list[int]:
        """Ids of the first `n` passages of `doc` (a manifest entry), in the order of its text."""
        return list(range(int(doc["first"]), int(doc["first"]) + min(n, int(doc["count"]))))

    def vector_rows(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(self._vectors.take(ids, axis=0), dtype=np.float32)

    def dense_search(self, vector: np.ndarray, n: int) -> tuple[list[int], list[float]]:
        """Ids and cosines of the `n` passages nearest to `vector`, best first."""
        sims, ids = self.dense.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), n)
        found = ids[0] >= 0
        return ids[0][found].tolist(), sims[0][found].tolist()

    def keyword_search(self, terms: Sequence[str], n: int) -> tuple[list[int], list[float]]:
        """Ids and BM25 scores of the `n` best passages for `terms`, best first (none when no term matches)."""
        negated = self._negated_keyword_scores(terms)
        if negated is None:
            return [], []
        top = np.argpartition(negated, min(n, len(negated)) - 1)[:n]
        top = top[np.argsort(negated[top], kind="stable")]
        top = top[negated[top] < 0]  # only passages holding a term
        return top.tolist(), np.negative(negated[top]).tolist()

    def keyword_scores(self, terms: Sequence[str], ids: np.ndarray) -> np.ndarray:
        """BM25 score of each passage in `ids` for `terms` (0 where no term matches)."""
        negated = self._negated_keyword_scores(terms)
        return np.zeros(len(ids), dtype=np.float32) if negated is None else np.negative(negated[ids])

    def _negated_keyword_scores(self, terms: Sequence[str]) -> np.ndarray | None:
        """Minus the BM25 score of every passage (None: no term matches), kept for the calls after the search."""
        key, last = tuple(terms), self._last_keyword
        if last is None or last[0] != key:
            last = self._last_keyword = (key, self.keyword.negated_scores(list(key)))
        return last[1]

    def idf(self, terms: list[str]) -> dict[str, float]:
        return self.keyword.idf(terms)

    def mentions(self, term: str) -> bool:
        return self.keyword.mentions(term)

    def sentence_block(self, passages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sentence vectors of `passages`, back to back, and how many rows each passage has."""
        offsets = self._sentence_offsets
        starts, lengths = offsets[passages], offsets[passages + 1] - offsets[passages]
        firsts = np.cumsum(lengths) - lengths  # where each passage's rows begin in the gathered block
        rows = np.arange(int(lengths.sum())) + np.repeat(starts - firsts, lengths)
        return self.sentence_rows(rows), lengths

    def sentences(self, passage: int) -> tuple[np.ndarray, np.ndarray]:
        """Sentence vectors of one passage, in order, and each sentence's (start, end) in the passage."""
        a, b = self._sentence_offsets[passage], self._sentence_offsets[passage + 1]
        return self.sentence_rows(slice(a, b)), self._sentence_spans[a:b]


def _mapped(path: Path) -> np.ndarray:
    """A .npy file memory-mapped, as a plain ndarray (a numpy memmap makes every small read slow)."""
    return np.load(path, mmap_mode="r").view(np.ndarray)
