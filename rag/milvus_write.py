"""Updates of the index in Milvus, only for what changed.

1. document rows of fresh articles go in with `added` = the new generation,
   rows of replaced or deleted ones are marked `removed` = the new generation;
2. the fresh passages are inserted (a full rebuild fills new collections),
   and the passage count of each term they add or take away is updated,
   keeping the previous generation's count beside the new one;
3. the header row is replaced: the commit point, after which readers see
   the new generation;
4. replaced passages, their rows and any old collections are deleted.

An update cut short at any step leaves rows a reader does not see; the next
update (or `tidy`) removes them before it starts.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator

from .citation import fit, structure
from .errors import ConfigError, IndexBusyError
from .milvus import (
    BATCH,
    BM25,
    DOC_SHIFT,
    HEADER,
    MAX_TERM,
    MAX_VARCHAR,
    WINDOW,
    MilvusBackend,
    bm25_terms,
    pack_sentences,
    pack_spans,
)
from .store import Manifest

__all__ = ["apply_update", "clean_up", "write_row"]

log = logging.getLogger(__name__)


def apply_update(backend: MilvusBackend, settings, model, dim, old, kept, fresh, new) -> Manifest:
    """Write the change the indexer worked out (see indexer._update) and return the new manifest.

    `new` holds the fresh passages' vectors, their sentence vectors, each passage's first sentence
    row (N + 1) and the sentences' spans, as indexer._update makes them.
    """
    client = backend.client
    _ensure_meta(backend)
    header = backend.header()
    generation = int(header.get("generation", 0)) if header else 0
    if old is not None and old.generation != generation:
        raise IndexBusyError(f"{backend.location} was updated by another process meanwhile: run `rag index` again.")
    clean_up(backend, header)
    gen, next_doc = generation + 1, int(header.get("next_doc", 1)) if header else 1
    if old is None:
        collection, terms = f"{backend.location.name}_passages_{gen}", f"{backend.location.name}_terms_{gen}"
        _create_passages(backend, collection, dim)
        _create_terms(backend, terms)
        before = _live_documents(backend, header)
    else:
        collection, terms, before = old.collection, old.terms, old.manifest.documents

    kept_sources = {f.source for f, _, _ in kept}
    gone = [d for d in before if d["source"] not in kept_sources]
    docs, rows = [], [_doc_row(d, removed=gen) for d in gone]
    for f, meta, _ in kept:
        docs.append({**meta, "size": f.size, "mtime_ns": f.mtime_ns})
        if (f.size, f.mtime_ns) != (meta["size"], meta["mtime_ns"]):
            rows.append(_doc_row(docs[-1]))  # the same content, touched: only the stat changes
    placed = []
    for f, document, spans in fresh:
        if len(spans) >= 1 << DOC_SHIFT:
            raise ConfigError(f"{f.source} makes {len(spans)} passages, more than Milvus ids allow: split it.")
        doc = {"id": next_doc, "source": f.source, "hash": document.hash, **document.meta}
        doc["structure"] = fit(structure(document, spans), MAX_VARCHAR // 2)  # one VARCHAR holds the entry
        docs.append({**doc, "size": f.size, "mtime_ns": f.mtime_ns, "count": len(spans)})
        rows.append(_doc_row(docs[-1], added=gen))
        placed.append((next_doc, document, spans))
        next_doc += 1
    for batch in _batches(rows):
        client.upsert(backend.meta, batch)
    counts: Counter[str] = Counter()  # change in how many passages hold each term
    for batch in _batches(_passage_rows(placed, new, settings.chunk_size, counts)):
        client.insert(collection, batch)
    if old is not None:
        counts.subtract(_terms_of(backend, collection, gone))
    _count_terms(backend, terms, counts, generation, gen)
    if backend.location.lite:
        for name in (collection, terms):
            client.flush(name)  # Milvus Lite indexes flushed segments once; unflushed rows are rescanned per search

    manifest = Manifest(model, dim, settings.chunking, [], sum(d["count"] for d in docs), time.time())
    extra = {"generation": gen, "collection": collection, "terms": terms, "next_doc": next_doc}
    header = {**manifest.to_json(), **extra}
    write_row(backend, HEADER, json.dumps(header))
    log.info("committed generation %d of %s", gen, backend.location)
    clean_up(backend, header)
    manifest.documents = sorted(docs, key=lambda d: d["source"])
    return manifest


def write_row(backend: MilvusBackend, key: str, value: str) -> None:
    """Replace one of the manifest collection's rows that are not documents."""
    _ensure_meta(backend)
    backend.client.upsert(backend.meta, [_row(key, 0, value)])


def clean_up(backend: MilvusBackend, header: dict | None) -> None:
    """Remove what no reader of the generation in `header` sees: rows and passages of cut-short
    or replaced documents, term counts of a cut-short update, and collections of other generations."""
    client = backend.client
    if not client.has_collection(backend.meta):
        return
    generation = int(header.get("generation", 0)) if header else 0
    live = [header.get("collection"), header.get("terms")] if header else []
    for rows in _drain(backend, f"removed > {generation}"):  # marks of a cut-short update: still live
        client.upsert(backend.meta, [_doc_row(json.loads(r["value"])) for r in rows])
    dead = 0
    for rows in _drain(backend, f"added > {generation} or (removed > 0 and removed <= {generation})"):
        ids = [int(r["doc"]) for r in rows]
        if live and client.has_collection(live[0]):
            client.delete(live[0], filter=f"doc in {ids}")
        client.delete(backend.meta, ids=[r["key"] for r in rows])
        dead += len(ids)
    if live and client.has_collection(live[1]):
        _uncount(backend, live[1], generation)
    kinds = re.compile(rf"{re.escape(backend.location.name)}_(passages|terms)_\d+")
    for name in client.list_collections():
        if kinds.fullmatch(name) and name not in live:
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


def _passage_rows(placed, new, chunk_size: int, counts: Counter) -> Iterator[dict]:
    """Rows of the fresh passages; adds one to `counts` for each term of each passage."""
    vectors, sentences, offsets, spans = new
    at = 0
    for doc_id, document, passage_spans in placed:
        for n, (start, end) in enumerate(passage_spans):
            text = document.text[start:end]
            terms = bm25_terms(text)
            counts.update(set(terms.split()))
            a, b = offsets[at], offsets[at + 1]
            row = {
                "id": doc_id << DOC_SHIFT | n,
                "doc": doc_id,
                "start": start,
                "end": end,
                "text": text,
                "terms": terms,
                "vector": vectors[at].tolist(),
                "sentences": pack_sentences(sentences[a:b]),
                "spans": pack_spans(spans[a:b]),
            }
            if max(len(row[k].encode()) for k in ("text", "terms", "sentences")) > MAX_VARCHAR:
                raise ConfigError(
                    f"passages of {chunk_size} characters do not fit in Milvus (64 KB each): "
                    "set a smaller RAG_CHUNK_SIZE."
                )
            yield row
            at += 1


def _terms_of(backend: MilvusBackend, collection: str, docs: list[dict]) -> Counter:
    """How many passages of `docs` hold each term."""
    counts: Counter[str] = Counter()
    batch, size = [], 0
    for doc in [*docs, None]:
        if doc is None or (batch and size + doc["count"] > WINDOW):
            where = f"doc in {batch}"
            for row in backend.client.query(collection, filter=where, output_fields=["terms"], limit=WINDOW):
                counts.update(set(row["terms"].split()))
            batch, size = [], 0
        if doc is not None:
            batch.append(int(doc["id"]))
            size += int(doc["count"])
    return counts


def _count_terms(backend: MilvusBackend, collection: str, changes: Counter, generation: int, gen: int) -> None:
    """Apply `changes` to the passage count of each term, as of generation `gen`.

    Each row keeps the count of the generation before it (`prev`) next to the new one (`df`, valid
    from generation `gen`), so readers of either generation, and a cut-short update, find theirs.
    """
    client = backend.client
    changed = [t for t, n in changes.items() if n and len(t.encode()) <= MAX_TERM]
    for batch in _batches(changed):
        rows = {r["term"]: r for r in client.get(collection, ids=batch, output_fields=["df", "prev", "gen"])}
        upserts = []
        for term in batch:
            row = rows.get(term)
            base = 0 if row is None else int(row["df"] if row["gen"] <= generation else row["prev"])
            upserts.append(_term_row(term, base + changes[term], base, gen))
        client.upsert(collection, upserts)


def _uncount(backend: MilvusBackend, collection: str, generation: int) -> None:
    """Undo the term counts of a cut-short update: rows newer than `generation` go back to `prev`."""
    while True:
        where = f"gen > {generation}"
        rows = backend.client.query(collection, filter=where, output_fields=["term", "prev"], limit=WINDOW)
        if rows:
            restored = [_term_row(r["term"], r["prev"], r["prev"], 0) for r in rows]
            backend.client.upsert(collection, restored)
        if len(rows) < WINDOW:
            return


def _term_row(term: str, df: int, prev: int, gen: int) -> dict:
    return {"term": term, "df": df, "prev": prev, "gen": gen, "unused": [0.0, 0.0]}


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
    """The manifest collection: a row per document, plus the header and the skipped articles."""
    from pymilvus import DataType

    if backend.client.has_collection(backend.meta):
        return
    key, number = (DataType.VARCHAR, {"is_primary": True, "max_length": 64}), (DataType.INT64, {})
    fields = {"key": key, "doc": number, "added": number, "removed": number}
    _create_table(backend.client, backend.meta, fields | {"value": (DataType.VARCHAR, {"max_length": MAX_VARCHAR})})


def _create_passages(backend: MilvusBackend, name: str, dim: int) -> None:
    """Passages with a dense vector and Milvus' BM25 over `terms`: exact (FLAT) in Milvus Lite, HNSW on a server."""
    from pymilvus import DataType, Function, FunctionType

    client = backend.client
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
    if backend.location.lite:
        index.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    else:
        hnsw = {"M": 16, "efConstruction": 200}
        index.add_index(field_name="vector", index_type="HNSW", metric_type="IP", params=hnsw)
    index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25)
    _create(client, name, schema, index)


def _create_terms(backend: MilvusBackend, name: str) -> None:
    """How many passages hold each term: `df` from generation `gen` on, `prev` before it."""
    from pymilvus import DataType

    fields = {"term": (DataType.VARCHAR, {"is_primary": True, "max_length": MAX_TERM})}
    _create_table(backend.client, name, fields | {k: (DataType.INT64, {}) for k in ("df", "prev", "gen")})


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
