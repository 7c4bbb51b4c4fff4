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
from .vector_cache import VectorCache, embed_cached

__all__ = ["EmbedCounts", "embed_passages", "split_sentences", "sentence_rows", "row_offsets", "open_cache"]

log = logging.getLogger(__name__)

MIN_SENTENCE_CHARS = 40


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
    return (
        vectors,
        sentence_rows(passage_codes[passage_rows], sentence_codes, counts),
        row_offsets(np.maximum(counts, 1)),
        spans,
        report,
    )


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


def document_keys(fresh, keys: list[list[bytes]]) -> list[tuple[str, str, list[bytes]]]:
    """(source, hash, cache keys of its passages and sentences) of each fresh article."""
    out, at = [], 0
    for f, doc, spans in fresh:
        out.append((f.source, doc.hash, [k for passage in keys[at : at + len(spans)] for k in passage]))
        at += len(spans)
    return out
