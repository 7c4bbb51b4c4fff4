"""Vectors -> the dense index, its type chosen by corpus size.

Below EXACT_LIMIT passages, search is exact: one matrix-vector product over
the memory-mapped vectors, without FAISS, so a small index opens at once.
From EXACT_LIMIT up, an IVF index (FAISS IndexIVFFlat, inner product) whose
inverted lists are memory-mapped, so opening it does not grow with the
corpus. Its number of lists grows as sqrt(N) and `nprobe` is set for
recall@10 >= 0.99 against exact search (measured by benchmarks/scale.py).

An update re-uses the previous generation's centroids and the list of every
passage it keeps, so only new passages are assigned; the centroids are
trained again when the corpus has grown or shrunk fourfold since.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np

__all__ = ["EXACT_LIMIT", "ExactIndex", "build_dense", "load_dense", "ivf_shape"]

log = logging.getLogger(__name__)

EXACT_LIMIT = 50_000
TRAIN_PER_LIST = 64  # k-means sample: this many vectors per list (FAISS needs at least 39)
RETRAIN_FACTOR = 4.0


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


def ivf_shape(n: int) -> tuple[int, int]:
    """(lists, nprobe) for `n` vectors.

    >>> ivf_shape(100_000), ivf_shape(1_000_000)
    ((316, 24), (1000, 48))
    """
    nlist = max(64, round(math.sqrt(n)))
    return nlist, max(8, round(1.5 * math.sqrt(nlist)))


def build_dense(
    folder: Path, vectors: np.ndarray, previous: Path | None = None, kept: np.ndarray | None = None
) -> None:
    """Write the dense index for `vectors` into `folder` (nothing to write below EXACT_LIMIT).

    `previous` is the folder of the generation being replaced; `kept[i] >= 0`
    says that vector i is vector kept[i] there, so its list is known.
    """
    n = len(vectors)
    if n < EXACT_LIMIT:
        return
    import faiss

    centroids, lists = _reusable(previous, n)
    if centroids is None:
        centroids, kept = _train(vectors, ivf_shape(n)[0]), None
    nlist = len(centroids)
    nprobe = ivf_shape(nlist**2)[1]
    quantizer = faiss.IndexFlatIP(vectors.shape[1])
    quantizer.add(centroids)
    assign = np.full(n, -1, dtype=np.int64)
    if kept is not None and lists is not None:
        known = kept >= 0
        assign[known] = lists[kept[known]]
    todo = np.flatnonzero(assign < 0)
    for at in range(0, len(todo), 65536):
        rows = todo[at : at + 65536]
        assign[rows] = quantizer.search(np.ascontiguousarray(vectors[rows], dtype=np.float32), 1)[1][:, 0]
    index = faiss.IndexIVFFlat(quantizer, vectors.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    index.is_trained = True
    for at in range(0, n, 262144):
        x = np.ascontiguousarray(vectors[at : at + 262144], dtype=np.float32)
        a = np.ascontiguousarray(assign[at : at + 262144])
        index.add_core(len(x), faiss.swig_ptr(x), None, faiss.swig_ptr(a))
    index.nprobe = nprobe
    faiss.write_index(index, str(folder / "dense.faiss"))
    np.save(folder / "lists.npy", assign.astype(np.int32))
    np.save(folder / "centroids.npy", centroids)
    (folder / "dense.json").write_text(json.dumps({"kind": "ivf", "lists": nlist, "nprobe": nprobe, "trained_on": n}))


def load_dense(folder: Path, vectors: np.ndarray):
    """The dense index of a generation: ExactIndex, or the IVF index with its lists memory-mapped."""
    if not (folder / "dense.faiss").exists():
        return ExactIndex(vectors)
    import faiss

    return faiss.read_index(str(folder / "dense.faiss"), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)


def _reusable(previous: Path | None, n: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Centroids and lists of the previous generation, if they still suit `n` vectors."""
    if previous is None or not (previous / "dense.json").exists():
        return None, None
    try:
        info = json.loads((previous / "dense.json").read_text())
        trained_on = int(info["trained_on"])
        if not 1 / RETRAIN_FACTOR <= n / trained_on <= RETRAIN_FACTOR:
            return None, None
        return np.load(previous / "centroids.npy"), np.load(previous / "lists.npy", mmap_mode="r")
    except (OSError, ValueError, KeyError):
        log.warning("cannot re-use the previous dense index; training a new one")
        return None, None


def _train(vectors: np.ndarray, nlist: int) -> np.ndarray:
    """k-means centroids (spherical: the vectors are unit length) from a sample of the vectors."""
    import faiss

    rng = np.random.default_rng(0)
    size = min(len(vectors), nlist * TRAIN_PER_LIST)
    sample = np.ascontiguousarray(vectors[np.sort(rng.choice(len(vectors), size, replace=False))], dtype=np.float32)
    kmeans = faiss.Kmeans(
        vectors.shape[1], nlist, niter=10, spherical=True, seed=1, max_points_per_centroid=TRAIN_PER_LIST
    )
    kmeans.train(sample)
    return np.ascontiguousarray(kmeans.centroids, dtype=np.float32)
