"""What changed between the corpus and the index: why everything must be rebuilt, or which articles are
unchanged (kept), new or changed (read and split: fresh), and unreadable (skipped, with why)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..config import Settings
from ..errors import CorpusError, IndexStateError
from ..ingest.chunking import passage_spans
from ..ingest.documents import READER_VERSION, ArticleFile, Skipped, file_hash, read_bytes, scan
from ..ingest.sandbox import read_documents
from .backends import open_backend
from .report import IndexReport
from .schema import Fresh, Kept, Manifest, fresh_entry

__all__ = ["rebuild_reason", "stale_reason", "read_corpus"]

log = logging.getLogger(__name__)


def rebuild_reason(old: Manifest | None, settings: Settings, model: str, full: bool) -> str | None:
    if old is None:
        return "no index yet"
    if full:
        return "full rebuild requested"
    if old.model != model:
        return f"model changed from {old.model} to {model}"
    if old.chunking != settings.chunking:
        if {**old.chunking, "rule": settings.chunking["rule"]} == settings.chunking:
            return "chunking changed: passages are cut by a newer rule"
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
    reason = rebuild_reason(old, settings, model, full=False)
    if reason:
        return reason
    assert old is not None  # no manifest is a reason to rebuild
    files, _ = scan(settings.corpus, settings.max_file_bytes, settings.follow_links)
    known = {d["source"]: d for d in old.documents}
    unusable = {d.get("source"): d for d in backend.read_skipped()}
    current = {f.source for f in files}
    changed = [f.source for f in files if not is_known(f, known, unusable)]
    removed = [s for s in known if s not in current]
    if changed or removed:
        return f"{len(changed)} article(s) new or changed, {len(removed)} removed"
    return None


def is_known(f: ArticleFile, known: Mapping[str, Mapping], unusable: Mapping[Any, Mapping]) -> bool:
    """Indexed with this content, or skipped last time and not touched since."""
    if f.source in known:
        return same_content(f, known[f.source])
    skip = unusable.get(f.source)
    return skip is not None and (skip.get("size"), skip.get("mtime_ns")) == (f.size, f.mtime_ns)


def same_content(f: ArticleFile, doc: Mapping) -> bool:
    if f.size == doc["size"] and f.mtime_ns == doc["mtime_ns"]:
        return True
    try:
        return file_hash(read_bytes(f.path, f.source)) == doc["hash"]
    except CorpusError:
        return False


def read_corpus(
    settings: Settings,
    files: list[ArticleFile],
    known: Mapping[str, tuple[int, Any]],
    report: IndexReport,
    stage: Callable[[list[str]], None],
) -> tuple[list[Kept], list[Fresh], list[dict]]:
    """Sort the corpus into kept (unchanged), fresh (read and split) and unusable (skipped, with why).

    Files are read by the worker processes of sandbox.py, a few at a time: a
    reader that crashes, runs out of memory or overruns skips that file only.
    The passage texts of each fresh article go to `stage` as it is read; only
    its entry and passage spans (an array: 16 bytes a passage) are kept, not its text.
    """
    kept: list[Kept] = []
    fresh: list[Fresh] = []
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
        heads = [(at, at + len(text)) for at, _, text in doc.headings]
        spans = passage_spans(doc.text, settings.chunk_size, settings.chunk_overlap, heads)
        stage([doc.text[s:e] for s, e in spans])
        fresh.append((f, fresh_entry(f, doc, spans), np.array(spans, dtype=np.int64).reshape(-1, 2)))
        report.updated += bool(prior)
        report.added += not prior
    return kept, fresh, unusable
