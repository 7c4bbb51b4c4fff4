"""The FAISS backend's writer: kept and fresh articles assembled, in source order, into a new generation.

    write_generation(settings, old, change)   # -> the new generation's Manifest

`kept` are unchanged articles whose rows are copied from `old` (the live
generation); `fresh` are read and split articles whose vectors the indexer
embedded (`new`). `write_store` writes the folder and makes it live.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...atomic import fsync_dir, write_atomic
from ...config import Settings
from ..passage_vectors import row_offsets
from ..quantize import quantize
from ..schema import PASSAGE_DTYPE, DocumentEntry, IndexChange, Manifest, fresh_entry, kept_entry
from .generations import fsync_tree, remove_stale
from .integrity import record
from .reader import Store

__all__ = ["write_generation", "write_store"]


def write_generation(settings: Settings, old: Store | None, change: IndexChange) -> Manifest:
    """Assemble kept and fresh articles, in source order, into a new generation.

    Articles that follow each other in the old generation, or among the fresh ones, are copied as
    one run of rows, so an update of a large corpus copies a few runs, not one article at a time.
    """
    model, dim, kept, fresh, new = change.model, change.dim, change.kept, change.fresh, change.vectors
    entries: list[tuple[DocumentEntry, str, int]] = []  # entry, kept or fresh, its first row where its rows are
    for k in kept:
        entries.append((kept_entry(k), "kept", k[1]["first"]))
    at = 0
    for fr in fresh:
        entries.append((fresh_entry(fr), "fresh", at))
        at += entries[-1][0]["count"]
    entries.sort(key=lambda e: e[0]["source"])

    docs: list[DocumentEntry] = []
    runs: list[list[Any]] = []  # [kind, first row, count]
    total = 0
    for entry, kind, first in entries:
        count = entry["count"]
        docs.append({**entry, "first": total})
        total += count
        if runs and runs[-1][0] == kind and runs[-1][1] + runs[-1][2] == first:
            runs[-1][2] += count
        else:
            runs.append([kind, first, count])

    new_vectors, new_sentences, new_offsets, new_spans = (
        new.passages,
        new.sentences,
        new.first_sentence,
        new.sentence_spans,
    )
    fresh_texts = [doc.text[s:e] for _, doc, spans in fresh for s, e in spans]
    fresh_bounds = np.array([span for _, _, spans in fresh for span in spans], dtype=np.int64).reshape(-1, 2)
    texts: list[str] = []
    vectors: list[np.ndarray] = []
    reuse: list[np.ndarray] = []
    bounds: list[np.ndarray] = []
    sentence_vectors: list[np.ndarray] = []
    sentence_counts: list[np.ndarray] = []
    spans_rows: list[np.ndarray] = []
    arrays: tuple[np.ndarray, Callable[[slice], np.ndarray], np.ndarray, np.ndarray]
    for kind, first, count in runs:
        last = first + count
        if kind == "kept":
            assert old is not None  # kept rows come from the old generation
            texts.extend(old.texts(first, count))
            rows = old.passages[first:last]
            bounds.append(np.stack([rows["start"], rows["end"]], axis=1))
            reuse.append(np.arange(first, last))
            arrays = (old.vectors(), old.sentence_codes, old.sentence_offsets(), old.sentence_spans())
        else:
            texts.extend(fresh_texts[first:last])
            bounds.append(fresh_bounds[first:last])
            reuse.append(np.full(count, -1))
            arrays = (new_vectors, new_sentences.__getitem__, new_offsets, new_spans)
        passage_vectors, sentence_rows_of, offsets, span_rows = arrays
        vectors.append(passage_vectors[first:last])
        sentence_vectors.append(sentence_rows_of(slice(offsets[first], offsets[last])))
        spans_rows.append(span_rows[offsets[first] : offsets[last]])
        sentence_counts.append(np.diff(offsets[first : last + 1]))
    manifest = Manifest(
        model=model, dim=dim, chunking=settings.chunking, documents=docs, passages=total, created=time.time()
    )
    all_vectors = np.concatenate(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)
    reuse_ids = np.concatenate(reuse) if reuse else np.zeros(0, dtype=np.int64)
    sentences = (
        _joined(sentence_vectors) if sentence_vectors else np.zeros((0, dim), dtype=np.int8),
        row_offsets(np.concatenate(sentence_counts) if sentence_counts else np.zeros(0, dtype=np.int64)),
        np.concatenate(spans_rows) if spans_rows else np.zeros((0, 2), dtype=np.int32),
    )
    passages = np.zeros(total, dtype=PASSAGE_DTYPE)
    passages["doc"] = np.repeat(np.arange(len(docs)), [d["count"] for d in docs])
    if bounds:
        passages["start"], passages["end"] = np.concatenate(bounds).T
    write_store(
        settings.index, manifest, passages, texts, all_vectors, sentences=sentences, previous=old, reuse_ids=reuse_ids
    )
    return manifest


def write_store(
    index_dir: Path,
    manifest: Manifest,
    passages: np.ndarray,
    texts: list[str],
    vectors: np.ndarray,
    *,
    sentences: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    previous: Store | None = None,
    reuse_ids: np.ndarray | None = None,
) -> Path:
    """Write a new generation and make it live; returns its folder.

    `sentences` are (vectors, first row of each passage, spans); float vectors are
    quantized here, int8 ones are taken as quantize.py's codes.
    `reuse_ids[i] >= 0` says passage i is that passage of `previous`, unchanged:
    its keyword terms are taken from there instead of tokenizing it again.
    """
    from ..keyword import KeywordIndex
    from .dense import build_dense

    if previous is None:
        reuse_ids = None

    if sentences is None:  # each passage one sentence: its own vector and whole span
        spans = np.array([(0, len(t)) for t in texts], dtype=np.int32).reshape(-1, 2)
        sentences = (vectors, np.arange(len(texts) + 1), spans)
    index_dir.mkdir(parents=True, exist_ok=True)
    tmp = index_dir / f".tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        with (tmp / "texts.bin").open("wb") as out:  # a text at a time: no copy of them all in memory
            for i, text in enumerate(texts):
                offsets[i + 1] = out.write(text.encode("utf-8"))
        np.cumsum(offsets, out=offsets)
        np.save(tmp / "offsets.npy", offsets)
        np.save(tmp / "passages.npy", passages.astype(PASSAGE_DTYPE))
        np.save(tmp / "vectors.npy", vectors.astype(np.float32, copy=False))
        codes = sentences[0] if sentences[0].dtype == np.int8 else quantize(sentences[0])
        np.save(tmp / "sentence_vectors.npy", codes)
        np.save(tmp / "sentence_offsets.npy", sentences[1].astype(np.int64))
        np.save(tmp / "sentence_spans.npy", sentences[2].astype(np.int32))
        build_dense(tmp, vectors)
        KeywordIndex.build(texts, previous.keyword if previous else None, reuse_ids).save(tmp / "keyword")
        manifest.files = record(tmp)
        # no indent: json's C encoder only runs without one, ten times faster on a large corpus
        (tmp / "manifest.json").write_text(json.dumps(manifest.to_json(), ensure_ascii=False))
        fsync_tree(tmp)
        gen = index_dir / f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        os.rename(tmp, gen)
        # The generation's name is made durable before CURRENT names it: otherwise a power cut could keep
        # the new CURRENT and lose the rename, leaving CURRENT naming a folder that is not there (docs/indexing.md).
        fsync_dir(index_dir)
        write_atomic(index_dir / "CURRENT", gen.name, durable=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    remove_stale(index_dir)
    return gen


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """The parts one after another; a single part as it is, not copied."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
