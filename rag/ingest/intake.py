"""Files -> articles in the corpus: the one way in, for `rag add`, `Engine.add` and the web page's uploads.

    report = add_files(corpus, [Path("notes.md"), Path("photo.jpg")], max_bytes=20_000_000,
                       indexed=dict, overwrite=False, update=engine.update)
    report.added     # [Added(source="notes.md", title="Notes", original="notes.md")]
    report.rejected  # [Rejected(name="photo.jpg", reason="only .txt, .md, ... files can be added.")]

Every file is read with the reader the indexer uses before anything is
written, so a file that cannot be read never reaches the corpus. Names are
made safe (no folders, no hidden files). A name already taken gets a number
(`notes-2.md`), unless `overwrite` is given: then the article is replaced,
and its old bytes are kept until the index is updated. If the update fails,
every file written is taken back: the corpus and the index are as they were.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from ..atomic import write_atomic
from ..errors import CorpusError
from .documents import ARTICLE_TYPES, ArticleFile, Document, read_bytes
from .sandbox import read_here

__all__ = ["Added", "Rejected", "AddReport", "safe_name", "add_files"]

log = logging.getLogger(__name__)

R = TypeVar("R")  # what `update` reports: the indexer's IndexReport

MAX_NAME_BYTES = 120


@dataclass(frozen=True)
class Added:
    source: str  # where it was saved, relative to the corpus
    title: str
    original: str  # the file's own name
    replaced: bool = False  # an article of that name was overwritten

    @property
    def renamed(self) -> bool:
        return self.source != self.original


@dataclass(frozen=True)
class Rejected:
    name: str
    reason: str


@dataclass
class AddReport(Generic[R]):
    added: list[Added] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    index: R | None = None  # the index update's report; None when nothing was added


@dataclass(frozen=True)
class _Checked:
    original: str
    name: str  # the safe name to save it under
    data: bytes
    hash: str
    title: str


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


def add_files(
    corpus: Path,
    files: Sequence[Path],
    *,
    max_bytes: int,
    indexed: Callable[[], dict[str, str]],
    overwrite: bool,
    update: Callable[[], R],
    read: Callable[[ArticleFile, bytes], Document | CorpusError] = read_here,
) -> AddReport[R]:
    """Check each file, save the good ones into `corpus`, then `update()` the index.

    `indexed()` maps the content hashes of the articles already indexed to
    their sources, so that a second copy of an article is refused; it is
    called only once some file has been read well. `read` reads one file
    (the engine's reads in a worker process, as the indexer does) and returns
    the CorpusError saying why it cannot be used rather than raising.
    """
    report: AddReport[R] = AddReport()
    results = [_check(f, max_bytes, read) for f in map(Path, files)]
    known = dict(indexed()) if any(isinstance(r, _Checked) for r in results) else {}
    checked: list[_Checked] = []
    for result in results:
        if isinstance(result, _Checked) and result.hash in known:
            result = Rejected(result.original, f"already in the corpus as {known[result.hash]}.")
        if isinstance(result, Rejected):
            report.rejected.append(result)
            continue
        known[result.hash] = f"{result.original} (given just before)"
        checked.append(result)
    if not checked:
        return report
    corpus.mkdir(parents=True, exist_ok=True)
    undo: list[tuple[Path, bytes | None]] = []  # each file written, and the bytes it held before
    try:
        for c in checked:
            target, old = _save(corpus, c.name, c.data, overwrite)
            undo.append((target, old))
            source = target.relative_to(corpus).as_posix()
            report.added.append(Added(source, c.title, c.original, replaced=old is not None))
        report.index = update()
    except BaseException:
        for path, old in reversed(undo):
            if old is None:
                path.unlink(missing_ok=True)
            else:
                write_atomic(path, old)
        raise
    return report


def _check(f: Path, max_bytes: int, read) -> _Checked | Rejected:
    name = safe_name(f.name)
    if not f.exists():
        return Rejected(f.name, "does not exist: check the file name.")
    if f.is_dir():
        return Rejected(f.name, "is a folder: give article files.")
    if Path(name).suffix.lower() not in ARTICLE_TYPES:
        return Rejected(f.name, f"only {', '.join(ARTICLE_TYPES)} files can be added.")
    try:
        size = f.stat().st_size
        if size > max_bytes:
            return Rejected(f.name, f"{size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB.")
        data = read_bytes(f, f.name, max_bytes)  # a pipe or device given by mistake is refused, not read forever
    except OSError as exc:
        return Rejected(f.name, f"could not be read ({exc.strerror}).")
    except CorpusError as exc:
        return Rejected(f.name, exc.reason)
    doc = read(ArticleFile(Path(name), name, size, 0), data)
    if isinstance(doc, CorpusError):
        return Rejected(f.name, doc.reason)
    return _Checked(f.name, name, data, doc.hash, doc.title)


def _save(corpus: Path, name: str, data: bytes, overwrite: bool) -> tuple[Path, bytes | None]:
    """Write `data` as `name` in `corpus`; returns the path and, when it replaced an article, that article's bytes.

    Without `overwrite`, a taken name becomes `stem-2.ext`, `stem-3.ext`, ...: nothing is ever replaced.
    """
    if overwrite and (corpus / name).is_file():
        target = corpus / name
        old = target.read_bytes()
        write_atomic(target, data)
        log.info("replaced %s", target)
        return target, old
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
        log.info("saved %s", target)
        return target, None
    raise CorpusError(f"{name}: too many articles of this name in the corpus; rename the file and try again.")
