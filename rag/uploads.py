"""Uploaded files -> articles in the corpus: checked before they are copied, taken back if indexing fails.

    report = add_uploads(engine, [Path("/tmp/upload/notes.md")], max_bytes=20_000_000)
    report.added     # [Added(source="notes.md", title="Notes", original="notes.md")]
    report.rejected  # [Rejected(name="photo.jpg", reason="...only .txt, .md, ... files can be added.")]

A file is read with the same reader the indexer uses before anything is
written, so a file that cannot be read never reaches the corpus. Names are
made safe (no folders, no hidden files) and never replace an article: a
different article of the same name is saved under a numbered name.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .documents import ARTICLE_TYPES, ArticleFile, Document, file_hash, read_document
from .errors import CorpusError
from .indexer import IndexReport

__all__ = ["Added", "Rejected", "UploadReport", "safe_name", "add_uploads"]

log = logging.getLogger(__name__)

MAX_NAME_BYTES = 120


@dataclass(frozen=True)
class Added:
    source: str  # where it was saved, relative to the corpus
    title: str
    original: str  # the name it was uploaded under

    @property
    def renamed(self) -> bool:
        return self.source != self.original


@dataclass(frozen=True)
class Rejected:
    name: str
    reason: str


@dataclass
class UploadReport:
    added: list[Added] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    index: IndexReport | None = None


def safe_name(name: str) -> str:
    """A name that is safe to create in the corpus folder: no folders, not hidden, no odd characters.

    >>> safe_name("../../etc/Ünïcode notes (v2).MD")
    'Ünïcode-notes-v2.md'
    >>> safe_name("..hidden.txt"), safe_name("C:\\\\temp\\\\a b.txt"), safe_name("$$$.pdf")
    ('hidden.txt', 'a-b.txt', 'article.pdf')
    """
    base = unicodedata.normalize("NFKC", re.split(r"[\\/]", name)[-1])
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = suffix, ""
    stem = re.sub(r"[^\w.-]+", "-", stem).strip("-._") or "article"
    while len(stem.encode()) > MAX_NAME_BYTES:
        stem = stem[:-1]
    suffix = re.sub(r"[^\w]+", "", suffix).lower()
    return f"{stem}.{suffix}" if suffix else stem


def add_uploads(
    engine,
    files: Sequence[Path],
    max_bytes: int,
    progress: Callable[[int, int], None] | None = None,
) -> UploadReport:
    """Check each file, copy the good ones into the corpus, update the index.

    If the index update fails, the copies are removed again and the error is
    raised: the corpus and the index are as they were.
    """
    report = UploadReport()
    known = {d["hash"]: d["source"] for d in engine.store().manifest.documents}
    staged: list[tuple[Path, bytes, Document]] = []
    for f in map(Path, files):
        checked = _check(f, max_bytes, known)
        if isinstance(checked, Rejected):
            report.rejected.append(checked)
            continue
        data, doc = checked
        known[doc.hash] = f"{f.name} (in this upload)"
        staged.append((f, data, doc))
    corpus = engine.settings.corpus
    corpus.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for f, data, doc in staged:
            target = _write_new(corpus, doc.source, data)
            written.append(target)
            report.added.append(Added(target.name, doc.title, f.name))
        if written:
            report.index = engine.update(progress=progress)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return report


def _check(f: Path, max_bytes: int, known: dict[str, str]) -> tuple[bytes, Document] | Rejected:
    name = safe_name(f.name)
    if Path(name).suffix.lower() not in ARTICLE_TYPES:
        return Rejected(f.name, f"only {', '.join(ARTICLE_TYPES)} files can be added.")
    try:
        size = f.stat().st_size
        if size > max_bytes:
            return Rejected(f.name, f"{size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB.")
        data = f.read_bytes()
    except OSError as exc:
        return Rejected(f.name, f"could not be read ({exc.strerror}).")
    try:
        doc = read_document(ArticleFile(Path(name), name, size, 0), data)
    except CorpusError as exc:
        return Rejected(f.name, exc.reason)
    if file_hash(data) in known:
        return Rejected(f.name, f"already in the corpus as {known[file_hash(data)]}.")
    return data, doc


def _write_new(corpus: Path, name: str, data: bytes) -> Path:
    """Create `name` in `corpus`, or `stem-2.ext`, `stem-3.ext`, ... if taken; never replaces a file."""
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(1, 1000):
        target = corpus / (name if n == 1 else f"{stem}-{n}{suffix}")
        try:
            out = target.open("xb")
        except FileExistsError:
            continue
        try:
            with out:
                out.write(data)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        log.info("saved upload as %s", target)
        return target
    raise CorpusError(f"{name}: too many articles of this name in the corpus; rename the file and try again.")
