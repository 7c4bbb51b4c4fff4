"""Articles on disk -> Documents: plain text plus title, author, date, url and origin.

Readers (rag/ingest/readers/) exist for .txt, .md, .html/.htm, .pdf, .docx and .epub.
Offsets elsewhere in the tool are character offsets into `Document.text`, the
text a reader extracted (for plain text: the file after its front matter).
A document also carries where its headings, pages and source lines start, as
offsets into that text, for citations (citation.py).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import CorpusError
from .readers import ARTICLE_TYPES, READER_VERSION, read

__all__ = [
    "ARTICLE_TYPES",
    "READER_VERSION",
    "ArticleFile",
    "Document",
    "Skipped",
    "scan",
    "in_corpus",
    "read_bytes",
    "read_document",
    "file_hash",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArticleFile:
    """A file in the corpus, before it is read."""

    path: Path
    source: str  # path relative to the corpus, with forward slashes
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skipped:
    """A file in the corpus that is not in the index, and why, in words."""

    source: str
    reason: str


@dataclass(frozen=True)
class Document:
    source: str
    text: str
    title: str
    hash: str
    author: str | None = None
    date: str | None = None
    url: str | None = None
    origin: str | None = None  # where the article comes from, in words ("The New Stack")
    headings: tuple[tuple[int, int, str], ...] = ()  # (offset, level, text) of each heading
    pages: tuple[int, ...] = ()  # offset where each page starts (PDF)
    lines: tuple[tuple[int, int], ...] = ()  # (offset, source line) anchors (text and Markdown; see readers)

    @property
    def meta(self) -> dict[str, str | None]:
        return {"title": self.title, "author": self.author, "date": self.date, "url": self.url, "origin": self.origin}


def scan(
    corpus: Path, max_bytes: int | None = None, follow_links: bool = False
) -> tuple[list[ArticleFile], list[Skipped]]:
    """List the articles under `corpus` (sub-folders too), sorted by source.

    Hidden files and folders are passed over with a log line. Other file
    types, broken links, link loops, links to folders, links to files outside
    the corpus, pipes and devices, folders that cannot be listed and files
    over `max_bytes` are skipped and reported, without being read. With
    `follow_links`, links to files and folders outside the corpus are
    followed, but never into /proc, /sys or /dev.
    """
    if not corpus.exists():
        raise CorpusError(f"corpus folder {str(corpus)!r} does not exist: create it or pass --corpus DIR.")
    if not corpus.is_dir():
        raise CorpusError(f"{str(corpus)!r} is not a folder: pass the folder of articles with --corpus DIR.")
    found: list[ArticleFile] = []
    skipped: list[Skipped] = []
    top = os.fspath(corpus)
    real_top = os.path.realpath(top)
    walked: set[tuple[int, int]] = set()  # folders seen, when links are followed: a link loop is walked once

    def relative(path: str) -> str:  # strings, not Path objects: a corpus of thousands is scanned before every question
        return os.path.relpath(path, top).replace(os.sep, "/")

    def unlistable(exc: OSError) -> None:
        skipped.append(Skipped(relative(exc.filename), f"folder cannot be listed ({exc.strerror})"))

    for root, dirs, files in os.walk(top, onerror=unlistable, followlinks=follow_links):
        folder = "" if root == top else relative(root) + "/"
        if follow_links and not _first_visit(root, walked):
            skipped.append(Skipped(folder.rstrip("/"), "link loop (a folder already read); not followed again."))
            dirs[:] = []
            continue
        for hidden in sorted(d for d in dirs if d.startswith(".")):
            log.info("skipping hidden folder %s", folder + hidden)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for linked in [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            reason = _link_reason(os.path.join(root, linked), real_top, follow_links)
            if reason:
                skipped.append(Skipped(folder + linked, reason))
                dirs.remove(linked)
        for name in sorted(files):
            path, source = os.path.join(root, name), folder + name
            if name.startswith("."):
                log.info("skipping hidden file %s", source)
                continue
            if os.path.splitext(name)[1].lower() not in ARTICLE_TYPES:
                log.info("skipping %s: not an article type (%s)", source, ", ".join(ARTICLE_TYPES))
                skipped.append(Skipped(source, "not an article type"))
                continue
            try:
                st = os.stat(path)
                if follow_links or os.path.islink(path):
                    _check_inside(os.path.realpath(path), real_top, follow_links)
                _check_file(st, max_bytes)
            except OSError as exc:
                skipped.append(Skipped(source, _os_reason(exc, Path(path))))
                continue
            except CorpusError as exc:
                skipped.append(Skipped(source, exc.reason))
                continue
            found.append(ArticleFile(Path(path), source, st.st_size, st.st_mtime_ns))
    return sorted(found, key=lambda f: f.source), sorted(skipped, key=lambda s: s.source)


_SPECIAL = ("/proc/", "/sys/", "/dev/")
_OUTSIDE = (
    "link to a file outside the corpus folder; such links are not followed "
    "(rag index --follow-links, or RAG_FOLLOW_LINKS=1, reads them)."
)


def _first_visit(folder: str, walked: set[tuple[int, int]]) -> bool:
    try:
        st = os.stat(folder)
    except OSError:
        return True
    key = (st.st_dev, st.st_ino)
    if key in walked:
        return False
    walked.add(key)
    return True


def _link_reason(path: str, real_top: str, follow_links: bool) -> str | None:
    """Why a link to a folder is not walked, or None when it is (only with `follow_links`)."""
    if not follow_links:
        return "link to a folder; such links are not followed (rag index --follow-links reads them)."
    try:
        _check_inside(os.path.realpath(path), real_top, True)
    except CorpusError as exc:
        return exc.reason
    return None


def _check_inside(real: str, real_top: str, follow_links: bool) -> None:
    """Refuse a file whose real path is in /proc, /sys or /dev, or (unless `follow_links`) outside the corpus."""
    if (real + "/").startswith(_SPECIAL):
        raise CorpusError("link into /proc, /sys or /dev; such files are never read.")
    if not follow_links and os.path.commonpath([real, real_top]) != real_top:
        raise CorpusError(_OUTSIDE)


def _check_file(st: os.stat_result, max_bytes: int | None) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise CorpusError("not a regular file (a pipe, socket or device).")
    if max_bytes is not None and st.st_size > max_bytes:
        raise CorpusError(_too_big(st.st_size, max_bytes))


def _too_big(size: int, max_bytes: int) -> str:
    return (
        f"{size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit for one article; "
        "split it, or raise RAG_MAX_FILE_MB."
    )


def _os_reason(exc: OSError, path: Path) -> str:
    """Why a file cannot be used, in words: "broken link", "no permission to read it", ..."""
    if exc.errno == errno.ENOENT and path.is_symlink():
        return f"broken link (its target {os.readlink(path)!r} does not exist)."
    if exc.errno == errno.ELOOP:
        return "link loop (the link leads back to itself)."
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "no permission to read it; let the user running rag read it."
    return f"cannot be read ({exc.strerror or exc.__class__.__name__})."


def read_bytes(path: Path, source: str, max_bytes: int | None = None, within: Path | None = None) -> bytes:
    """The bytes of an article file, refusing what is not a regular file or is too big.

    The file is opened without blocking and checked on the open descriptor, so
    a pipe put in the corpus cannot hang the indexer, and a file swapped after
    `scan` is still checked: with `within` (the corpus folder), one that is
    then really outside it (or in /proc, /sys or /dev) is refused.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise CorpusError(_os_reason(exc, path), source) from None
    with os.fdopen(fd, "rb") as f:
        try:
            _check_inside(_real_path(fd, path), os.path.realpath(within or "/"), within is None)
            st = os.fstat(fd)
            _check_file(st, max_bytes)
            # read(n) allocates n bytes up front, so ask for the size the file has, not for the limit
            data = f.read() if max_bytes is None else f.read(st.st_size + 1)
            if max_bytes is not None and len(data) > st.st_size:  # it grew since: read on, up to the limit
                data += f.read(max_bytes + 1 - len(data))
        except CorpusError as exc:
            raise CorpusError(exc.reason, source) from None
        except OSError as exc:
            raise CorpusError(_os_reason(exc, path), source) from None
    if max_bytes is not None and len(data) > max_bytes:
        raise CorpusError(_too_big(len(data), max_bytes), source)
    return data


def _real_path(fd: int, path: Path) -> str:
    """Where the open file really is (what the descriptor points to, so a link swapped in after opening is seen)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:  # no /proc: the path as it resolves now
        return os.path.realpath(path)


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_document(article: ArticleFile, data: bytes | None = None) -> Document:
    """Read one article; raises CorpusError with the reason when it has no usable text."""
    if data is None:
        data = read_bytes(article.path, article.source)
    suffix = article.path.suffix.lower()
    if not data.strip():
        raise CorpusError("empty file, no text to index.", article.source)
    reading = read(suffix, data, article.source)
    text, meta = reading.text, reading.meta
    if not text.strip():
        raise CorpusError(_NO_TEXT.get(suffix, "no text to index."), article.source)
    title = _opt(meta.get("title"))
    if not title and suffix in (".txt", ".md", ".markdown"):
        title = _first_line(text)
    title = title or Path(article.source).stem
    return Document(
        source=article.source,
        text=text,
        title=title[:300],
        hash=file_hash(data),
        author=_opt(meta.get("author")),
        date=_opt(meta.get("date")),
        url=_opt(meta.get("url")),
        origin=_opt(meta.get("origin") or meta.get("source")),
        headings=tuple(reading.headings),
        pages=tuple(reading.pages),
        lines=tuple(reading.lines),
    )


_NO_TEXT = {
    ".html": "no text to index (only markup or scripts).",
    ".htm": "no text to index (only markup or scripts).",
    ".xhtml": "no text to index (only markup or scripts).",
    ".md": "no text to index (only markup, links or images).",
    ".markdown": "no text to index (only markup, links or images).",
    ".docx": "Word file with no text in it.",
    ".epub": "EPUB with no text in its chapters.",
}


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()
    return ""


def _opt(value: object) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def in_corpus(corpus: Path, source: str) -> Path | None:
    """The file a citation's `source` names, resolved; None when it would lie outside the corpus folder."""
    root = corpus.resolve()
    path = (root / source).resolve()
    return path if path.is_relative_to(root) else None
