"""The FAISS index: exact for small corpora, IVF for large ones, re-used across updates."""

from __future__ import annotations

import numpy as np
import pytest

from rag import dense
from rag.dense import build_dense, exact_index, load_dense


def unit(rows: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    """Clustered unit vectors, a stand-in for embeddings (random ones have no neighbours)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(1, rows // 50), dim))
    x = centres[rng.integers(0, len(centres), rows)] + 0.5 * rng.normal(size=(rows, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_small_corpora_get_an_exact_faiss_index_on_disk(tmp_path):
    x, q = unit(100), unit(3, seed=1)
    build_dense(tmp_path, x)
    index = load_dense(tmp_path)
    assert (tmp_path / "dense.faiss").exists() and index.ntotal == 100
    sims, ids = index.search(q, 5)
    want = np.argsort(-(q @ x.T), axis=1)[:, :5]
    np.testing.assert_array_equal(ids, want)
    np.testing.assert_allclose(sims, np.take_along_axis(q @ x.T, want, axis=1), rtol=1e-5)


def recall_at_10(index, x: np.ndarray, q: np.ndarray) -> float:
    _, want = exact_index(x).search(q, 10)
    _, got = index.search(q, 10)
    return np.mean([len(set(a) & set(b)) / 10 for a, b in zip(want, got, strict=True)])


def test_large_corpora_get_a_memory_mapped_ivf_index_with_high_recall(tmp_path, monkeypatch):
    monkeypatch.setattr(dense, "EXACT_LIMIT", 2000)
    x = unit(6000)
    build_dense(tmp_path, x)
    index = load_dense(tmp_path)
    assert index.ntotal == 6000 and index.nprobe > 1
    assert recall_at_10(index, x, x[::30]) >= 0.99


def test_update_reuses_centroids_and_lists_of_kept_vectors(tmp_path, monkeypatch):
    monkeypatch.setattr(dense, "EXACT_LIMIT", 2000)
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir(), new.mkdir()
    x = unit(6000)
    build_dense(old, x)
    # drop the first 100 vectors, keep the rest, add 50 new ones
    y = np.concatenate([x[100:], unit(50, seed=3)])
    kept = np.concatenate([np.arange(100, 6000), np.full(50, -1)])
    monkeypatch.setattr(dense, "_train", lambda *a: pytest.fail("centroids should be re-used"))
    build_dense(new, y, old, kept)
    np.testing.assert_array_equal(np.load(new / "centroids.npy"), np.load(old / "centroids.npy"))
    np.testing.assert_array_equal(np.load(new / "lists.npy")[:5900], np.load(old / "lists.npy")[100:])
    index = load_dense(new)
    assert index.ntotal == len(y)
    assert recall_at_10(index, y, y[::30]) >= 0.99
