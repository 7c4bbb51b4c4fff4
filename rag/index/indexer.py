"""Corpus + old index -> new index, embedding only what changed.

An article is unchanged when its content hash is the one in the manifest;
its passages and vectors are carried over. New and changed articles are
read, split and embedded; deleted ones drop out. A different model or
chunking, or a damaged index, rebuilds everything, and the report says why.
Articles that cannot be read are skipped and listed with the reason; one bad
file never stops the others from being indexed.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..errors import CorpusError, IndexBusyError, IndexStateError
from ..ingest.chunking import passage_spans, sentence_spans
from ..ingest.documents import READER_VERSION, ArticleFile, Document, Skipped, file_hash, read_bytes, scan
from ..ingest.sandbox import read_documents
from .backends import Backend, open_backend
from .embedding import Embedder
from .faiss.reader import Store
from .faiss.writer import row_offsets
from .schema import IndexChange, Manifest, NewVectors
from .vector_cache import VectorCache, cache_file, embed_cached

__all__ = ["IndexReport", "update_index", "stale_reason", "index_lock"]

log = logging.getLogger(__name__)

LOCK_TIMEOUT = 600.0
MIN_SENTENCE_CHARS = 40


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    passages_embedded: int = 0  # passages of new and changed articles whose vectors were computed
    passages_cached: int = 0  # ... and those taken from the vector cache (an earlier, interrupted run, say)
    sentences_embedded: int = 0  # sentences of multi-sentence passages, embedded for sentence vectors
    sentences_cached: int = 0
    passages_total: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0  # of `seconds`, spent embedding
    rebuilt: str | None = None  # why everything was rebuilt, if it was
    skipped: list[Skipped] = field(default_factory=list)
    waited: bool = False  # another process was updating the index first (not in the JSON summary)

    def to_json(self) -> dict:
        out = asdict(self)
        del out["waited"]
        out["seconds"] = round(self.seconds, 3)
        out["embed_seconds"] = round(self.embed_seconds, 3)
        out["texts_per_second"] = round(self.texts_per_second, 1)
        out["skipped"] = [asdict(s) for s in self.skipped]
        return out

    @property
    def texts_per_second(self) -> float:
        """Passages and sentences embedded per second (0 when nothing was embedded)."""
        done = self.passages_embedded + self.sentences_embedded
        return done / self.embed_seconds if done and self.embed_seconds > 0 else 0.0

    def count(self, counts: EmbedCounts) -> None:
        self.passages_embedded, self.passages_cached = counts.passages_embedded, counts.passages_cached
        self.sentences_embedded, self.sentences_cached = counts.sentences_embedded, counts.sentences_cached
        self.embed_seconds = counts.seconds

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt)


def index_lock(index_dir: Path, timeout: float = LOCK_TIMEOUT):
    """An exclusive lock on the index folder; released by the OS if its holder dies."""
    from filelock import FileLock

    index_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(index_dir / ".lock"), timeout=timeout)


def _rebuild_reason(old: Manifest | None, settings: Settings, model: str, full: bool) -> str | None:
    if old is None:
        return "no index yet"
    if full:
        return "full rebuild requested"
    if old.model != model:
        return f"model changed from {old.model} to {model}"
    if old.chunking != settings.chunking:
        return f"chunking changed from {old.chunking} to {settings.chunking}"
    if old.readers != READER_VERSION:
        return f"article readers changed from version {old.readers} to {READER_VERSION}"
    return None


def stale_reason(settings: Settings, model: str) -> str | None:
    """Why the index does not match the corpus, or None when it is current.

    Cheap: files whose size and mtime match the manifest are not read.
    """
    backend = open_backend(settings)
    try:
        old = backend.read_manifest()
    except IndexStateError as exc:
        return exc.problem
    reason = _rebuild_reason(old, settings, model, full=False)
    if reason:
        return reason
    assert old is not None  # no manifest is a reason to rebuild
    files, _ = scan(settings.corpus, settings.max_file_bytes, settings.follow_links)
    known = {d["source"]: d for d in old.documents}
    unusable = {d.get("source"): d for d in backend.read_skipped()}
    current = {f.source for f in files}
    changed = [f.source for f in files if not _known(f, known, unusable)]
    removed = [s for s in known if s not in current]
    if changed or removed:
        return f"{len(changed)} article(s) new or changed, {len(removed)} removed"
    return None


def _known(f: ArticleFile, known: Mapping[str, Mapping], unusable: Mapping[Any, Mapping]) -> bool:
    """Indexed with this content, or skipped last time and not touched since."""
    if f.source in known:
        return _same_content(f, known[f.source])
    skip = unusable.get(f.source)
    return skip is not None and (skip.get("size"), skip.get("mtime_ns")) == (f.size, f.mtime_ns)


def _same_content(f: ArticleFile, doc: Mapping) -> bool:
    if f.size == doc["size"] and f.mtime_ns == doc["mtime_ns"]:
        return True
    try:
        return file_hash(read_bytes(f.path, f.source)) == doc["hash"]
    except CorpusError:
        return False


def update_index(
    settings: Settings,
    embedder: Callable[[], Embedder] | Embedder,
    full: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Bring the index (`settings.index`, or `settings.store`) in line with `settings.corpus`.

    `embedder` may be a factory, called only if something needs embedding.
    `progress(done, total)` is called as passages are embedded.
    """
    t0 = time.perf_counter()
    if not settings.corpus.is_dir():
        scan(settings.corpus)  # raises with the reason, before the index folder is created
    if settings.index.exists() and not settings.index.is_dir():
        raise IndexStateError(f"{settings.index} is a file, not an index folder", "pass a folder with --index DIR.")
    backend = open_backend(settings)
    try:
        with _locked(backend.lock_dir) as lock:
            files, skipped = scan(settings.corpus, settings.max_file_bytes, settings.follow_links)
            report = _update(settings, backend, files, embedder, full, progress, reuse=not full)
            report.waited = lock.waited
    except OSError as exc:  # disk full, read-only or unwritable index folder...
        raise IndexStateError(
            f"cannot write the index in {settings.index} ({exc.strerror or exc})",
            "free some space or fix the folder's permissions, then run `rag index` again; "
            "the previous index is unchanged.",
        ) from None
    report.skipped = sorted(skipped + report.skipped, key=lambda s: s.source)
    report.seconds = time.perf_counter() - t0
    return report


class _locked:
    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.lock = index_lock(index_dir)
        self.waited = False

    def __enter__(self):
        from filelock import Timeout

        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            self.waited = True
            log.warning("another process is updating the index in %r; waiting for it to finish", str(self.index_dir))
            try:
                self.lock.acquire(timeout=LOCK_TIMEOUT)
            except Timeout:
                raise IndexBusyError(
                    f"another process has been updating the index in {str(self.index_dir)!r} for "
                    f"{LOCK_TIMEOUT / 60:g} minutes: wait for it to finish, then try again."
                ) from None
        return self

    def __exit__(self, *exc):
        self.lock.release()


def _update(settings, backend: Backend, files, embedder, full, progress, reuse: bool = True) -> IndexReport:
    model = embedder.name if isinstance(embedder, Embedder) else settings.model
    old, reason = _open_old(settings, backend, model, full)
    if reason and files and not isinstance(embedder, Embedder):
        embedder = embedder()  # an unknown model fails here, before any work is done
    known = {d["source"]: (i, d) for i, d in enumerate(old.manifest.documents)} if old else {}

    report = IndexReport(rebuilt=reason)
    kept, fresh, unusable = _read_corpus(settings, files, known, report)
    present = {f.source for f, *_ in kept} | {f.source for f, *_ in fresh}
    report.removed = sum(1 for s in known if s not in present)
    backend.write_skipped(unusable)

    old_docs = old.manifest.documents if old else []
    stat_drift = any(f.size != d["size"] or f.mtime_ns != d["mtime_ns"] for f, d, _ in kept)
    if old and not report.changed and not stat_drift and len(old_docs) == len(kept):
        report.passages_total = len(old)
        backend.tidy()
        return report
    if old:
        try:
            backend.verify(old)  # the new generation is built on the old: check all of it
        except IndexStateError as exc:
            log.warning("rebuilding the whole index: %s", exc.problem)
            report = _update(settings, backend, files, embedder, True, progress, reuse)
            report.rebuilt = exc.problem
            return report

    new_texts = [doc.text[s:e] for _, doc, spans in fresh for s, e in spans]
    cache = None
    try:
        if new_texts:
            emb = embedder() if not isinstance(embedder, Embedder) else embedder
            # the cache lives in the index folder; an index kept in Milvus writes nothing beside the corpus
            cache = _open_cache(settings.index, emb.fingerprint, emb.dim) if settings.store is None else None
            *arrays, counts = embed_passages(emb, new_texts, progress, cache, reuse)
            new = NewVectors(*arrays)
            report.count(counts)
            dim = emb.dim
            if cache is not None:  # before the write: what the new generation will use is known to the cache
                cache.record_documents(_document_keys(fresh, counts.keys))
        else:
            dim = old.manifest.dim if old else _dim_of(embedder)
            new = NewVectors.empty(dim)
        manifest = backend.write(settings, old, IndexChange(model, dim, kept, fresh, new))
        if cache is None and settings.store is None and cache_file(settings.index).is_file():
            cache = _open_cache(settings.index, "", dim)  # only to drop what the deleted articles used
        if cache is not None:
            cache.prune({(d["source"], d["hash"]) for d in manifest.documents})
    finally:
        if cache is not None:
            cache.close()
    report.passages_total = manifest.passages
    return report


def _open_cache(index_dir: Path, fingerprint: str, dim: int) -> VectorCache | None:
    """The vector cache of the index folder, or None (and a warning) if it cannot be had: it only saves work."""
    try:
        return VectorCache.open(index_dir, fingerprint, dim)
    except (OSError, sqlite3.Error) as exc:
        log.warning("indexing without the vector cache in %s: %s", index_dir, exc)
        return None


def _document_keys(fresh, keys: list[list[bytes]]) -> list[tuple[str, str, list[bytes]]]:
    """(source, hash, cache keys of its passages and sentences) of each fresh article."""
    out, at = [], 0
    for f, doc, spans in fresh:
        out.append((f.source, doc.hash, [k for passage in keys[at : at + len(spans)] for k in passage]))
        at += len(spans)
    return out


def _open_old(settings: Settings, backend: Backend, model: str, full: bool) -> tuple[Store | None, str | None]:
    """The live generation if it can be built upon, and why everything is rebuilt otherwise.

    A missing index gives (None, None); a damaged or foreign one (None, why).
    """
    try:
        old_manifest = backend.read_manifest()
        old = backend.load() if old_manifest else None
    except IndexStateError as exc:
        log.warning("rebuilding the whole index: %s", exc.problem)
        return None, exc.problem
    if old_manifest is None:
        return None, None
    reason = _rebuild_reason(old_manifest, settings, model, full)
    if reason:
        log.warning("rebuilding the whole index: %s", reason)
        return None, reason
    return old, None


def _read_corpus(settings, files, known, report):
    """Sort the corpus into kept (unchanged), fresh (read and split) and unusable (skipped, with why).

    Files are read by the worker processes of sandbox.py, a few at a time: a
    reader that crashes, runs out of memory or overruns skips that file only.
    """
    kept: list[tuple[ArticleFile, dict, int]] = []  # unchanged: file, old doc meta, old doc number
    fresh: list[tuple[ArticleFile, Document, list[tuple[int, int]]]] = []
    unusable: list[dict] = []
    within = None if settings.follow_links else settings.corpus

    def skip(f: ArticleFile, reason: str) -> None:
        log.info("skipping %s: %s", f.source, reason)
        report.skipped.append(Skipped(f.source, reason))
        unusable.append({"source": f.source, "size": f.size, "mtime_ns": f.mtime_ns, "reason": reason})

    def changed():
        for f in files:
            prior = known.get(f.source)
            try:
                data = read_bytes(f.path, f.source, settings.max_file_bytes, within=within)
            except CorpusError as exc:
                skip(f, exc.reason)
                continue
            if prior and prior[1]["hash"] == file_hash(data):
                kept.append((f, prior[1], prior[0]))
                report.unchanged += 1
                continue
            yield f, data

    for f, doc in read_documents(changed(), settings):
        if isinstance(doc, CorpusError):
            skip(f, doc.reason)
            continue
        prior = known.get(f.source)
        fresh.append((f, doc, passage_spans(doc.text, settings.chunk_size, settings.chunk_overlap)))
        report.updated += bool(prior)
        report.added += not prior
    return kept, fresh, unusable


def _dim_of(embedder) -> int:
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
    """Passage vectors, sentence vectors, the first sentence row of each passage, sentence spans,
    and what was embedded and what came from `cache` (read unless not `reuse`; written to as it goes).

    A text met twice (a sentence in the overlap of two passages, a repeated
    line) is embedded once: a vector does not depend on what else is embedded
    (a test checks it), so the copies are exact. `progress(done, total)` counts
    distinct texts, passages and sentences alike.
    """
    sentences, counts, spans = split_sentences(texts)
    every = texts + sentences
    row = {t: i for i, t in enumerate(dict.fromkeys(every))}
    distinct = list(row)
    keys = [cache.key(t) for t in distinct] if cache is not None else None
    passage_rows = np.array([row[t] for t in texts], dtype=np.int64)
    sentence_only = np.ones(len(distinct), dtype=bool)
    sentence_only[passage_rows] = False
    got = embed_cached(emb, distinct, keys, cache, reuse, progress, exact=(~sentence_only).tolist())
    embedded = got.vectors[[row[t] for t in every]]
    vectors = embedded[: len(texts)]
    found = got.cached[passage_rows]
    report = EmbedCounts(
        passages_embedded=int((~found).sum()),
        passages_cached=int(found.sum()),
        sentences_embedded=int((sentence_only & ~got.cached).sum()),
        sentences_cached=int((sentence_only & got.cached).sum()),
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
        sentence_rows(vectors, embedded[len(texts) :], counts),
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
    """One row per sentence of each passage, in order; a one-sentence passage repeats its passage vector."""
    rows, at = [], 0
    for i, n in enumerate(counts.tolist()):
        rows.append(sentence_vectors[at : at + n] if n else passage_vectors[i : i + 1])
        at += n
    return np.concatenate(rows) if rows else np.zeros((0, passage_vectors.shape[1]), dtype=np.float32)
