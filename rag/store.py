"""The index on disk: one folder per generation, switched atomically.

    index/
      CURRENT            name of the live generation (replaced atomically)
      gen-<id>/
        manifest.json    format version, model, chunking, documents
        passages.npy     (doc, start, end) per passage
        texts.bin        passage texts, UTF-8, back to back
        offsets.npy      byte offsets of each text in texts.bin (N + 1)
        vectors.npy      float32 embeddings, unit length (N x dim)
        dense.faiss      HNSW graph over the vectors, large corpora only (see dense.py)
        keyword/         BM25 index over the passage texts (see keyword.py)

Everything is memory-mapped when a generation is opened, so opening one
costs about the same for a hundred passages as for a million.

A new generation is written beside the live one and only then named in
CURRENT, so a reader sees the old index or the new one, never half of one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import IndexStateError

__all__ = ["FORMAT_VERSION", "Manifest", "Store", "write_store", "read_manifest", "live_generation", "remove_stale"]

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
PASSAGE_DTYPE = np.dtype([("doc", "<i4"), ("start", "<i8"), ("end", "<i8")])


@dataclass
class Manifest:
    model: str
    dim: int
    chunking: dict[str, int]
    documents: list[dict]  # source, hash, size, mtime_ns, title, author, date, url, first, count
    passages: int
    created: float
    version: int = FORMAT_VERSION

    def to_json(self) -> dict:
        return {
            "format_version": self.version,
            "model": {"name": self.model, "dim": self.dim},
            "chunking": self.chunking,
            "created": self.created,
            "passages": self.passages,
            "documents": self.documents,
        }

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexStateError(
                f"the index was written in format {version}, this version reads format {FORMAT_VERSION}: "
                "run `rag index --full` to rebuild it."
            )
        return cls(
            model=data["model"]["name"],
            dim=int(data["model"]["dim"]),
            chunking=dict(data["chunking"]),
            documents=list(data["documents"]),
            passages=int(data["passages"]),
            created=float(data["created"]),
        )


def live_generation(index_dir: Path) -> Path | None:
    try:
        name = (index_dir / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return None
    return index_dir / name


def read_manifest(index_dir: Path) -> Manifest | None:
    """The live manifest, or None when there is no index yet."""
    gen = live_generation(index_dir)
    if gen is None:
        return None
    try:
        return Manifest.from_json(json.loads((gen / "manifest.json").read_text()))
    except FileNotFoundError:
        raise IndexStateError(f"index {index_dir} is incomplete: run `rag index --full` to rebuild it.") from None
    except (ValueError, KeyError, TypeError):
        raise IndexStateError(f"index {index_dir} has a damaged manifest: run `rag index --full`.") from None


class Store:
    """A loaded, read-only generation of the index."""

    def __init__(self, path: Path, manifest: Manifest) -> None:
        from .dense import load_dense
        from .keyword import KeywordIndex

        self.path = path
        self.manifest = manifest
        try:
            self.passages = _mapped(path / "passages.npy")
            self.offsets = _mapped(path / "offsets.npy")
            self._texts = (
                np.memmap(path / "texts.bin", dtype=np.uint8, mode="r").view(np.ndarray) if self.offsets[-1] else None
            )
            self._vectors = _mapped(path / "vectors.npy")
            self.dense = load_dense(path, self._vectors)
            self.keyword = KeywordIndex.load(path / "keyword")
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise IndexStateError(
                f"index {path.parent} is damaged ({exc.__class__.__name__}): run `rag index --full` to rebuild it."
            ) from None
        sizes = {len(self.passages), len(self._vectors), self.dense.ntotal, len(self.keyword), manifest.passages}
        if len(sizes) != 1:
            raise IndexStateError(f"index {path.parent} is inconsistent: run `rag index --full` to rebuild it.")

    @classmethod
    def load(cls, index_dir: Path) -> Store | None:
        """The live generation, or None when no index has been written yet."""
        for _ in range(3):  # a writer may swap generations between our two reads
            manifest = read_manifest(index_dir)
            gen = live_generation(index_dir)
            if manifest is None or gen is None:
                return None
            try:
                return cls(gen, manifest)
            except IndexStateError:
                if live_generation(index_dir) == gen:
                    raise
        raise IndexStateError(f"index {index_dir} keeps changing under us: try again.")

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
        build_dense(tmp, vectors)
        KeywordIndex.build(texts, previous.keyword if previous else None, reuse_ids).save(tmp / "keyword")
        # no indent: json's C encoder only runs without one, ten times faster on a large corpus
        (tmp / "manifest.json").write_text(json.dumps(manifest.to_json(), ensure_ascii=False))
        _fsync_tree(tmp)
        gen = index_dir / f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        os.rename(tmp, gen)
        _replace_text(index_dir / "CURRENT", gen.name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    remove_stale(index_dir)
    return gen


def remove_stale(index_dir: Path) -> None:
    """Delete generations and half-written folders that CURRENT does not name."""
    live = live_generation(index_dir)
    for entry in index_dir.iterdir():
        if entry.is_dir() and entry != live and (entry.name.startswith("gen-") or entry.name.startswith(".tmp-")):
            shutil.rmtree(entry, ignore_errors=True)


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    with tmp.open("w") as f:
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
