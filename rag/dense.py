"""Vectors -> the dense index, its type chosen by corpus size.

Below EXACT_LIMIT passages, search is exact: one matrix-vector product over
the memory-mapped vectors, without FAISS, so a small index opens at once
and an update has no dense index to build.

From EXACT_LIMIT up, an HNSW graph (FAISS IndexHNSWFlat, inner product),
opened memory-mapped (IO_FLAG_MMAP_IFC), so opening it does not grow with
the corpus. Its `efSearch` gives recall@10 >= 0.99 against exact search on
questions that are far from every passage, as real questions are (measured
by benchmarks/scale.py). IVF was measured too: it needed a third of its
lists probed for that recall, 20x slower per question than HNSW.

The graph is built again on every update: seconds at 50,000 passages,
minutes at a million (see benchmarks/README.md).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np

__all__ = ["EXACT_LIMIT", "ExactIndex", "build_dense", "load_dense", "ef_search"]

log = logging.getLogger(__name__)

EXACT_LIMIT = 50_000
HNSW_M = 32  # neighbours per node
EF_CONSTRUCTION = 80  # breadth of the search that links each new node: a better graph, a slower build


class ExactIndex:
    """Inner-product search over all vectors; the same answers as faiss.IndexFlatIP."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors
        self.ntotal = len(vectors)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, ids), each (len(queries), k), best first; ids are -1 past the end."""
        queries = np.asarray(queries, dtype=np.float32).reshape(-1, self.vectors.shape[1])
        sims = queries @ np.asarray(self.vectors).T
        k_real = min(k, self.ntotal)
        out_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_i = np.full((len(queries), k), -1, dtype=np.int64)
        if k_real == 0:
            return out_s, out_i
        top = np.argpartition(-sims, k_real - 1, axis=1)[:, :k_real]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable")
        out_i[:, :k_real] = np.take_along_axis(top, order, axis=1)
        out_s[:, :k_real] = np.take_along_axis(sims, out_i[:, :k_real], axis=1)
        return out_s, out_i


def ef_search(n: int) -> int:
    """Breadth of the graph search for `n` vectors: wider as the graph grows.

    >>> ef_search(50_000), ef_search(100_000), ef_search(1_000_000)
    (256, 256, 512)
    """
    return 256 if n <= 100_000 else 256 * 2 ** math.ceil(math.log10(n / 100_000))


def build_dense(folder: Path, vectors: np.ndarray) -> None:
    """Write the dense index for `vectors` into `folder` (nothing to write below EXACT_LIMIT)."""
    n = len(vectors)
    if n < EXACT_LIMIT:
        return
    import faiss

    index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    index.hnsw.efSearch = ef_search(n)
    for at in range(0, n, 100_000):
        index.add(np.ascontiguousarray(vectors[at : at + 100_000], dtype=np.float32))
    faiss.write_index(index, str(folder / "dense.faiss"))
    info = {"kind": "hnsw", "M": HNSW_M, "efConstruction": EF_CONSTRUCTION, "efSearch": index.hnsw.efSearch}
    (folder / "dense.json").write_text(json.dumps(info))


def load_dense(folder: Path, vectors: np.ndarray):
    """The dense index of a generation: ExactIndex, or the HNSW graph, memory-mapped."""
    if not (folder / "dense.faiss").exists():
        return ExactIndex(vectors)
    import faiss

    return faiss.read_index(str(folder / "dense.faiss"), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
