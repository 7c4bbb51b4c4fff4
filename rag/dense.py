"""Vectors -> the FAISS index on disk, its type chosen by corpus size.

Below EXACT_LIMIT passages, an exact index (IndexFlatIP): every vector is
compared, which at that size takes a few milliseconds. From EXACT_LIMIT up,
an IVF index (IndexIVFFlat, inner product) whose number of lists grows as
sqrt(N), with `nprobe` set for recall@10 >= 0.99 against exact search
(measured by benchmarks/scale.py). Both are opened memory-mapped, so opening
one does not grow with the corpus.

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

__all__ = ["EXACT_LIMIT", "build_dense", "load_dense", "ivf_shape", "exact_index"]

log = logging.getLogger(__name__)

EXACT_LIMIT = 50_000
TRAIN_PER_LIST = 64  # k-means sample: this many vectors per list (FAISS needs at least 39)
RETRAIN_FACTOR = 4.0


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
    """Write the dense index for `vectors` into `folder`/dense.faiss.

    `previous` is the folder of the generation being replaced; `kept[i] >= 0`
    says that vector i is vector kept[i] there, so its IVF list is known.
    """
    import faiss

    n = len(vectors)
    if n < EXACT_LIMIT:
        faiss.write_index(exact_index(vectors), str(folder / "dense.faiss"))
        (folder / "dense.json").write_text(json.dumps({"kind": "flat"}))
        return

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


def exact_index(vectors: np.ndarray):
    """An exact inner-product FAISS index holding `vectors` (also the reference for recall)."""
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    for at in range(0, len(vectors), 262144):
        index.add(np.ascontiguousarray(vectors[at : at + 262144], dtype=np.float32))
    return index


def load_dense(folder: Path):
    """The FAISS index of a generation, memory-mapped."""
    import faiss

    return faiss.read_index(str(folder / "dense.faiss"), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)


def _reusable(previous: Path | None, n: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Centroids and lists of the previous generation, if they still suit `n` vectors."""
    if previous is None or not (previous / "centroids.npy").exists():
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
