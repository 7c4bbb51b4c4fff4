"""Both backends and their stores have the interfaces declared in protocols.py.

The test runs against Milvus too (test_milvus.py). mypy checks the same
statically, method by method: `_declared` fails to type-check when a backend
or its store leaves the interface.

    mypy --check-untyped-defs --ignore-missing-imports --follow-imports=silent tests/test_protocols.py
"""

from __future__ import annotations

import pytest

from rag.index.backends import FaissBackend, open_backend
from rag.index.faiss.reader import Store
from rag.index.keyword import tokenize
from rag.index.milvus import MilvusBackend, MilvusStore
from rag.index.protocols import Backend, ReadableStore


def _declared(faiss: FaissBackend, milvus: MilvusBackend) -> tuple[Backend[Store], Backend[MilvusStore]]:
    """Never called: for mypy only (each store must be a ReadableStore, each backend a Backend of its store)."""
    return faiss, milvus


@pytest.mark.both_stores
def test_the_backend_and_its_store_have_the_declared_interfaces(engine, settings):
    engine.update()
    backend = open_backend(settings)
    store = backend.load()
    assert isinstance(backend, Backend) and isinstance(store, ReadableStore)
    assert backend.is_live(store) and len(store) == store.manifest.passages > 0
    ids, _ = store.keyword_search(tokenize("Rust Linux kernel"), 3)
    rows = store.rows(ids)
    assert len(rows) == len(ids) and store.doc(int(rows[0]["doc"])) == store.document(ids[0])
