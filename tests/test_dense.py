"""The dense index: exact search for small corpora, a memory-mapped HNSW graph for large ones."""

from __future__ import annotations

import numpy as np
import pytest

from rag import dense
from rag.dense import ExactIndex, build_dense, load_dense


def unit(rows: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    """Clustered unit vectors, a stand-in for embeddings (random ones have no neighbours)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(1, rows // 50), dim))
    x = centres[rng.integers(0, len(centres), rows)] + 0.5 * rng.normal(size=(rows, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_exact_index_matches_faiss_flat():
    faiss = pytest.importorskip("faiss")
    x, q = unit(500), unit(7, seed=1)
    flat = faiss.IndexFlatIP(x.shape[1])
    flat.add(x)
    want_s, want_i = flat.search(q, 10)
    got_s, got_i = ExactIndex(x).search(q, 10)
    np.testing.assert_array_equal(got_i, want_i)
    np.testing.assert_allclose(got_s, want_s, rtol=1e-5)


def test_exact_index_pads_when_asked_for_more_than_it_holds():
    sims, ids = ExactIndex(unit(3)).search(unit(1, seed=2), 5)
    assert list(ids[0, 3:]) == [-1, -1] and sorted(ids[0, :3]) == [0, 1, 2]


def test_small_corpora_get_no_faiss_file(tmp_path):
    build_dense(tmp_path, unit(100))
    assert not (tmp_path / "dense.faiss").exists()
    assert isinstance(load_dense(tmp_path, unit(100)), ExactIndex)


def recall_at_10(index, x: np.ndarray, q: np.ndarray) -> float:
    _, want = ExactIndex(x).search(q, 10)
    _, got = index.search(q, 10)
    return np.mean([len(set(a) & set(b)) / 10 for a, b in zip(want, got, strict=True)])


def test_large_corpora_get_a_memory_mapped_hnsw_graph_with_high_recall(tmp_path, monkeypatch):
    monkeypatch.setattr(dense, "EXACT_LIMIT", 2000)
    x = unit(6000)
    build_dense(tmp_path, x)
    index = load_dense(tmp_path, x)
    assert index.ntotal == 6000 and index.hnsw.efSearch == dense.ef_search(6000)
    assert recall_at_10(index, x, unit(300, seed=5)) >= 0.99
