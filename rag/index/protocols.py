"""The two interfaces the index is used through, declared: a loaded store, and the backend that keeps it.

    backend = open_backend(settings)   # a Backend: the FAISS folder (faiss/) or Milvus (milvus/)
    store = backend.load()             # a ReadableStore: what search and answers read
    search(store, vector, question, k)

Both are structural: `faiss.reader.Store` and `milvus.MilvusStore` are ReadableStores,
`backends.FaissBackend` and `milvus.MilvusBackend` Backends, without deriving from
these protocols. Fusion, de-duplication and answers are shared code, so both
backends answer alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np

from ..config import Settings
from .schema import DocumentEntry, IndexChange, Manifest

__all__ = ["ReadableStore", "Backend"]


@runtime_checkable
class ReadableStore(Protocol):
    """One loaded, read-only generation of the index; passages are numbered by id."""

    manifest: Manifest

    def __len__(self) -> int: ...

    def rows(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The (doc, start, end) record of each passage in `ids`, a `schema.PASSAGE_DTYPE` array."""
        ...

    def passages_of(self, docs: list[int]) -> np.ndarray | None:
        """Ids of the passages of documents `docs`; None where searches filter by document instead."""
        ...

    def dense_search(self, vector: np.ndarray, n: int) -> tuple[list[int], list[float]]:
        """Ids and cosines of the `n` passages nearest to `vector`, best first."""
        ...

    def keyword_search(self, terms: Sequence[str], n: int) -> tuple[list[int], list[float]]:
        """Ids and BM25 scores of the `n` best passages for a question's `terms` (keyword.tokenize), best first
        (none when no term matches)."""
        ...

    def keyword_scores(self, terms: Sequence[str], ids: np.ndarray) -> np.ndarray:
        """BM25 score of each passage in `ids` for `terms` (0 where no term matches)."""
        ...

    def idf(self, terms: list[str]) -> dict[str, float]: ...

    def mentions(self, term: str) -> bool:
        """Whether any passage holds `term` (keyword.tokenize's), accents aside and a typo aside (mentions.py)."""
        ...

    def vector_rows(self, ids: np.ndarray) -> np.ndarray:
        """The passage vectors of `ids`, float32, one row each."""
        ...

    def sentence_block(self, passages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sentence vectors of `passages`, back to back, and how many rows each passage has."""
        ...

    def sentences(self, passage: int) -> tuple[np.ndarray, np.ndarray]:
        """Sentence vectors of one passage, in order, and each sentence's (start, end) in the passage."""
        ...

    def text(self, i: int) -> str: ...

    def document(self, i: int) -> DocumentEntry:
        """Metadata of the document that passage `i` belongs to."""
        ...

    def doc(self, number: int) -> DocumentEntry:
        """Metadata of the document that `rows(...)["doc"]` names."""
        ...

    def opening(self, doc: DocumentEntry, n: int) -> list[int]:
        """Ids of the first `n` passages of `doc` (a manifest entry), in the order of its text."""
        ...


S = TypeVar("S", bound=ReadableStore)  # the store a backend loads, and is handed back


@runtime_checkable
class Backend(Protocol[S]):
    """Where the index lives; an update is worked out by the indexer and applied by `write`, under `lock_dir`.

    Its stores come back to it (`is_live`, `verify`, `write`), so each backend may read its own kind's parts.
    """

    lock_dir: Path

    def read_manifest(self) -> Manifest | None:
        """The live manifest, or None when there is no index yet."""
        ...

    def load(self) -> S | None:
        """A read-only store of the live generation, or None when there is no index yet."""
        ...

    def is_live(self, store: S) -> bool:
        """False once an update has replaced what `store` (one this backend loaded) shows."""
        ...

    def verify(self, store: S) -> None:
        """Check all of a generation this backend loaded before an update builds on it."""
        ...

    def write(self, settings: Settings, old: S | None, change: IndexChange) -> Manifest:
        """Apply `change` on top of `old` (a store this backend loaded, or None for a rebuild); the new manifest."""
        ...

    def tidy(self) -> None:
        """Drop what an interrupted or finished update left behind."""
        ...

    def read_skipped(self) -> list[dict]:
        """Articles the last update could not index (a hint that saves reading them again)."""
        ...

    def write_skipped(self, skipped: list[dict]) -> None: ...
