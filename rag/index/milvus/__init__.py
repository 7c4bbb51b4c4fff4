"""The index in Milvus (a server, a cluster, or Milvus Lite in a local file) instead of the FAISS folder.

    schema.py   the collections, their fields and limits, and making them
    pack.py     a passage's fields as Milvus keeps them (terms, sentence vectors, spans)
    client.py   one client per Milvus and process; Milvus failures in words
    meta.py     the manifest collection: the live generation and its documents
    store.py    MilvusStore: one generation, read for search
    write.py    updates, only for what changed, with one commit point
    backend.py  MilvusBackend: the backend interface (backends.py) over the above

Each imports only those above it in this list.
"""

from __future__ import annotations

from .backend import MilvusBackend
from .client import milvus_errors
from .pack import bm25_terms, milvus_term, pack_sentences, pack_spans
from .store import MilvusStore

__all__ = ["MilvusBackend", "MilvusStore", "bm25_terms", "milvus_term", "milvus_errors", "pack_sentences", "pack_spans"]
