"""What every backend keeps about the index, whatever it keeps it in: the manifest and the shape of an update.

    manifest = Manifest.from_json(data, where)   # refuses another format version, checks the documents
    manifest.to_json()
    IndexChange(model, dim, kept, fresh, vectors, texts)   # what the indexer hands a backend to write

`DocumentEntry` is one article's row in the manifest; `PASSAGE_DTYPE` the
(doc, start, end) record of one passage. The FAISS folder (faiss/) and
Milvus (milvus/) both keep these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NotRequired, TypedDict

import numpy as np

from ..errors import IndexStateError
from ..ingest.citation import structure
from ..ingest.documents import ArticleFile, Document
from ..ingest.readers import READER_VERSION
from .staging import Rows

__all__ = [
    "FORMAT_VERSION",
    "PASSAGE_DTYPE",
    "DocumentEntry",
    "Manifest",
    "Kept",
    "Fresh",
    "kept_entry",
    "fresh_entry",
    "NewVectors",
    "IndexChange",
]

FORMAT_VERSION = 3  # 2: file checksums in the manifest; 3: sentence vectors
PASSAGE_DTYPE = np.dtype([("doc", "<i4"), ("start", "<i8"), ("end", "<i8")])


class DocumentEntry(TypedDict):
    """One indexed article in the manifest (as JSON): its file, what the reader found, and its passages."""

    source: str  # path relative to the corpus, with /
    hash: str  # SHA-256 of the file's bytes
    size: int
    mtime_ns: int
    title: str
    author: NotRequired[str | None]
    date: NotRequired[str | None]
    url: NotRequired[str | None]
    origin: NotRequired[str | None]
    structure: NotRequired[dict]  # headings, pages and lines of its passages (citation.py)
    count: int  # passages
    first: NotRequired[int]  # FAISS: its passages are rows first .. first + count - 1
    id: NotRequired[int]  # Milvus: the document's id, the high bits of its passages' ids


@dataclass
class Manifest:
    model: str
    dim: int
    chunking: dict[str, int]
    documents: list[DocumentEntry]
    passages: int
    created: float
    version: int = FORMAT_VERSION
    files: dict[str, list] = field(default_factory=dict)  # relative path -> [size, sha256]
    readers: int = READER_VERSION  # version of the article readers that gave the documents' text

    def to_json(self) -> dict:
        return {
            "format_version": self.version,
            "model": {"name": self.model, "dim": self.dim},
            "chunking": self.chunking,
            "readers": self.readers,
            "created": self.created,
            "passages": self.passages,
            "documents": self.documents,
            "files": self.files,
        }

    @classmethod
    def from_json(cls, data: dict, where: Path | str = "index") -> Manifest:
        version = data.get("format_version") if isinstance(data, dict) else None
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise IndexStateError(
                f"index {str(where)!r} was written by a newer version of rag (format {version}; this one reads "
                f"format {FORMAT_VERSION})",
                f"upgrade rag, or run `rag index --full` to rebuild it in format {FORMAT_VERSION}.",
            )
        if isinstance(version, int) and version < FORMAT_VERSION:
            raise IndexStateError(
                f"index {str(where)!r} was written by an older version of rag (format {version}; this one reads "
                f"format {FORMAT_VERSION})"
            )
        if version != FORMAT_VERSION:
            raise IndexStateError(f"index {str(where)!r} has no readable format version ({version!r})")
        manifest = cls(
            model=str(data["model"]["name"]),
            dim=int(data["model"]["dim"]),
            chunking={k: int(v) for k, v in data["chunking"].items()},
            documents=list(data["documents"]),
            passages=int(data["passages"]),
            created=float(data["created"]),
            files={str(k): [int(v[0]), str(v[1])] for k, v in data.get("files", {}).items()},
            readers=int(data.get("readers", 1)),  # indexes from before readers were versioned: version 1
        )
        _check_documents(manifest)
        return manifest


_DOC_KEYS = frozenset({"source", "hash", "title", "size", "mtime_ns", "first", "count"})


def _check_documents(manifest: Manifest) -> None:
    """Each document has its keys and names its passages back to back: [first, first + count), in order.

    Runs on every load, so it is kept to what later code relies on (about 5 ms for 10,000 documents).
    """
    at = 0
    for doc in manifest.documents:
        if not _DOC_KEYS <= doc.keys() or doc["first"] != at or doc["count"] < 0:
            raise ValueError("document entry")
        at += doc["count"]
    if at != manifest.passages or manifest.dim <= 0:
        raise ValueError("passage count")


Kept = tuple[ArticleFile, DocumentEntry, int]  # an unchanged article: its file, its document entry, its document number
# a new or changed article: its file, its entry (fresh_entry, made as it is read), its passage spans ((P, 2) int64)
Fresh = tuple[ArticleFile, DocumentEntry, np.ndarray]


def kept_entry(kept: Kept) -> DocumentEntry:
    """An unchanged article's entry, with its file's size and time now (touching a file keeps its rows)."""
    f, entry, _ = kept
    return {**entry, "size": f.size, "mtime_ns": f.mtime_ns}


def fresh_entry(f: ArticleFile, doc: Document, spans: list[tuple[int, int]]) -> DocumentEntry:
    """A new or changed article's entry: its file, what its reader found, and where its passages fall."""
    return {
        "source": f.source,
        "hash": doc.hash,
        "size": f.size,
        "mtime_ns": f.mtime_ns,
        "title": doc.title,
        "author": doc.author,
        "date": doc.date,
        "url": doc.url,
        "origin": doc.origin,
        "structure": structure(doc, spans),
        "count": len(spans),
    }


@dataclass(frozen=True)
class NewVectors:
    """What was embedded for the fresh passages, in their order."""

    passages: Rows  # (N, dim) float32, one unit vector per passage
    sentences: Rows  # (S, dim) int8 (quantize.py), the passages' sentences one passage after another
    first_sentence: np.ndarray  # (N + 1,) int64: passage i's sentences are rows first_sentence[i]:first_sentence[i+1]
    sentence_spans: Rows  # (S, 2) int32: each sentence's start and end in its passage

    @classmethod
    def empty(cls, dim: int) -> NewVectors:
        none = np.zeros((0, dim), dtype=np.float32)
        return cls(none, none.astype(np.int8), np.zeros(1, dtype=np.int64), np.zeros((0, 2), dtype=np.int32))


@dataclass(frozen=True)
class IndexChange:
    """An update the indexer worked out, for a backend to write on top of the live generation."""

    model: str
    dim: int
    kept: list[Kept]  # unchanged articles: their rows are reused
    fresh: list[Fresh]  # new and changed articles, with their passage spans
    vectors: NewVectors  # the fresh passages' vectors
    texts: Callable[[int, int], list[str]] = lambda first, count: []  # fresh passage texts, `count` from `first`
