"""Vectors -> the FAISS index on disk, its type chosen by corpus size.

Below EXACT_LIMIT passages, an exact index (IndexFlatIP): every vector is
compared, which at that size takes a few milliseconds.

From EXACT_LIMIT up, HNSW graphs (IndexHNSWFlat, inner product), one per
shard of at most SHARD passages, searched together (faiss.IndexShards).
A graph is built in memory with its vectors, so a shard at a time bounds
what building costs whatever the corpus's size (about 2 KB a passage,
200 MB a shard). Each graph's `efSearch` gives recall@10 >= 0.99 against
exact search on questions that are far from every passage, as real
questions are (measured by benchmarks/scale.py); the best ten overall are
among the best ten of each shard, so recall holds as shards are added. IVF was measured too: it needed a third
of its lists probed for that recall, many times slower per question than
HNSW.

All are opened memory-mapped, so opening one does not grow with the
corpus. The graphs are built again on every update: seconds at 50,000
passages, minutes at a million (see benchmarks/README.md).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from ..staging import Rows

__all__ = ["EXACT_LIMIT", "SHARD", "build_dense", "load_dense", "exact_index", "ef_search", "shard_bounds"]

log = logging.getLogger(__name__)

EXACT_LIMIT = 50_000
HNSW_M = 32  # neighbours per node
EF_CONSTRUCTION = 80  # breadth of the search that links each new node: a better graph, a slower build
SHARD = 100_000  # most passages in one graph
CHUNK = 8_192  # vectors handed to FAISS at a time: what is read from disk beside the index's own copy stays small


def ef_search(n: int) -> int:
    """Breadth of the graph search for `n` vectors: the narrowest measured to give recall@10 >= 0.99.

    >>> ef_search(50_000), ef_search(100_000), ef_search(1_000_000), ef_search(5_000_000)
    (128, 128, 512, 1024)
    """
    return 128 if n <= 100_000 else 512 if n <= 1_000_000 else 1024


def shard_bounds(n: int) -> list[tuple[int, int]]:
    """First and end row of each graph for `n` vectors: as few shards as SHARD allows, of even sizes.

    >>> shard_bounds(60_000), shard_bounds(250_000)
    ([(0, 60000)], [(0, 83334), (83334, 166668), (166668, 250000)])
    """
    count = -(-n // SHARD)
    size = -(-n // count)
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def shard_file(i: int) -> str:
    """File name of graph `i`: the first is dense.faiss, as the exact index's is."""
    return "dense.faiss" if i == 0 else f"dense.{i}.faiss"


def build_dense(folder: Path, vectors: Rows) -> None:
    """Write the FAISS index for `vectors` into `folder` (dense.faiss, and dense.N.faiss for further
    graphs), and what kind it is into dense.json."""
    import faiss

    n = len(vectors)
    if n < EXACT_LIMIT:
        faiss.write_index(exact_index(vectors), str(folder / "dense.faiss"))
        (folder / "dense.json").write_text(json.dumps({"kind": "flat"}))
        return
    bounds = shard_bounds(n)
    for i, (first, end) in enumerate(bounds):
        index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = EF_CONSTRUCTION
        _reserve(index, end - first)
        for at in range(first, end, CHUNK):
            index.add(np.ascontiguousarray(vectors[at : min(at + CHUNK, end)], dtype=np.float32))
        faiss.write_index(index, str(folder / shard_file(i)))
        del index
    info = {"kind": "hnsw", "M": HNSW_M, "efConstruction": EF_CONSTRUCTION, "shards": [b - a for a, b in bounds]}
    (folder / "dense.json").write_text(json.dumps(info))


def _reserve(index, n: int) -> None:
    """Room for `n` vectors and their links in a graph before they are added a chunk at a time.

    Each add grows the graph's arrays as a std::vector grows, to twice their size, copying: a shard's
    build peaked at 3.4 KB a vector, against 2.0 KB with the room made first (each array grown to its
    full size and back to none, which keeps the capacity). A node has 2M links on the ground level and
    M on each level above, which 1 in M nodes reach: about 2M + 2 in all.
    """
    import faiss

    try:
        storage = faiss.downcast_index(index.storage)  # an IndexFlat, whose codes are the float32 vectors' bytes
        for vector, size in (
            (storage.codes, n * index.d * 4),  # type: ignore[attr-defined]
            (index.hnsw.neighbors, n * (2 * HNSW_M + 2)),
        ):
            vector.resize(size)
            vector.resize(0)
    except AttributeError:  # a FAISS whose graph is laid out otherwise: it only costs memory
        pass


def exact_index(vectors: Rows):
    """An exact inner-product FAISS index holding `vectors` (also the reference for recall)."""
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    for at in range(0, len(vectors), CHUNK):
        index.add(np.ascontiguousarray(vectors[at : at + CHUNK], dtype=np.float32))
    return index


def load_dense(folder: Path):
    """The FAISS index of a generation, memory-mapped (the graphs' links too): one index, or the
    shards of dense.json searched as one, their ids following each other."""
    import faiss

    info = json.loads((folder / "dense.json").read_text())
    parts = []
    for i in range(len(info.get("shards", [0]))):
        index = faiss.read_index(str(folder / shard_file(i)), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
        if hasattr(index, "hnsw"):  # the breadth in force, not the one of the version that wrote the file
            index.hnsw.efSearch = ef_search(index.ntotal)
        parts.append(index)
    if len(parts) == 1:
        return parts[0]
    # not threaded (searched in turn); successive ids (shard i's follow shard i - 1's). The stubs know (d) only.
    shards = faiss.IndexShards(parts[0].d, False, True)  # type: ignore[call-arg]
    shards.metric_type = faiss.METRIC_INNER_PRODUCT
    for index in parts:
        shards.add_shard(index)
    return shards
