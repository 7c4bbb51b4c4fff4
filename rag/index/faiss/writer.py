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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ...atomic import fsync_dir, write_atomic
from ...config import Settings
from ..passage_vectors import row_offsets
from ..quantize import quantize
from ..schema import PASSAGE_DTYPE, DocumentEntry, IndexChange, Manifest, kept_entry
from ..staging import NpyWriter, Rows, RowsOnDisk
from .generations import fsync_tree, remove_stale
from .integrity import record
from .reader import Store

__all__ = ["write_generation", "write_store"]


def write_generation(settings: Settings, old: Store | None, change: IndexChange) -> Manifest:
    """Assemble kept and fresh articles, in source order, into a new generation.

    Articles that follow each other in the old generation, or among the fresh ones, are copied as
    one run of rows, so an update of a large corpus copies a few runs, not one article at a time.
    Rows are copied STEP passages at a time straight into the new files: memory does not grow with
    the corpus.
    """
    model, dim, kept, fresh, new = change.model, change.dim, change.kept, change.fresh, change.vectors
    entries: list[tuple[DocumentEntry, str, int]] = []  # entry, kept or fresh, its first row where its rows are
    for k in kept:
        entries.append((kept_entry(k), "kept", k[1]["first"]))
    at = 0
    for _, entry, spans in fresh:
        entries.append((entry, "fresh", at))
        at += len(spans)
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

    fresh_bounds = np.concatenate([np.zeros((0, 2), np.int64), *(spans for _, _, spans in fresh)])
    bounds: list[np.ndarray] = []
    reuse: list[np.ndarray] = []
    sentence_counts: list[np.ndarray] = []
    parts: list[_Part] = []  # the runs cut into steps of at most STEP passages
    for kind, first, count in runs:
        if kind == "kept":
            assert old is not None  # kept rows come from the old generation
            rows = old.passages[first : first + count]
            bounds.append(np.stack([rows["start"], rows["end"]], axis=1))
            reuse.append(np.arange(first, first + count))
            source = _Part(old.texts, old.vectors(), old.sentence_codes, old.sentence_offsets(), old.sentence_spans())
        else:
            bounds.append(fresh_bounds[first : first + count])
            reuse.append(np.full(count, -1))
            source = _Part(
                change.texts, new.passages, new.sentences.__getitem__, new.first_sentence, new.sentence_spans
            )
        sentence_counts.append(np.diff(source.offsets[first : first + count + 1]))
        parts += [source.step(a, min(STEP, first + count - a)) for a in range(first, first + count, STEP)]
    manifest = Manifest(
        model=model, dim=dim, chunking=settings.chunking, documents=docs, passages=total, created=time.time()
    )
    passages = np.zeros(total, dtype=PASSAGE_DTYPE)
    passages["doc"] = np.repeat(np.arange(len(docs)), [d["count"] for d in docs])
    if bounds:
        passages["start"], passages["end"] = np.concatenate(bounds).T
    offsets = row_offsets(np.concatenate(sentence_counts) if sentence_counts else np.zeros(0, dtype=np.int64))
    reuse_ids = np.concatenate(reuse) if reuse and old is not None else None

    def fill(folder: Path) -> None:
        np.save(folder / "passages.npy", passages)
        np.save(folder / "sentence_offsets.npy", offsets)
        sentences = int(offsets[-1])
        with (
            _TextWriter(folder, total) as texts,
            NpyWriter(folder / "vectors.npy", (total, dim), np.float32) as vectors,
            NpyWriter(folder / "sentence_vectors.npy", (sentences, dim), np.int8) as codes,
            NpyWriter(folder / "sentence_spans.npy", (sentences, 2), np.int32) as spans,
        ):
            for part in parts:
                texts.write(part.texts())
                part_vectors, part_codes, part_spans = part.rows()
                vectors.write(part_vectors)
                codes.write(part_codes)
                spans.write(part_spans)

    _publish(settings.index, manifest, fill, old, reuse_ids)
    return manifest


STEP = 8192  # passages copied into the new generation at a time


@dataclass(frozen=True)
class _Part:
    """Rows `first` .. `first + count - 1` of the old generation or of the fresh passages: where to read them."""

    texts_of: Callable[[int, int], list[str]]
    vectors: Rows
    codes_of: Callable[[slice], np.ndarray]
    offsets: np.ndarray  # first sentence row of each passage
    spans: Rows
    first: int = 0
    count: int = 0

    def step(self, first: int, count: int) -> _Part:
        return replace(self, first=first, count=count)

    def texts(self) -> list[str]:
        return self.texts_of(self.first, self.count)

    def rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Passage vectors, sentence codes and sentence spans of these passages."""
        a, b = int(self.offsets[self.first]), int(self.offsets[self.first + self.count])
        return self.vectors[self.first : self.first + self.count], self.codes_of(slice(a, b)), self.spans[a:b]


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
    """Write a new generation from arrays in memory and make it live; returns its folder.

    `sentences` are (vectors, first row of each passage, spans); float vectors are
    quantized here, int8 ones are taken as quantize.py's codes.
    `reuse_ids[i] >= 0` says passage i is that passage of `previous`, unchanged:
    its keyword terms are taken from there instead of tokenizing it again.
    """
    if sentences is None:  # each passage one sentence: its own vector and whole span
        spans = np.array([(0, len(t)) for t in texts], dtype=np.int32).reshape(-1, 2)
        sentences = (vectors, np.arange(len(texts) + 1), spans)

    def fill(folder: Path) -> None:
        with _TextWriter(folder, len(texts)) as out:
            out.write(texts)
        np.save(folder / "passages.npy", passages.astype(PASSAGE_DTYPE))
        np.save(folder / "vectors.npy", vectors.astype(np.float32, copy=False))
        codes = sentences[0] if sentences[0].dtype == np.int8 else quantize(sentences[0])
        np.save(folder / "sentence_vectors.npy", codes)
        np.save(folder / "sentence_offsets.npy", sentences[1].astype(np.int64))
        np.save(folder / "sentence_spans.npy", sentences[2].astype(np.int32))

    return _publish(index_dir, manifest, fill, previous, reuse_ids)


def _publish(
    index_dir: Path,
    manifest: Manifest,
    fill: Callable[[Path], None],
    previous: Store | None,
    reuse_ids: np.ndarray | None,
) -> Path:
    """Make a generation folder, let `fill` write its passages, texts and vectors, build its FAISS and keyword
    indexes from what it wrote, and make it live."""
    from ..keyword import KeywordIndex
    from .dense import build_dense

    if previous is None:
        reuse_ids = None
    index_dir.mkdir(parents=True, exist_ok=True)
    tmp = index_dir / f".tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        fill(tmp)
        build_dense(tmp, RowsOnDisk.npy(tmp / "vectors.npy"))
        texts = _TextsOnDisk(tmp)
        try:
            KeywordIndex.write(tmp / "keyword", texts, previous.keyword if previous else None, reuse_ids)
        finally:
            texts.close()
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


class _TextWriter:
    """texts.bin and offsets.npy of a generation, written a batch of texts at a time."""

    def __init__(self, folder: Path, count: int) -> None:
        self.folder = folder
        self.out = (folder / "texts.bin").open("wb")
        self.offsets = np.zeros(count + 1, dtype=np.int64)
        self.at = 0

    def write(self, texts: list[str]) -> None:
        for text in texts:
            self.offsets[self.at + 1] = self.offsets[self.at] + self.out.write(text.encode("utf-8"))
            self.at += 1

    def __enter__(self) -> _TextWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.out.close()
        if exc[0] is None:
            np.save(self.folder / "offsets.npy", self.offsets)


class _TextsOnDisk(Sequence[str]):
    """The passage texts a generation folder holds, each read when asked for (for the keyword index).

    Plain reads, not a memory map: the texts read stay out of the process's memory."""

    def __init__(self, folder: Path) -> None:
        self.offsets = np.load(folder / "offsets.npy")
        self.file = (folder / "texts.bin").open("rb")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i):
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return os.pread(self.file.fileno(), b - a, a).decode("utf-8")

    def close(self) -> None:
        self.file.close()
