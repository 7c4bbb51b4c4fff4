"""The FAISS index: exact for small corpora, a memory-mapped HNSW graph for large ones."""

from __future__ import annotations

import numpy as np

from rag.index.faiss import dense
from rag.index.faiss.dense import build_dense, exact_index, load_dense


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


def test_large_corpora_get_a_memory_mapped_hnsw_graph_with_high_recall(tmp_path, monkeypatch):
    monkeypatch.setattr(dense, "EXACT_LIMIT", 2000)
    x = unit(6000)
    build_dense(tmp_path, x)
    index = load_dense(tmp_path)
    assert index.ntotal == 6000 and index.hnsw.efSearch == dense.ef_search(6000)
    assert recall_at_10(index, x, unit(300, seed=5)) >= 0.99


def test_a_large_corpus_is_built_a_shard_at_a_time_and_searched_as_one(tmp_path, monkeypatch):
    monkeypatch.setattr(dense, "EXACT_LIMIT", 2000)
    monkeypatch.setattr(dense, "SHARD", 2500)
    x = unit(6000)
    build_dense(tmp_path, x)
    assert sorted(p.name for p in tmp_path.glob("*.faiss")) == ["dense.1.faiss", "dense.2.faiss", "dense.faiss"]
    index = load_dense(tmp_path)
    assert index.ntotal == 6000 and index.d == x.shape[1]
    q = unit(300, seed=5)
    assert recall_at_10(index, x, q) >= 0.99
    sims, ids = index.search(q, 10)  # ids run across the shards, each with its own similarity
    assert ids.max() >= 4000 and ids.min() < 2000
    np.testing.assert_allclose(sims, np.einsum("qd,qkd->qk", q, x[ids]), rtol=1e-4, atol=1e-5)
    assert (np.diff(sims, axis=1) <= 1e-6).all()
