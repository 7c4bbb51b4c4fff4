"""Passages -> their vectors and their sentences' vectors, through the vector cache.

Each distinct text is embedded once; the cache (vector_cache.py) keeps what was
embedded, so an interrupted update does not embed it again.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..ingest.chunking import sentence_spans
from .embedding import Embedder
from .quantize import quantize
from .schema import NewVectors
from .staging import Staging
from .vector_cache import FLUSH, VectorCache, embed_cached

__all__ = [
    "EmbedCounts",
    "embed_passages",
    "stage_passages",
    "embed_staged",
    "split_sentences",
    "sentence_rows",
    "row_offsets",
    "open_cache",
]

log = logging.getLogger(__name__)

MIN_SENTENCE_CHARS = 40
SLICE = 4096  # passages embedded at a time by embed_staged: what an update holds of them in memory


def dim_of(embedder) -> int:
    emb = embedder if isinstance(embedder, Embedder) else embedder()
    return emb.dim


@dataclass
class EmbedCounts:
    """What embed_passages embedded and what it found in the cache."""

    passages_embedded: int = 0  # passages (rows) whose vector was computed now
    passages_cached: int = 0  # ... and taken from the cache
    sentences_embedded: int = 0  # distinct sentence texts (not also passages) computed now
    sentences_cached: int = 0
    seconds: float = 0.0  # spent embedding
    keys: list[list[bytes]] = field(default_factory=list)  # per passage: the cache keys of it and its sentences

    def add(self, other: EmbedCounts) -> None:
        """Count `other` in too (its keys are not kept)."""
        self.passages_embedded += other.passages_embedded
        self.passages_cached += other.passages_cached
        self.sentences_embedded += other.sentences_embedded
        self.sentences_cached += other.sentences_cached
        self.seconds += other.seconds


def embed_passages(
    emb: Embedder,
    texts: list[str],
    progress: Callable[[int, int], None] | None = None,
    cache: VectorCache | None = None,
    reuse: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, EmbedCounts]:
    """Passage vectors (float32), sentence vectors (int8, quantize.py), the first sentence row of each
    passage, sentence spans, and what was embedded and what came from `cache` (read unless not `reuse`;
    written to as it goes).

    A text met twice (a sentence in the overlap of two passages, a repeated
    line) is embedded once: a vector does not depend on what else is embedded
    (a test checks it), so the copies are exact. `progress(done, total)` counts
    distinct texts, passages and sentences alike. Sentence vectors are kept as
    int8 from the moment they are embedded, as the index keeps them: a quarter
    of the memory.
    """
    sentences, counts, spans = split_sentences(texts)
    vectors, rows, report = _embed(emb, texts, sentences, counts, progress, cache, reuse)
    return vectors, rows, row_offsets(np.maximum(counts, 1)), spans, report


def stage_passages(staged: Staging, texts: list[str]) -> None:
    """Put an article's passages and the sentence texts split from them (split_sentences) in `staged`."""
    sentences, counts, spans = split_sentences(texts)
    staged.passages.extend(texts)
    staged.sentences.extend(sentences)
    staged.counts.append(counts)
    staged.spans.append(spans)


def embed_staged(
    emb: Embedder,
    staged: Staging,
    documents: list[tuple[str, str, int]],
    progress: Callable[[int, int], None] | None = None,
    cache: VectorCache | None = None,
    reuse: bool = True,
) -> tuple[NewVectors, EmbedCounts]:
    """embed_passages over the passages in `staged`, whole articles at a time, written back to `staged`.

    `documents` are (source, content hash, passages) of the staged articles,
    in order. Articles are embedded SLICE passages or so at a time and their
    vectors appended to files of the staging folder, so memory stays that of
    one slice however large the folder. A text met in two slices is embedded
    once all the same when there is a cache: the second finds it there.
    What each article used is recorded in the cache slice by slice.
    """
    counts = staged.counts.read()[:][:, 0]
    first_sentence = row_offsets(counts)
    slices = _slices([n for *_, n in documents], SLICE)
    vectors = staged.rows("vectors", emb.dim, np.float32)
    codes = staged.rows("sentence_codes", emb.dim, np.int8)
    total = EmbedCounts()
    ticks = _Ticks(progress, staged, slices, first_sentence, cache, reuse) if len(slices) > 1 else None
    for d0, d1, p0, p1 in slices:
        texts, sentences = _staged_texts(staged, first_sentence, p0, p1)
        tick = ticks.slice() if ticks else progress
        part_vectors, part_codes, part = _embed(emb, texts, sentences, counts[p0:p1], tick, cache, reuse)
        if ticks:
            ticks.end_slice()
        vectors.append(part_vectors)
        codes.append(part_codes)
        total.add(part)
        if cache is not None:
            cache.record_documents(document_keys(documents[d0:d1], part.keys))
    new = NewVectors(vectors.read(), codes.read(), row_offsets(np.maximum(counts, 1)), staged.spans.read())
    return new, total


def _staged_texts(staged: Staging, first_sentence: np.ndarray, p0: int, p1: int) -> tuple[list[str], list[str]]:
    """The texts of staged passages p0 .. p1 - 1, and of their sentences."""
    a, b = int(first_sentence[p0]), int(first_sentence[p1])
    return staged.passages.get(p0, p1 - p0), staged.sentences.get(a, b - a)


def _slices(passages: list[int], size: int) -> list[tuple[int, int, int, int]]:
    """(first article, end article, first passage, end passage) of runs of whole articles of about `size` passages.

    >>> _slices([3, 3, 5, 1], 4)
    [(0, 2, 0, 6), (2, 3, 6, 11), (3, 4, 11, 12)]
    """
    out, d0, p0, p = [], 0, 0, 0
    for d, n in enumerate(passages):
        p += n
        if p - p0 >= size or d == len(passages) - 1:
            out.append((d0, d + 1, p0, p))
            d0, p0 = d + 1, p
    return out


class _Ticks:
    """One progress bar over several slices: distinct texts of each slice, the cache's share counted first.

    Before the first slice, the texts of every slice are looked up in the cache (a second lookup, far
    quicker than embedding), so the bar starts at what an earlier run left and its total holds.
    """

    def __init__(self, progress, staged, slices, first_sentence, cache, reuse) -> None:
        self.progress = progress
        self.todo: list[int] = []  # per slice: distinct texts not in the cache
        cached_total = total = 0
        for _, _, p0, p1 in slices:
            passages, sentences = _staged_texts(staged, first_sentence, p0, p1)
            distinct = list(dict.fromkeys(passages + sentences))  # the distinct passages first, as _embed has them
            cached = _cached(distinct, len(set(passages)), cache) if reuse else 0
            self.todo.append(len(distinct) - cached)
            cached_total += cached
            total += len(distinct)
        self.done, self.total, self.at = cached_total, total, 0
        if progress:
            progress(self.done, self.total)

    def slice(self) -> Callable[[int, int], None]:
        first: list[int] = []
        base, most = self.done, self.todo[self.at]

        def tick(done: int, _total: int) -> None:
            if not first:
                first.append(done)
            if self.progress:
                self.progress(base + min(done - first[0], most), self.total)

        return tick

    def end_slice(self) -> None:
        self.done += self.todo[self.at]
        self.at += 1
        if self.progress:
            self.progress(self.done, self.total)


def _cached(texts: list[str], exact: int, cache: VectorCache | None) -> int:
    """How many of `texts` the cache holds; the first `exact` need their float32 vector."""
    if cache is None:
        return 0
    keys = [cache.key(t) for t in texts]
    wanted = [i < exact for i in range(len(texts))]
    return sum(len(cache.get(keys[at : at + FLUSH], wanted[at : at + FLUSH])) for at in range(0, len(keys), FLUSH))


def _embed(
    emb: Embedder,
    texts: list[str],
    sentences: list[str],
    counts: np.ndarray,
    progress: Callable[[int, int], None] | None,
    cache: VectorCache | None,
    reuse: bool,
) -> tuple[np.ndarray, np.ndarray, EmbedCounts]:
    """Passage vectors (float32) and sentence rows (int8) of `texts`, whose sentences (as split_sentences
    gives them) are `sentences`, `counts[i]` of them for passage i."""
    row = {t: i for i, t in enumerate(dict.fromkeys(texts))}
    n_passages = len(row)  # the distinct passages come first, then sentences that are not also a passage
    for t in sentences:
        row.setdefault(t, len(row))
    distinct = list(row)
    keys = [cache.key(t) for t in distinct] if cache is not None else None
    exact = [i < n_passages for i in range(len(distinct))]
    got = embed_cached(emb, distinct, keys, cache, reuse, progress, exact=exact)
    passage_rows = [row[t] for t in texts]
    vectors = got.vectors[passage_rows]
    passage_codes = quantize(got.vectors)
    sentence_codes = np.zeros((len(sentences), got.vectors.shape[1]), dtype=np.int8)
    at = np.array([row[t] for t in sentences], dtype=np.int64)
    of_passage = at < n_passages
    sentence_codes[of_passage] = passage_codes[at[of_passage]]
    sentence_codes[~of_passage] = got.codes[at[~of_passage] - n_passages]
    found = got.cached[:n_passages][passage_rows]
    sentence_only = got.cached[n_passages:]
    report = EmbedCounts(
        passages_embedded=int((~found).sum()),
        passages_cached=int(found.sum()),
        sentences_embedded=int((~sentence_only).sum()),
        sentences_cached=int(sentence_only.sum()),
        seconds=got.seconds,
    )
    if keys is not None:
        ends = np.cumsum(counts).tolist()
        report.keys = [
            [keys[row[text]]] + [keys[row[t]] for t in sentences[end - n : end]]
            for text, n, end in zip(texts, counts.tolist(), ends, strict=True)
        ]
    return vectors, sentence_rows(passage_codes[passage_rows], sentence_codes, counts), report


def split_sentences(texts: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts to embed for each passage's sentence vectors, how many each passage gave, and the
    (start, end) of every sentence row within its passage (so questions never split text again).

    One text per sentence; a passage of one sentence gives none (count 0): its
    passage vector serves. A heading or other scrap shorter than
    MIN_SENTENCE_CHARS is embedded together with the sentence after it, so
    a title line does not match every question about its topic.

    >>> passage = "Intro\\n\\nThis first sentence is long enough to stand. A short one."
    >>> _, counts, spans = split_sentences([passage, "One."])
    >>> counts.tolist(), spans.tolist()
    ([3, 0], [[0, 5], [7, 51], [52, 64], [0, 4]])
    """
    sentences, counts, rows = [], [], []
    for text in texts:
        spans = [(s, e) for s, e, _ in sentence_spans(text)]
        counts.append(len(spans) if len(spans) > 1 else 0)
        rows.extend(spans if len(spans) > 1 else [(0, len(text))])
        if len(spans) > 1:
            for i, (s, e) in enumerate(spans):
                if e - s < MIN_SENTENCE_CHARS:
                    s, e = (s, spans[i + 1][1]) if i + 1 < len(spans) else (spans[i - 1][0], e)
                sentences.append(" ".join(text[s:e].split()))
    return sentences, np.array(counts, dtype=np.int64), np.array(rows, dtype=np.int32).reshape(-1, 2)


def sentence_rows(passage_vectors: np.ndarray, sentence_vectors: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """One row per sentence of each passage, in order; a one-sentence passage repeats its passage vector.

    The rows keep the dtype they are given (the indexer gives int8 codes of both)."""
    rows, at = [], 0
    for i, n in enumerate(counts.tolist()):
        rows.append(sentence_vectors[at : at + n] if n else passage_vectors[i : i + 1])
        at += n
    return np.concatenate(rows) if rows else np.zeros((0, passage_vectors.shape[1]), dtype=passage_vectors.dtype)


def row_offsets(counts: np.ndarray) -> np.ndarray:
    """Where each group of rows begins, and the total: [2, 0, 3] -> [0, 2, 2, 5]."""
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def open_cache(index_dir: Path, fingerprint: str, dim: int) -> VectorCache | None:
    """The vector cache of the index folder, or None (and a warning) if it cannot be had: it only saves work."""
    try:
        return VectorCache.open(index_dir, fingerprint, dim)
    except (OSError, sqlite3.Error) as exc:
        log.warning("indexing without the vector cache in %s: %s", index_dir, exc)
        return None


def document_keys(documents, keys: list[list[bytes]]) -> list[tuple[str, str, list[bytes]]]:
    """(source, hash, cache keys of its passages and sentences) of each article, from its (source, hash,
    passages) and the keys of each passage in turn."""
    out, at = [], 0
    for source, digest, n in documents:
        out.append((source, digest, [k for passage in keys[at : at + n] for k in passage]))
        at += n
    return out
