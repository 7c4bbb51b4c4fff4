"""Vectors -> the FAISS index on disk, its type chosen by corpus size.

Below EXACT_LIMIT passages, an exact index (IndexFlatIP): every vector is
compared, which at that size takes a few milliseconds.

From EXACT_LIMIT up, an HNSW graph (IndexHNSWFlat, inner product). Its
`efSearch` gives recall@10 >= 0.99 against exact search on questions that
are far from every passage, as real questions are (measured by
benchmarks/scale.py). IVF was measured too: it needed a third of its lists
probed for that recall, many times slower per question than HNSW.

Both are opened memory-mapped, so opening one does not grow with the
corpus. The graph is built again on every update: seconds at 50,000
passages, minutes at a million (see benchmarks/README.md).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from ..staging import Rows

__all__ = ["EXACT_LIMIT", "build_dense", "load_dense", "exact_index", "ef_search"]

log = logging.getLogger(__name__)

EXACT_LIMIT = 50_000
HNSW_M = 32  # neighbours per node
EF_CONSTRUCTION = 80  # breadth of the search that links each new node: a better graph, a slower build
CHUNK = 100_000  # vectors handed to FAISS at a time, so a float32 copy of a memory-mapped file stays small


def ef_search(n: int) -> int:
    """Breadth of the graph search for `n` vectors: the narrowest measured to give recall@10 >= 0.99.

    >>> ef_search(50_000), ef_search(100_000), ef_search(1_000_000), ef_search(5_000_000)
    (128, 128, 512, 1024)
    """
    return 128 if n <= 100_000 else 512 if n <= 1_000_000 else 1024


def build_dense(folder: Path, vectors: Rows) -> None:
    """Write the FAISS index for `vectors` into `folder`/dense.faiss, and what kind it is into dense.json."""
    import faiss

    n = len(vectors)
    if n < EXACT_LIMIT:
        faiss.write_index(exact_index(vectors), str(folder / "dense.faiss"))
        (folder / "dense.json").write_text(json.dumps({"kind": "flat"}))
        return
    index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    index.hnsw.efSearch = ef_search(n)
    for at in range(0, n, CHUNK):
        index.add(np.ascontiguousarray(vectors[at : at + CHUNK], dtype=np.float32))
    faiss.write_index(index, str(folder / "dense.faiss"))
    info = {"kind": "hnsw", "M": HNSW_M, "efConstruction": EF_CONSTRUCTION, "efSearch": index.hnsw.efSearch}
    (folder / "dense.json").write_text(json.dumps(info))


def exact_index(vectors: Rows):
    """An exact inner-product FAISS index holding `vectors` (also the reference for recall)."""
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    for at in range(0, len(vectors), CHUNK):
        index.add(np.ascontiguousarray(vectors[at : at + CHUNK], dtype=np.float32))
    return index


def load_dense(folder: Path):
    """The FAISS index of a generation, memory-mapped (the graph's links too)."""
    import faiss

    index = faiss.read_index(str(folder / "dense.faiss"), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
    if hasattr(index, "hnsw"):  # the breadth in force, not the one of the version that wrote the file
        index.hnsw.efSearch = ef_search(index.ntotal)
    return index
