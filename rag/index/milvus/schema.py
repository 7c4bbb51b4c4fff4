"""The index's collections in Milvus, their fields and limits, and making them.

    <name>_meta              the manifest: a header row ("manifest"), the skipped articles
                             ("skipped") and one row per document
    <name>_passages_<gen>    one row per passage: id, doc, start, end, text, terms, vector
                             (dense, inner product), sparse (Milvus' BM25 over terms), and
                             the passage's sentence vectors and spans
    <name>_terms_<gen>       how many passages hold each term (for idf), per generation

Passage ids are `doc << DOC_SHIFT | n`, so every passage names its document;
a changed article gets a new document id (write.py).
"""

from __future__ import annotations

from typing import Any

from ..keyword import K1, B

__all__ = ["ensure_meta", "create_passages", "create_terms"]

DOC_SHIFT = 20  # passage id = doc << DOC_SHIFT | passage number within the document
BM25 = {"bm25_k1": K1, "bm25_b": B}  # as the local index
MAX_VARCHAR = 65535  # bytes, Milvus' limit for one VARCHAR value
BATCH = 1000  # rows per insert or delete request
WINDOW = 16384  # documents per manifest query (Milvus' largest query result)
MAX_TERM = 512  # bytes of the longest term with a document frequency of its own
HEADER, SKIPPED = "manifest", "skipped"  # keys of the manifest collection's two rows that are not documents


def ensure_meta(client, meta: str) -> None:
    """The manifest collection: a row per document, plus the header and the skipped articles."""
    from pymilvus import DataType

    if client.has_collection(meta):
        return
    key: tuple[Any, dict] = (DataType.VARCHAR, {"is_primary": True, "max_length": 64})
    number: tuple[Any, dict] = (DataType.INT64, {})
    fields = {"key": key, "doc": number, "added": number, "removed": number}
    _create_table(client, meta, fields | {"value": (DataType.VARCHAR, {"max_length": MAX_VARCHAR})})


def create_passages(client, name: str, dim: int, lite: bool) -> None:
    """Passages with a dense vector and Milvus' BM25 over `terms`: exact (FLAT) in Milvus Lite, HNSW on a server."""
    from pymilvus import DataType, Function, FunctionType

    if client.has_collection(name):
        client.drop_collection(name)  # left by a cut-short rebuild
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("doc", DataType.INT64)
    schema.add_field("start", DataType.INT64)
    schema.add_field("end", DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
    analyzer = {"tokenizer": "standard"}
    schema.add_field("terms", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True, analyzer_params=analyzer)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("sentences", DataType.VARCHAR, max_length=MAX_VARCHAR)  # int8 vectors, base64
    schema.add_field("spans", DataType.VARCHAR, max_length=MAX_VARCHAR)  # int32 (start, end) pairs, base64
    schema.add_function(Function("bm25", FunctionType.BM25, input_field_names=["terms"], output_field_names=["sparse"]))
    index = client.prepare_index_params()
    if lite:
        index.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    else:
        hnsw = {"M": 16, "efConstruction": 200}
        index.add_index(field_name="vector", index_type="HNSW", metric_type="IP", params=hnsw)
    index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25)
    _create(client, name, schema, index)


def create_terms(client, name: str) -> None:
    """How many passages hold each term: `df` from generation `gen` on, `prev` before it."""
    from pymilvus import DataType

    fields = {"term": (DataType.VARCHAR, {"is_primary": True, "max_length": MAX_TERM})}
    _create_table(client, name, fields | {k: (DataType.INT64, {}) for k in ("df", "prev", "gen")})


def _create_table(client, name: str, fields: dict) -> None:
    """A collection of plain rows, `fields` {name: (type, options)}; Milvus wants a vector field in
    every collection, so it gets an unused one."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    for field_name, (kind, options) in fields.items():
        schema.add_field(field_name, kind, **options)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
    index = client.prepare_index_params()
    index.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
    _create(client, name, schema, index)


def _create(client, name: str, schema, index) -> None:
    """Create and load an empty collection; its indexes are ready at once, so pymilvus need not poll for them."""
    client.create_collection(name, schema=schema, consistency_level="Strong")
    client.create_index(name, index, sync=False)
    client.load_collection(name)
