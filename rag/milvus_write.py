"""Updates of the index in Milvus, only for what changed.

1. document rows of fresh articles go in with `added` = the new generation,
   rows of replaced or deleted ones are marked `removed` = the new generation;
2. the fresh passages are inserted (a full rebuild fills a new collection);
3. the header row is replaced: the commit point, after which readers see
   the new generation;
4. replaced passages, their rows and any old collection are deleted.

An update cut short at any step leaves rows a reader does not see; the next
update (or `tidy`) removes them before it starts.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator

from .errors import ConfigError, IndexBusyError
from .milvus import BATCH, BM25, DOC_SHIFT, HEADER, MAX_VARCHAR, WINDOW, MilvusBackend, bm25_terms
from .store import Manifest

__all__ = ["apply_update", "clean_up", "write_row"]

log = logging.getLogger(__name__)


def apply_update(backend: MilvusBackend, settings, model, dim, old, kept, fresh, new_vectors) -> Manifest:
    """Write the change the indexer worked out (see indexer._update) and return the new manifest."""
    client = backend.client
    _ensure_meta(backend)
    header = backend.header()
    generation = int(header.get("generation", 0)) if header else 0
    if old is not None and old.generation != generation:
        raise IndexBusyError(f"{backend.location} was updated by another process meanwhile: run `rag index` again.")
    clean_up(backend, header)
    new, next_doc = generation + 1, int(header.get("next_doc", 1)) if header else 1
    if old is None:
        collection = f"{backend.location.name}_passages_{new}"
        if client.has_collection(collection):
            client.drop_collection(collection)
        _create_passages(backend, collection, dim)
        before = _live_documents(backend, header)
    else:
        collection, before = old.collection, old.manifest.documents

    kept_sources = {f.source for f, _, _ in kept}
    docs, rows = [], []
    for f, meta, _ in kept:
        docs.append({**meta, "size": f.size, "mtime_ns": f.mtime_ns})
        if (f.size, f.mtime_ns) != (meta["size"], meta["mtime_ns"]):
            rows.append(_doc_row(docs[-1]))  # the same content, touched: only the stat changes
    rows.extend(_doc_row(d, removed=new) for d in before if d["source"] not in kept_sources)
    placed = []
    for f, document, spans in fresh:
        if len(spans) >= 1 << DOC_SHIFT:
            raise ConfigError(f"{f.source} makes {len(spans)} passages, more than Milvus ids allow: split it.")
        doc = {"id": next_doc, "source": f.source, "hash": document.hash, **document.meta}
        docs.append({**doc, "size": f.size, "mtime_ns": f.mtime_ns, "count": len(spans)})
        rows.append(_doc_row(docs[-1], added=new))
        placed.append((next_doc, document, spans))
        next_doc += 1
    for batch in _batches(rows):
        client.upsert(backend.meta, batch)
    for batch in _batches(_passage_rows(placed, new_vectors, settings.chunk_size)):
        client.insert(collection, batch)
    if backend.location.lite:
        client.flush(collection)  # Milvus Lite indexes flushed segments once; unflushed rows are rescanned per search

    manifest = Manifest(model, dim, settings.chunking, [], sum(d["count"] for d in docs), time.time())
    header = {**manifest.to_json(), "generation": new, "collection": collection, "next_doc": next_doc}
    write_row(backend, HEADER, json.dumps(header))
    log.info("committed generation %d of %s", new, backend.location)
    clean_up(backend, header)
    manifest.documents = sorted(docs, key=lambda d: d["source"])
    return manifest


def write_row(backend: MilvusBackend, key: str, value: str) -> None:
    """Replace one of the manifest collection's rows that are not documents."""
    _ensure_meta(backend)
    backend.client.upsert(backend.meta, [_row(key, 0, value)])


def clean_up(backend: MilvusBackend, header: dict | None) -> None:
    """Remove what no reader of the generation in `header` sees: rows and passages of cut-short
    or replaced documents, and passages collections other than the live one."""
    client = backend.client
    if not client.has_collection(backend.meta):
        return
    generation = int(header.get("generation", 0)) if header else 0
    live = header.get("collection") if header else None
    for rows in _drain(backend, f"removed > {generation}"):  # marks of a cut-short update: still live
        client.upsert(backend.meta, [_doc_row(json.loads(r["value"])) for r in rows])
    dead = 0
    for rows in _drain(backend, f"added > {generation} or (removed > 0 and removed <= {generation})"):
        ids = [int(r["doc"]) for r in rows]
        if live and client.has_collection(live):
            client.delete(live, filter=f"doc in {ids}")
        client.delete(backend.meta, ids=[r["key"] for r in rows])
        dead += len(ids)
    prefix = f"{backend.location.name}_passages_"
    for name in client.list_collections():
        if name.startswith(prefix) and name[len(prefix) :].isdigit() and name != live:
            client.drop_collection(name)
    if dead:
        log.info("removed %d replaced or unfinished documents from %s", dead, backend.location)


def _drain(backend: MilvusBackend, condition: str) -> Iterator[list[dict]]:
    """Batches of document rows meeting `condition`, for a caller that makes them stop meeting it."""
    while True:
        rows = backend.client.query(
            backend.meta, filter=f"doc > 0 and ({condition})", output_fields=["key", "doc", "value"], limit=WINDOW
        )
        if rows:
            yield rows
        if len(rows) < WINDOW:
            return


def _live_documents(backend: MilvusBackend, header: dict | None) -> list[dict]:
    """Documents of the live generation, read even when its header is from another format."""
    if not header or "generation" not in header:
        return []
    rows = backend.document_rows(backend.visible(int(header["generation"])), int(header.get("next_doc", 1)))
    return [json.loads(r["value"]) for r in rows]


def _passage_rows(placed, vectors, chunk_size: int) -> Iterator[dict]:
    at = 0
    for doc_id, document, spans in placed:
        for n, (start, end) in enumerate(spans):
            text = document.text[start:end]
            terms = bm25_terms(text)
            if max(len(text.encode()), len(terms.encode())) > MAX_VARCHAR:
                raise ConfigError(
                    f"passages of {chunk_size} characters do not fit in Milvus (64 KB each): "
                    "set a smaller RAG_CHUNK_SIZE."
                )
            yield {
                "id": doc_id << DOC_SHIFT | n,
                "doc": doc_id,
                "start": start,
                "end": end,
                "text": text,
                "terms": terms,
                "vector": vectors[at].tolist(),
            }
            at += 1


def _doc_row(doc: dict, added: int = 0, removed: int = 0) -> dict:
    return _row(f"doc:{doc['id']}", int(doc["id"]), json.dumps(doc, ensure_ascii=False), added, removed)


def _row(key: str, doc: int, value: str, added: int = 0, removed: int = 0) -> dict:
    return {"key": key, "doc": doc, "added": added, "removed": removed, "value": value, "unused": [0.0, 0.0]}


def _batches(items: Iterable, size: int = BATCH) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _ensure_meta(backend: MilvusBackend) -> None:
    """The manifest collection: Milvus wants a vector field in every collection, so it has an unused one."""
    from pymilvus import DataType

    client = backend.client
    if client.has_collection(backend.meta):
        return
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("doc", DataType.INT64)
    schema.add_field("added", DataType.INT64)
    schema.add_field("removed", DataType.INT64)
    schema.add_field("value", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
    index = client.prepare_index_params()
    index.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
    _create(client, backend.meta, schema, index)


def _create_passages(backend: MilvusBackend, name: str, dim: int) -> None:
    """Passages with a dense vector and Milvus' BM25 over `terms`: exact (FLAT) in Milvus Lite, HNSW on a server."""
    from pymilvus import DataType, Function, FunctionType

    client = backend.client
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
    schema.add_function(Function("bm25", FunctionType.BM25, input_field_names=["terms"], output_field_names=["sparse"]))
    index = client.prepare_index_params()
    if backend.location.lite:
        index.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    else:
        hnsw = {"M": 16, "efConstruction": 200}
        index.add_index(field_name="vector", index_type="HNSW", metric_type="IP", params=hnsw)
    index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25)
    _create(client, name, schema, index)


def _create(client, name: str, schema, index) -> None:
    """Create and load an empty collection; its indexes are ready at once, so pymilvus need not poll for them."""
    client.create_collection(name, schema=schema, consistency_level="Strong")
    client.create_index(name, index, sync=False)
    client.load_collection(name)
