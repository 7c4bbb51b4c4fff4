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
import time
from collections.abc import Callable
from functools import partial

from ..config import Settings
from ..errors import IndexStateError
from ..ingest.documents import scan
from .backends import Backend, open_backend
from .changes import read_corpus, rebuild_reason
from .embedding import Embedder
from .faiss.reader import Store
from .lock import Locked
from .passage_vectors import dim_of, embed_staged, open_cache, stage_passages
from .report import IndexReport
from .schema import IndexChange, NewVectors
from .staging import Staging
from .vector_cache import cache_file

__all__ = ["update_index"]

log = logging.getLogger(__name__)


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
        with Locked(backend.lock_dir) as lock:
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


def _update(settings, backend: Backend, files, embedder, full, progress, reuse: bool = True) -> IndexReport:
    model = embedder.name if isinstance(embedder, Embedder) else settings.model
    old, reason = _open_old(settings, backend, model, full)
    if (reason or old is None) and files and not isinstance(embedder, Embedder):
        # everything is to be embedded: an unknown model fails here, before any work is done, and a
        # first export of the model runs before the article readers start, not beside them
        embedder = embedder()
    known = {d["source"]: (i, d) for i, d in enumerate(old.manifest.documents)} if old else {}

    report = IndexReport(rebuilt=reason)
    # the fresh articles' passages wait on disk to be embedded: an index kept in Milvus writes nothing beside the corpus
    with Staging(settings.index if settings.store is None else None) as staged:
        kept, fresh, unusable = read_corpus(settings, files, known, report, partial(stage_passages, staged))
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
                staged.close()
                report = _update(settings, backend, files, embedder, True, progress, reuse)
                report.rebuilt = exc.problem
                return report
        manifest = _write(settings, backend, old, model, kept, fresh, staged, embedder, progress, reuse, report)
    report.passages_total = manifest.passages
    return report


def _write(settings, backend: Backend, old, model, kept, fresh, staged: Staging, embedder, progress, reuse, report):
    """Embed the staged passages of the fresh articles and write the new generation; its manifest."""
    cache = None
    try:
        if len(staged.passages):
            emb = embedder() if not isinstance(embedder, Embedder) else embedder
            # the cache lives in the index folder; an index kept in Milvus writes nothing beside the corpus
            cache = open_cache(settings.index, emb.fingerprint, emb.dim) if settings.store is None else None
            documents = [(f.source, entry["hash"], len(spans)) for f, entry, spans in fresh]
            new, counts = embed_staged(emb, staged, documents, progress, cache, reuse)
            report.count(counts)
            dim = emb.dim
        else:
            dim = old.manifest.dim if old else dim_of(embedder)
            new = NewVectors.empty(dim)
        change = IndexChange(model, dim, kept, fresh, new, staged.passages.get)
        manifest = backend.write(settings, old, change)
        if cache is None and settings.store is None and cache_file(settings.index).is_file():
            cache = open_cache(settings.index, "", dim)  # only to drop what the deleted articles used
        if cache is not None:
            cache.prune({(d["source"], d["hash"]) for d in manifest.documents})
    finally:
        if cache is not None:
            cache.close()
    return manifest


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
    reason = rebuild_reason(old_manifest, settings, model, full)
    if reason:
        log.warning("rebuilding the whole index: %s", reason)
        return None, reason
    return old, None
