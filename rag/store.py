"""The index on disk: one folder per generation, switched atomically.

    index/
      CURRENT            name of the live generation (replaced atomically)
      gen-<id>/
        manifest.json    format version, model, chunking, documents
        passages.npy     (doc, start, end) per passage
        texts.bin        passage texts, UTF-8, back to back
        offsets.npy      byte offsets of each text in texts.bin (N + 1)
        vectors.npy      float32 embeddings, unit length (N x dim)
        dense.faiss      FAISS index over the vectors: exact, or an HNSW graph for large corpora (see dense.py)
        sentence_vectors.npy  int8 embedding of each sentence of each passage, x 127 (S x dim)
        sentence_offsets.npy  first sentence row of each passage (N + 1)
        sentence_spans.npy    (start, end) of each sentence row within its passage (S x 2)
        keyword/         BM25 index over the passage texts (see keyword.py)
      skipped.json       articles that could not be indexed, and why

Everything is memory-mapped when a generation is opened, so opening one
costs about the same for a hundred passages as for a million.

A new generation is written beside the live one and only then named in
CURRENT, so a reader sees the old index or the new one, never half of one.
The manifest records the size and checksum of every other file, checked on
load (see integrity.py); a reader opens every file of a generation while
loading it, so a writer deleting that generation afterwards does no harm.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import NotRequired, TypedDict

import numpy as np

from .errors import IndexStateError
from .integrity import record, verify
from .keyword import tokenize
from .quantize import dequantize, quantize
from .readers import READER_VERSION
from .retry import attempts

__all__ = [
    "FORMAT_VERSION",
    "DocumentEntry",
    "Manifest",
    "Store",
    "write_store",
    "read_manifest",
    "live_generation",
    "remove_stale",
    "read_skipped",
    "write_skipped",
]

log = logging.getLogger(__name__)

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


_GENERATION_NAME = re.compile(r"[A-Za-z0-9][\w.-]*")


def live_generation(index_dir: Path) -> Path | None:
    """The folder CURRENT names, or None when there is no index yet."""
    try:
        name = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexStateError(f"index {str(index_dir)!r} is damaged (CURRENT cannot be read: {exc})") from None
    if not _GENERATION_NAME.fullmatch(name):
        raise IndexStateError(f"index {str(index_dir)!r} is damaged (CURRENT holds {name[:40]!r}, not a folder name)")
    return index_dir / name


def _read_live(index_dir: Path) -> tuple[Path, Manifest] | None:
    """The live generation and its manifest, read consistently, or None when there is no index yet.

    CURRENT is read once; if its generation vanishes while we read it, a
    writer has just replaced it and we read the new one.
    """
    for _ in attempts(f"index {str(index_dir)!r}"):
        gen = live_generation(index_dir)
        if gen is None:
            return None
        try:
            raw = (gen / "manifest.json").read_bytes()
        except FileNotFoundError:
            if live_generation(index_dir) != gen:
                continue
            missing = gen.name if not gen.is_dir() else f"{gen.name}/manifest.json"
            where = f"index {str(index_dir)!r}"
            raise IndexStateError(f"{where} is damaged ({missing}, named by CURRENT, is missing)") from None
        try:
            return gen, Manifest.from_json(json.loads(raw), index_dir)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError):
            raise IndexStateError(f"index {str(index_dir)!r} is damaged (its manifest.json cannot be read)") from None


def read_manifest(index_dir: Path) -> Manifest | None:
    """The live manifest, or None when there is no index yet."""
    live = _read_live(index_dir)
    return live[1] if live else None


class Store:
    """A loaded, read-only generation of the index."""

    def __init__(self, path: Path, manifest: Manifest) -> None:
        from .dense import load_dense
        from .keyword import KeywordIndex

        self.path = path
        self.manifest = manifest
        self._last_keyword: tuple[str, np.ndarray | None] | None = None
        try:
            verify(path, manifest.files)
            self.passages = _mapped(path / "passages.npy")
            self.offsets = _mapped(path / "offsets.npy")
            self._texts = (
                np.memmap(path / "texts.bin", dtype=np.uint8, mode="r").view(np.ndarray) if self.offsets[-1] else None
            )
            self._vectors = _mapped(path / "vectors.npy")
            self.dense = load_dense(path)
            # Opened now, not on first use: a loaded generation keeps answering after a writer deletes it.
            self._sentences = _mapped(path / "sentence_vectors.npy")
            self._sentence_offsets = _mapped(path / "sentence_offsets.npy")
            self._sentence_spans = _mapped(path / "sentence_spans.npy")
            self.keyword = KeywordIndex.load(path / "keyword")
        except IndexStateError:
            raise
        except Exception as exc:  # numpy, faiss and the keyword index each fail differently on a damaged file
            problem = f"index {str(path.parent)!r} is damaged ({exc.__class__.__name__}: {exc})"
            raise IndexStateError(problem[:300]) from None
        self._check_shapes()

    def _check_shapes(self) -> None:
        """Counts and sizes that must agree; cheap, so every load makes them."""
        n, dim = self.manifest.passages, self.manifest.dim
        texts = 0 if self._texts is None else len(self._texts)
        checks = {
            "passages.npy": len(self.passages) == n,
            "offsets.npy": len(self.offsets) == n + 1 and int(self.offsets[-1]) == texts,
            "vectors.npy": self._vectors.shape == (n, dim),
            "dense index": self.dense.ntotal == n and getattr(self.dense, "d", dim) == dim,
            "keyword index": len(self.keyword) == n,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            where = self.path.parent
            raise IndexStateError(f"index {str(where)!r} is inconsistent ({', '.join(bad)} do not match the manifest)")

    @classmethod
    def load(cls, index_dir: Path) -> Store | None:
        """The live generation, or None when no index has been written yet.

        A writer may replace the generation while we load it and then delete
        it; the load then fails on a missing file and is retried on the new one.
        """
        for _ in attempts(f"index {str(index_dir)!r}"):
            live = _read_live(index_dir)
            if live is None:
                return None
            gen, manifest = live
            try:
                return cls(gen, manifest)
            except IndexStateError:
                if live_generation(index_dir) == gen:
                    raise

    def __len__(self) -> int:
        return self.manifest.passages

    def text(self, i: int) -> str:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return self._texts[a:b].tobytes().decode("utf-8") if self._texts is not None else ""

    def texts(self, first: int, count: int) -> list[str]:
        """Texts of passages first .. first + count - 1, read in one go."""
        if self._texts is None:
            return [""] * count
        bounds = self.offsets[first : first + count + 1].tolist()
        data = self._texts[bounds[0] : bounds[-1]].tobytes()
        return [data[a - bounds[0] : b - bounds[0]].decode("utf-8") for a, b in zip(bounds, bounds[1:], strict=False)]

    def document(self, i: int) -> dict:
        """Metadata of the document that passage `i` belongs to."""
        return self.manifest.documents[int(self.passages[i]["doc"])]

    def vectors(self) -> np.ndarray:
        return self._vectors

    def sentence_vectors(self) -> np.ndarray:
        """Sentence vectors, int8 (see quantize.py); rows of passage i: sentence_offsets()[i:i + 2]."""
        return self._sentences

    def sentence_rows(self, rows: np.ndarray | slice) -> np.ndarray:
        """Sentence vectors as float32 (int8 keeps them small and quick to read: 0.1 ms for 500 rows)."""
        block = self._sentences[rows] if isinstance(rows, slice) else self._sentences.take(rows, axis=0)
        return dequantize(block)

    def sentence_spans(self) -> np.ndarray:
        return self._sentence_spans

    def sentence_offsets(self) -> np.ndarray:
        return self._sentence_offsets

    # -- what search reads (the Milvus store answers the same calls; see backends.py) --

    def doc(self, number: int) -> dict:
        """Metadata of the document that `passages[i]["doc"]` names."""
        return self.manifest.documents[number]

    def vector_rows(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(self._vectors.take(ids, axis=0), dtype=np.float32)

    def dense_search(self, vector: np.ndarray, n: int) -> tuple[list[int], list[float]]:
        """Ids and cosines of the `n` passages nearest to `vector`, best first."""
        sims, ids = self.dense.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), n)
        found = ids[0] >= 0
        return ids[0][found].tolist(), sims[0][found].tolist()

    def keyword_search(self, query: str, n: int) -> tuple[list[int], list[float]]:
        """Ids and BM25 scores of the `n` best passages for `query`, best first (none when no term matches)."""
        negated = self._negated_keyword_scores(query)
        if negated is None:
            return [], []
        top = np.argpartition(negated, min(n, len(negated)) - 1)[:n]
        top = top[np.argsort(negated[top], kind="stable")]
        top = top[negated[top] < 0]  # only passages holding a term
        return top.tolist(), np.negative(negated[top]).tolist()

    def keyword_scores(self, query: str, ids: np.ndarray) -> np.ndarray:
        """BM25 score of each passage in `ids` for `query` (0 where no term matches)."""
        negated = self._negated_keyword_scores(query)
        return np.zeros(len(ids), dtype=np.float32) if negated is None else np.negative(negated[ids])

    def _negated_keyword_scores(self, query: str) -> np.ndarray | None:
        """Minus the BM25 score of every passage (None: no term matches), kept for the calls after the search."""
        last = self._last_keyword
        if last is None or last[0] != query:
            last = self._last_keyword = (query, self.keyword.negated_scores(tokenize(query)))
        return last[1]

    def idf(self, terms: list[str]) -> dict[str, float]:
        return self.keyword.idf(terms)

    def sentence_block(self, passages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sentence vectors of `passages`, back to back, and how many rows each passage has."""
        offsets = self._sentence_offsets
        starts, lengths = offsets[passages], offsets[passages + 1] - offsets[passages]
        firsts = np.cumsum(lengths) - lengths  # where each passage's rows begin in the gathered block
        rows = np.arange(int(lengths.sum())) + np.repeat(starts - firsts, lengths)
        return self.sentence_rows(rows), lengths

    def sentences(self, passage: int) -> tuple[np.ndarray, np.ndarray]:
        """Sentence vectors of one passage, in order, and each sentence's (start, end) in the passage."""
        a, b = self._sentence_offsets[passage], self._sentence_offsets[passage + 1]
        return self.sentence_rows(slice(a, b)), self._sentence_spans[a:b]


def _mapped(path: Path) -> np.ndarray:
    """A .npy file memory-mapped, as a plain ndarray (a numpy memmap makes every small read slow)."""
    return np.load(path, mmap_mode="r").view(np.ndarray)


def write_store(
    index_dir: Path,
    manifest: Manifest,
    passages: np.ndarray,
    texts: list[str],
    vectors: np.ndarray,
    *,
    sentences: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    previous: Store | None = None,
    reuse_ids: np.ndarray | None = None,
) -> Path:
    """Write a new generation and make it live; returns its folder.

    `reuse_ids[i] >= 0` says passage i is that passage of `previous`, unchanged:
    its keyword terms are taken from there instead of tokenizing it again.
    """
    from .dense import build_dense
    from .keyword import KeywordIndex

    if previous is None:
        reuse_ids = None

    if sentences is None:  # each passage one sentence: its own vector and whole span
        spans = np.array([(0, len(t)) for t in texts], dtype=np.int32).reshape(-1, 2)
        sentences = (vectors, np.arange(len(texts) + 1), spans)
    index_dir.mkdir(parents=True, exist_ok=True)
    tmp = index_dir / f".tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        encoded = [t.encode("utf-8") for t in texts]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        (tmp / "texts.bin").write_bytes(b"".join(encoded))
        np.save(tmp / "offsets.npy", offsets)
        np.save(tmp / "passages.npy", passages.astype(PASSAGE_DTYPE))
        np.save(tmp / "vectors.npy", vectors.astype(np.float32, copy=False))
        np.save(tmp / "sentence_vectors.npy", quantize(sentences[0]))
        np.save(tmp / "sentence_offsets.npy", sentences[1].astype(np.int64))
        np.save(tmp / "sentence_spans.npy", sentences[2].astype(np.int32))
        build_dense(tmp, vectors)
        KeywordIndex.build(texts, previous.keyword if previous else None, reuse_ids).save(tmp / "keyword")
        manifest.files = record(tmp)
        # no indent: json's C encoder only runs without one, ten times faster on a large corpus
        (tmp / "manifest.json").write_text(json.dumps(manifest.to_json(), ensure_ascii=False))
        _fsync_tree(tmp)
        gen = index_dir / f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        os.rename(tmp, gen)
        # The generation's name is made durable before CURRENT names it: otherwise a power cut could keep
        # the new CURRENT and lose the rename, leaving CURRENT naming a folder that is not there (docs/indexing.md).
        _fsync_dir(index_dir)
        _replace_text(index_dir / "CURRENT", gen.name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    remove_stale(index_dir)
    return gen


def remove_stale(index_dir: Path) -> None:
    """Delete generations, half-written folders and temporary files that CURRENT does not name."""
    live = live_generation(index_dir)
    for entry in index_dir.iterdir():
        if entry.is_dir() and entry != live and (entry.name.startswith("gen-") or entry.name.startswith(".tmp-")):
            shutil.rmtree(entry, ignore_errors=True)
        elif _LEFTOVER.fullmatch(entry.name):
            entry.unlink(missing_ok=True)


_LEFTOVER = re.compile(r"\.(CURRENT|skipped\.json)\.[0-9a-f]{8}")


def read_skipped(index_dir: Path) -> list[dict]:
    """Articles the last update could not index: [{"source", "size", "mtime_ns", "reason"}]; [] if unknown."""
    try:
        data = json.loads((index_dir / "skipped.json").read_text(encoding="utf-8"))
        return [d for d in data["files"] if isinstance(d, dict)]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # only a hint that saves re-reading those files: rebuilt by the next update


def write_skipped(index_dir: Path, skipped: list[dict]) -> None:
    if read_skipped(index_dir) != skipped:
        _replace_text(index_dir / "skipped.json", json.dumps({"files": skipped}, indent=1, ensure_ascii=False))


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_tree(folder: Path) -> None:
    for root, _, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(root))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
