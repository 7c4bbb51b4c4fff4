"""Corpus + old index -> new index, embedding only what changed.

An article is unchanged when its content hash is the one in the manifest;
its passages and vectors are carried over. New and changed articles are
read, split and embedded; deleted ones drop out. A different model or
chunking rebuilds everything, and the report says why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .chunking import passage_spans
from .config import Settings
from .documents import ArticleFile, Document, Skipped, file_hash, read_document, scan
from .embedding import Embedder
from .errors import CorpusError, IndexBusyError, IndexStateError
from .store import PASSAGE_DTYPE, Manifest, Store, read_manifest, remove_stale, write_store

__all__ = ["IndexReport", "update_index", "stale_reason", "index_lock"]

log = logging.getLogger(__name__)

LOCK_TIMEOUT = 600.0


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    passages_embedded: int = 0
    passages_total: int = 0
    seconds: float = 0.0
    rebuilt: str | None = None  # why everything was rebuilt, if it was
    skipped: list[Skipped] = field(default_factory=list)

    def to_json(self) -> dict:
        out = asdict(self)
        out["seconds"] = round(self.seconds, 3)
        out["skipped"] = [asdict(s) for s in self.skipped]
        return out

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
    return None


def stale_reason(settings: Settings, model: str) -> str | None:
    """Why the index does not match the corpus, or None when it is current.

    Cheap: files whose size and mtime match the manifest are not read.
    """
    try:
        old = read_manifest(settings.index)
    except IndexStateError as exc:
        return str(exc)
    reason = _rebuild_reason(old, settings, model, full=False)
    if reason:
        return reason
    files, _ = scan(settings.corpus)
    known = {d["source"]: d for d in old.documents}
    current = {f.source for f in files}
    changed = [f.source for f in files if f.source not in known or not _same_content(f, known[f.source])]
    removed = [s for s in known if s not in current]
    if changed or removed:
        return f"{len(changed)} article(s) new or changed, {len(removed)} removed"
    return None


def _same_content(f: ArticleFile, doc: dict) -> bool:
    if f.size == doc["size"] and f.mtime_ns == doc["mtime_ns"]:
        return True
    try:
        return file_hash(f.path.read_bytes()) == doc["hash"]
    except OSError:
        return False


def update_index(
    settings: Settings,
    embedder: Callable[[], Embedder] | Embedder,
    full: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Bring the index in `settings.index` in line with `settings.corpus`.

    `embedder` may be a factory, called only if something needs embedding.
    `progress(done, total)` is called as passages are embedded.
    """
    t0 = time.perf_counter()
    files, skipped = scan(settings.corpus)
    with _locked(settings.index):
        report = _update(settings, files, embedder, full, progress)
    report.skipped = skipped + report.skipped
    report.seconds = time.perf_counter() - t0
    return report


class _locked:
    def __init__(self, index_dir: Path) -> None:
        self.lock = index_lock(index_dir)

    def __enter__(self):
        from filelock import Timeout

        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            log.warning("another process is updating the index; waiting for it")
            try:
                self.lock.acquire(timeout=LOCK_TIMEOUT)
            except Timeout:
                raise IndexBusyError(
                    "another `rag index` has held the index for 10 minutes: wait for it to finish, then try again."
                ) from None
        return self

    def __exit__(self, *exc):
        self.lock.release()


def _update(settings, files, embedder, full, progress) -> IndexReport:
    model = embedder.name if isinstance(embedder, Embedder) else settings.model
    try:
        old_manifest = read_manifest(settings.index)
        old = Store.load(settings.index) if old_manifest else None
    except IndexStateError as exc:
        log.warning("%s Rebuilding it.", exc)
        old_manifest, old = None, None
    reason = _rebuild_reason(old_manifest, settings, model, full)
    if reason and old_manifest is not None:
        log.warning("rebuilding the whole index: %s", reason)
        old = None
    known = {d["source"]: (i, d) for i, d in enumerate(old.manifest.documents)} if old else {}

    report = IndexReport(rebuilt=reason if old_manifest is not None else None)
    kept: list[tuple[ArticleFile, dict, int]] = []  # unchanged: file, old doc meta, old doc number
    fresh: list[tuple[ArticleFile, Document, list[tuple[int, int]]]] = []
    for f in files:
        try:
            data = f.path.read_bytes()
        except OSError as exc:
            report.skipped.append(Skipped(f.source, exc.strerror or "cannot be read"))
            continue
        digest = file_hash(data)
        prior = known.get(f.source)
        if prior and prior[1]["hash"] == digest:
            kept.append((f, prior[1], prior[0]))
            report.unchanged += 1
            continue
        try:
            doc = read_document(f, data)
        except CorpusError as exc:
            log.warning("skipping %s", exc)
            report.skipped.append(Skipped(f.source, str(exc).removeprefix(f.source + ": ")))
            continue
        fresh.append((f, doc, passage_spans(doc.text, settings.chunk_size, settings.chunk_overlap)))
        if prior:
            report.updated += 1
        else:
            report.added += 1
    present = {f.source for f, *_ in kept} | {f.source for f, *_ in fresh}
    report.removed = sum(1 for s in known if s not in present)

    old_docs = old.manifest.documents if old else []
    stat_drift = any(f.size != d["size"] or f.mtime_ns != d["mtime_ns"] for f, d, _ in kept)
    if old and not report.changed and not stat_drift and len(old_docs) == len(kept):
        report.passages_total = len(old)
        remove_stale(settings.index)
        return report

    new_texts = [doc.text[s:e] for _, doc, spans in fresh for s, e in spans]
    report.passages_embedded = len(new_texts)
    if new_texts:
        emb = embedder() if not isinstance(embedder, Embedder) else embedder
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, len(new_texts))

        new_vectors = emb.embed(new_texts, progress=step)
        dim = emb.dim
    else:
        dim = old.manifest.dim if old else _dim_of(embedder)
        new_vectors = np.zeros((0, dim), dtype=np.float32)
    manifest = _write(settings, model, dim, old, kept, fresh, new_vectors)
    report.passages_total = manifest.passages
    return report


def _dim_of(embedder) -> int:
    emb = embedder if isinstance(embedder, Embedder) else embedder()
    return emb.dim


def _write(settings, model, dim, old, kept, fresh, new_vectors) -> Manifest:
    """Assemble kept and fresh articles, in source order, into a new generation."""
    entries = [(item[0].source, "kept", item) for item in kept]
    at = 0
    for item in fresh:
        entries.append((item[0].source, "fresh", (*item, at)))
        at += len(item[2])
    entries.sort(key=lambda e: e[0])

    docs, rows, texts, vectors, reuse = [], [], [], [], []
    old_vectors = old.vectors() if old else None
    for number, (source, kind, item) in enumerate(entries):
        if kind == "kept":
            f, meta, _ = item
            first, count = meta["first"], meta["count"]
            rows_of = old.passages[first : first + count]
            spans = list(zip(rows_of["start"].tolist(), rows_of["end"].tolist(), strict=True))
            texts.extend(old.texts(first, count))
            vectors.append(old_vectors[first : first + count])
            reuse.append(np.arange(first, first + count))
            info = {k: meta.get(k) for k in ("hash", "title", "author", "date", "url", "origin")}
        else:
            f, doc, spans, offset = item
            texts.extend(doc.text[s:e] for s, e in spans)
            vectors.append(new_vectors[offset : offset + len(spans)])
            reuse.append(np.full(len(spans), -1))
            info = {"hash": doc.hash, **doc.meta}
        docs.append(
            {"source": source, **info, "size": f.size, "mtime_ns": f.mtime_ns, "first": len(rows), "count": len(spans)}
        )
        rows.extend((number, s, e) for s, e in spans)
    manifest = Manifest(
        model=model, dim=dim, chunking=settings.chunking, documents=docs, passages=len(rows), created=time.time()
    )
    all_vectors = np.concatenate(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)
    reuse_ids = np.concatenate(reuse) if reuse else np.zeros(0, dtype=np.int64)
    passages = np.array(rows, dtype=PASSAGE_DTYPE)
    write_store(settings.index, manifest, passages, texts, all_vectors, previous=old, reuse_ids=reuse_ids)
    return manifest
