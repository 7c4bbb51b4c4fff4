"""Articles on disk -> Documents: plain text plus title, author, date, url and origin.

Readers exist for .txt, .md, .html/.htm and .pdf. Offsets elsewhere in the
tool are character offsets into `Document.text`, the text a reader extracted
(for text and markdown: the file after its front matter).
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import CorpusError

__all__ = ["ARTICLE_TYPES", "ArticleFile", "Document", "Skipped", "scan", "read_document", "file_hash"]

log = logging.getLogger(__name__)

ARTICLE_TYPES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")


@dataclass(frozen=True)
class ArticleFile:
    """A file in the corpus, before it is read."""

    path: Path
    source: str  # path relative to the corpus, with forward slashes
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skipped:
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

    @property
    def meta(self) -> dict[str, str | None]:
        return {"title": self.title, "author": self.author, "date": self.date, "url": self.url, "origin": self.origin}


def scan(corpus: Path) -> tuple[list[ArticleFile], list[Skipped]]:
    """List the articles under `corpus` (sub-folders too), sorted by source.

    Hidden files and folders are passed over and other file types skipped,
    each with one log line; skipped types are also reported. Symbolic links
    to folders are not followed.
    """
    if not corpus.is_dir():
        raise CorpusError(f"corpus folder {str(corpus)!r} does not exist: create it or pass --corpus DIR.")
    found: list[ArticleFile] = []
    skipped: list[Skipped] = []
    _scan_folder(corpus, "", found, skipped)
    return sorted(found, key=lambda f: f.source), skipped


def _scan_folder(folder: Path, prefix: str, found: list[ArticleFile], skipped: list[Skipped]) -> None:
    """One folder: hidden sub-folders logged first, then its files, then its sub-folders (as os.walk goes)."""
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    folders = [e for e in entries if e.is_dir()]
    for e in folders:
        if e.name.startswith("."):
            log.info("skipping hidden folder %s", prefix + e.name)
    for e in entries:
        if e.is_dir():
            continue
        source = prefix + e.name
        if e.name.startswith("."):
            log.info("skipping hidden file %s", source)
            continue
        if os.path.splitext(e.name)[1].lower() not in ARTICLE_TYPES:
            log.info("skipping %s: not an article type (%s)", source, ", ".join(ARTICLE_TYPES))
            skipped.append(Skipped(source, "not an article type"))
            continue
        try:
            st = e.stat()
        except OSError as exc:
            log.warning("skipping %s: %s", source, exc.strerror)
            skipped.append(Skipped(source, exc.strerror or "cannot be read"))
            continue
        found.append(ArticleFile(folder / e.name, source, st.st_size, st.st_mtime_ns))
    for e in folders:
        if not e.name.startswith(".") and not e.is_symlink():
            _scan_folder(folder / e.name, prefix + e.name + "/", found, skipped)


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_document(article: ArticleFile, data: bytes | None = None) -> Document:
    """Read one article; raises CorpusError with the reason when it has no usable text."""
    if data is None:
        try:
            data = article.path.read_bytes()
        except OSError as exc:
            raise CorpusError(f"{article.source}: cannot be read ({exc.strerror}).") from None
    suffix = article.path.suffix.lower()
    if suffix == ".pdf":
        from .readers import read_pdf as reader
    elif suffix in (".html", ".htm"):
        from .readers import read_html as reader
    else:
        from .readers import read_text as reader
    text, meta = reader(data, article.source)
    if not text.strip():
        raise CorpusError(f"{article.source}: has no text to index.")
    title = _opt(meta.get("title"))
    if not title and suffix not in (".pdf", ".html", ".htm"):
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
    )


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()
    return ""


def _opt(value: object) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None
