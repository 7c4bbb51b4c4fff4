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
from typing import Any, cast

from ...config import Settings
from ...errors import ConfigError, IndexBusyError
from ...ingest.citation import fit
from ..schema import DocumentEntry, IndexChange, Manifest, NewVectors, kept_entry
from .meta import Meta
from .pack import bm25_terms, pack_sentences, pack_spans
from .schema import (
    BATCH,
    DOC_SHIFT,
    HEADER,
    MAX_TERM,
    MAX_VARCHAR,
    WINDOW,
    create_passages,
    create_terms,
    ensure_meta,
)
from .store import MilvusStore

__all__ = ["apply_update", "clean_up", "write_row"]

log = logging.getLogger(__name__)


def apply_update(meta: Meta, settings: Settings, old: MilvusStore | None, change: IndexChange) -> Manifest:
    """Write the change the indexer worked out (see indexer.update_index) and return the new manifest."""
    model, dim, kept, fresh, new = change.model, change.dim, change.kept, change.fresh, change.vectors
    client = meta.client
    ensure_meta(client, meta.name)
    header = meta.header()
    generation = int(header.get("generation", 0)) if header else 0
    if old is not None and old.generation != generation:
        raise IndexBusyError(f"{meta.location} was updated by another process meanwhile: run `rag index` again.")
    clean_up(meta, header)
    gen, next_doc = generation + 1, int(header.get("next_doc", 1)) if header else 1
    if old is None:
        collection, terms = f"{meta.location.name}_passages_{gen}", f"{meta.location.name}_terms_{gen}"
        create_passages(client, collection, dim, meta.location.lite)
        create_terms(client, terms)
        before = _live_documents(meta, header)
    else:
        collection, terms, before = old.collection, old.terms, cast(list[dict], old.manifest.documents)

    kept_sources = {f.source for f, _, _ in kept}
    gone = [d for d in before if d["source"] not in kept_sources]
    docs: list[dict[str, Any]] = []
    rows = [_doc_row(d, removed=gen) for d in gone]
    for k in kept:
        docs.append(dict(kept_entry(k)))
        if docs[-1] != k[1]:
            rows.append(_doc_row(docs[-1]))  # the same content, touched: only the stat changes
    placed = []
    at = 0
    for f, fresh_doc, spans in fresh:
        if len(spans) >= 1 << DOC_SHIFT:
            raise ConfigError(f"{f.source} makes {len(spans)} passages, more than Milvus ids allow: split it.")
        entry: dict[str, Any] = dict(fresh_doc)
        entry["id"] = next_doc
        entry["structure"] = fit(entry["structure"], MAX_VARCHAR // 2)  # one VARCHAR holds the entry
        docs.append(dict(entry))
        rows.append(_doc_row(docs[-1], added=gen))
        placed.append((next_doc, at, spans))
        next_doc += 1
        at += len(spans)
    for batch in _batches(rows):
        client.upsert(meta.name, batch)
    counts: Counter[str] = Counter()  # change in how many passages hold each term
    for batch in _batches(_passage_rows(placed, new, change.texts, settings.chunk_size, counts)):
        client.insert(collection, batch)
    if old is not None:
        counts.subtract(_terms_of(meta, collection, gone))
    _count_terms(meta, terms, counts, generation, gen)
    if meta.location.lite:
        for name in (collection, terms):
            client.flush(name)  # Milvus Lite indexes flushed segments once; unflushed rows are rescanned per search

    manifest = Manifest(model, dim, settings.chunking, [], sum(d["count"] for d in docs), time.time())
    extra = {"generation": gen, "collection": collection, "terms": terms, "next_doc": next_doc}
    header = {**manifest.to_json(), **extra}
    write_row(meta, HEADER, json.dumps(header))
    log.info("committed generation %d of %s", gen, meta.location)
    clean_up(meta, header)
    manifest.documents = cast(list[DocumentEntry], sorted(docs, key=lambda d: d["source"]))
    return manifest


def write_row(meta: Meta, key: str, value: str) -> None:
    """Replace one of the manifest collection's rows that are not documents."""
    ensure_meta(meta.client, meta.name)
    meta.client.upsert(meta.name, [_row(key, 0, value)])


def clean_up(meta: Meta, header: dict | None) -> None:
    """Remove what no reader of the generation in `header` sees: rows and passages of cut-short
    or replaced documents, term counts of a cut-short update, and collections of other generations."""
    client = meta.client
    if not client.has_collection(meta.name):
        return
    generation = int(header.get("generation", 0)) if header else 0
    live = [header.get("collection"), header.get("terms")] if header else []
    for rows in _drain(meta, f"removed > {generation}"):  # marks of a cut-short update: still live
        client.upsert(meta.name, [_doc_row(json.loads(r["value"])) for r in rows])
    dead = 0
    for rows in _drain(meta, f"added > {generation} or (removed > 0 and removed <= {generation})"):
        ids = [int(r["doc"]) for r in rows]
        if live and client.has_collection(live[0]):
            client.delete(live[0], filter=f"doc in {ids}")
        client.delete(meta.name, ids=[r["key"] for r in rows])
        dead += len(ids)
    if live and client.has_collection(live[1]):
        _uncount(meta, str(live[1]), generation)
    kinds = re.compile(rf"{re.escape(meta.location.name)}_(passages|terms)_\d+")
    for name in client.list_collections():
        if kinds.fullmatch(name) and name not in live:
            client.drop_collection(name)
    if dead:
        log.info("removed %d replaced or unfinished documents from %s", dead, meta.location)


def _drain(meta: Meta, condition: str) -> Iterator[list[dict]]:
    """Batches of document rows meeting `condition`, for a caller that makes them stop meeting it."""
    while True:
        rows = meta.client.query(
            meta.name, filter=f"doc > 0 and ({condition})", output_fields=["key", "doc", "value"], limit=WINDOW
        )
        if rows:
            yield rows
        if len(rows) < WINDOW:
            return


def _live_documents(meta: Meta, header: dict | None) -> list[dict]:
    """Documents of the live generation, read even when its header is from another format."""
    if not header or "generation" not in header:
        return []
    rows = meta.document_rows(meta.visible(int(header["generation"])), int(header.get("next_doc", 1)))
    return [json.loads(r["value"]) for r in rows]


def _passage_rows(placed, new: NewVectors, texts_of, chunk_size: int, counts: Counter) -> Iterator[dict]:
    """Rows of the fresh passages; adds one to `counts` for each term of each passage."""
    vectors, sentences, offsets, spans = new.passages, new.sentences, new.first_sentence, new.sentence_spans
    at = 0
    for doc_id, first, passage_spans in placed:
        texts = texts_of(first, len(passage_spans))
        for n, ((start, end), text) in enumerate(zip(passage_spans.tolist(), texts, strict=True)):
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


def _terms_of(meta: Meta, collection: str, docs: list[dict]) -> Counter:
    """How many passages of `docs` hold each term."""
    counts: Counter[str] = Counter()
    batch: list[int] = []
    size = 0
    for doc in [*docs, None]:
        if doc is None or (batch and size + doc["count"] > WINDOW):
            where = f"doc in {batch}"
            for row in meta.client.query(collection, filter=where, output_fields=["terms"], limit=WINDOW):
                counts.update(set(row["terms"].split()))
            batch, size = [], 0
        if doc is not None:
            batch.append(int(doc["id"]))
            size += int(doc["count"])
    return counts


def _count_terms(meta: Meta, collection: str, changes: Counter, generation: int, gen: int) -> None:
    """Apply `changes` to the passage count of each term, as of generation `gen`.

    Each row keeps the count of the generation before it (`prev`) next to the new one (`df`, valid
    from generation `gen`), so readers of either generation, and a cut-short update, find theirs.
    """
    client = meta.client
    changed = [t for t, n in changes.items() if n and len(t.encode()) <= MAX_TERM]
    for batch in _batches(changed):
        rows = {r["term"]: r for r in client.get(collection, ids=batch, output_fields=["df", "prev", "gen"])}
        upserts = []
        for term in batch:
            row = rows.get(term)
            base = 0 if row is None else int(row["df"] if row["gen"] <= generation else row["prev"])
            upserts.append(_term_row(term, base + changes[term], base, gen))
        client.upsert(collection, upserts)


def _uncount(meta: Meta, collection: str, generation: int) -> None:
    """Undo the term counts of a cut-short update: rows newer than `generation` go back to `prev`."""
    while True:
        where = f"gen > {generation}"
        rows = meta.client.query(collection, filter=where, output_fields=["term", "prev"], limit=WINDOW)
        if rows:
            restored = [_term_row(r["term"], r["prev"], r["prev"], 0) for r in rows]
            meta.client.upsert(collection, restored)
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
