"""Vectors kept as they are computed, so an interrupted or repeated index embeds only what it lacks.

    cache = VectorCache.open(index_dir, embedder.fingerprint, embedder.dim)
    keys = [cache.key(t) for t in texts]      # 16 bytes: the model's fingerprint and the text, hashed
    found = cache.get(keys)                   # {key: float32 vector} for the keys the cache holds
    cache.put(keys[:256], vectors[:256])      # one batch, one transaction: all of it is kept or none
    cache.record_documents([(source, hash, keys_of_that_document), ...])
    cache.prune({(source, hash), ...})        # drop what no document of the live generation uses

    index/cache/vectors.sqlite
      vectors(key, vector, crc)         float32 bytes (int8 for sentences) and their CRC-32
      documents(source, hash, keys)     the keys of every passage and sentence of a document

SQLite in write-ahead-log mode: a process killed in the middle of a batch
leaves that batch out (the log's checksums detect the torn write, and the
next open rolls it back), never half of it. An entry whose length or CRC is
wrong is treated as missing and embedded again. A cache that cannot be
opened is set aside and a new one started: it only ever saves work.

The key covers the model and its export (see Embedder.fingerprint), so
vectors of another model or another export are never mixed in; the same
text embedded by the same model gives the same vector (the int8 model runs
one text at a time for that reason; see embedding.py), so a vector from the
cache is the vector the model would give.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .embedding import Embedder
from .quantize import dequantize, quantize

__all__ = ["VectorCache", "Embedded", "cache_file", "embed_cached"]

log = logging.getLogger(__name__)

KEY_BYTES = 16
FLUSH = 256  # texts embedded between two writes to the cache: what a kill can cost
_LOOKUP = 500  # keys per SELECT (SQLite allows 32,766 parameters; small batches keep each query quick)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL, crc INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS documents (
    source TEXT NOT NULL, hash TEXT NOT NULL, n INTEGER NOT NULL, keys BLOB NOT NULL, PRIMARY KEY (source, hash)
);
"""


def cache_file(index_dir: Path) -> Path:
    return index_dir / "cache" / "vectors.sqlite"


@dataclass
class Embedded:
    vectors: np.ndarray  # float32, one row per exact text, in order
    codes: np.ndarray  # int8 (quantize.py), one row per text not exact, in order
    cached: np.ndarray  # per text: True where the vector came from the cache
    seconds: float  # spent embedding (not looking up)


def embed_cached(
    emb: Embedder,
    texts: Sequence[str],
    keys: Sequence[bytes] | None = None,
    cache: VectorCache | None = None,
    reuse: bool = True,
    progress: Callable[[int, int], None] | None = None,
    exact: Sequence[bool] | None = None,
) -> Embedded:
    """Vectors of `texts`: from `cache` where it has them (unless not `reuse`), the rest embedded and kept.

    The rest is embedded in batches of FLUSH texts, each written to the cache
    before the next starts. Each batch takes texts from across the whole
    range of lengths, so texts per second stay steady from the first batch to
    the last and the remaining time `progress(done, total)` allows is one a
    person can trust; its first call counts what the cache already held.
    `exact[i]` False marks a text whose vector is only ever kept as int8 (a
    sentence): it comes back among `codes`, a quarter of the size of a float32
    row, and the cache keeps it so too.
    """
    is_exact = np.ones(len(texts), dtype=bool) if exact is None else np.asarray(exact, dtype=bool)
    slot = np.where(is_exact, np.cumsum(is_exact) - 1, np.cumsum(~is_exact) - 1)
    out = np.zeros((int(is_exact.sum()), emb.dim), dtype=np.float32)
    codes = np.zeros((len(texts) - len(out), emb.dim), dtype=np.int8)

    def keep(rows: list[int], vectors: np.ndarray) -> None:
        where = is_exact[rows]
        out[slot[rows][where]] = vectors[where]
        codes[slot[rows][~where]] = quantize(vectors[~where])

    cached = np.zeros(len(texts), dtype=bool)
    if cache is not None and reuse and keys is not None:
        for start in range(0, len(keys), FLUSH):  # a part at a time: the float32 copies stay few
            part = keys[start : start + FLUSH]
            found = cache.get(part, None if exact is None else exact[start : start + FLUSH])
            rows = [start + j for j, key in enumerate(part) if key in found]
            if rows:
                keep(rows, np.stack([found[keys[i]] for i in rows]))
                cached[rows] = True
    missing = sorted(np.flatnonzero(~cached).tolist(), key=lambda i: len(texts[i]), reverse=True)
    done, total = int(cached.sum()), len(texts)
    if progress:
        progress(done, total)

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    seconds, batches = 0.0, -(-len(missing) // FLUSH)
    for b in range(batches):
        rows = missing[b::batches]  # every batches-th text by length: long and short ones in each batch
        t0 = time.perf_counter()
        vectors = emb.embed([texts[i] for i in rows], progress=step)
        seconds += time.perf_counter() - t0
        keep(rows, vectors)
        if cache is not None and keys is not None:
            cache.put([keys[i] for i in rows], vectors, None if exact is None else [exact[i] for i in rows])
    return Embedded(out, codes, cached, seconds)


class VectorCache:
    """Float32 vectors by (model fingerprint, text), in one SQLite file beside the generations."""

    def __init__(self, db: sqlite3.Connection, fingerprint: str, dim: int, path: Path) -> None:
        self.db, self.fingerprint, self.dim, self.path = db, fingerprint, dim, path
        self._salt = fingerprint.encode("utf-8") + b"\x00"
        self.broken = False  # set when SQLite fails (a full disk, say): the update goes on without the cache

    @classmethod
    def open(cls, index_dir: Path, fingerprint: str, dim: int) -> VectorCache:
        path = cache_file(index_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return cls(_connect(path), fingerprint, dim, path)
        except sqlite3.DatabaseError as exc:
            log.warning("starting a new vector cache: %s could not be read (%s)", path, exc)
            for suffix in ("", "-wal", "-shm"):  # only ever a copy of what the model gives: start again
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            return cls(_connect(path), fingerprint, dim, path)

    def key(self, text: str) -> bytes:
        """The cache key of `text` for this model: 16 bytes of BLAKE2b over fingerprint and text."""
        return hashlib.blake2b(self._salt + text.encode("utf-8"), digest_size=KEY_BYTES).digest()

    def get(self, keys: Sequence[bytes], exact: Sequence[bool] | None = None) -> dict[bytes, np.ndarray]:
        """The vectors the cache holds for `keys`, as float32; a damaged entry is left out (and embedded again).

        Where `exact[i]` is False (a sentence, whose vector the index keeps as int8 anyway), an entry
        kept as int8 serves; elsewhere only a float32 entry does.
        """
        return self._guarded(self._get, keys, exact) or {}

    def put(self, keys: Sequence[bytes], vectors: np.ndarray, exact: Sequence[bool] | None = None) -> None:
        """Keep one batch of vectors (as int8 where `exact[i]` is False); durable, as far as a killed process
        goes, when this returns."""
        self._guarded(self._put, keys, vectors, exact)

    def record_documents(self, documents: Iterable[tuple[str, str, Sequence[bytes]]]) -> None:
        """Note which keys each (source, content hash) uses, so that prune() knows what to keep."""
        self._guarded(self._record, documents)

    def prune(self, live: set[tuple[str, str]]) -> int:
        """Drop documents not in `live` ((source, hash) pairs) and vectors no remaining document uses.

        Returns how many vectors were dropped. Cheap when nothing is to be dropped: the keys
        are gathered only when a document went or the cache holds more vectors than documents name.
        """
        return self._guarded(self._prune, live) or 0

    def _guarded(self, step, *args):
        if self.broken:
            return None
        try:
            return step(*args)
        except sqlite3.Error as exc:
            log.warning("going on without the vector cache %s: %s", self.path, exc)
            self.broken = True
            return None

    def _get(self, keys: Sequence[bytes], exact: Sequence[bool] | None) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        compact = {k for k, e in zip(keys, exact, strict=True) if not e} if exact is not None else set()
        for at in range(0, len(keys), _LOOKUP):
            batch = keys[at : at + _LOOKUP]
            marks = ",".join("?" * len(batch))
            rows = self.db.execute(f"SELECT key, vector, crc FROM vectors WHERE key IN ({marks})", batch)
            for key, blob, crc in rows:
                if zlib.crc32(blob) != crc:
                    continue
                if len(blob) == self.dim * 4:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
                elif len(blob) == self.dim and key in compact:
                    found[key] = dequantize(np.frombuffer(blob, dtype=np.int8))
        return found

    def _put(self, keys: Sequence[bytes], vectors: np.ndarray, exact: Sequence[bool] | None) -> None:
        rows = []
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        for i, (key, vector) in enumerate(zip(keys, vectors, strict=True)):
            blob = vector.tobytes() if exact is None or exact[i] else _int8(vector).tobytes()
            rows.append((key, blob, zlib.crc32(blob)))
        with _transaction(self.db):
            self.db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)

    def _record(self, documents: Iterable[tuple[str, str, Sequence[bytes]]]) -> None:
        rows = [(source, digest, len(keys), b"".join(keys)) for source, digest, keys in documents]
        with _transaction(self.db):
            self.db.executemany("INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?)", rows)

    def _prune(self, live: set[tuple[str, str]]) -> int:
        gone = [pair for pair in self.db.execute("SELECT source, hash FROM documents") if tuple(pair) not in live]
        named = self.db.execute("SELECT coalesce(sum(n), 0) FROM documents").fetchone()[0]
        held = self.db.execute("SELECT count(*) FROM vectors").fetchone()[0]
        if not gone and held <= named:
            return 0
        with _transaction(self.db):
            self.db.executemany("DELETE FROM documents WHERE source = ? AND hash = ?", gone)
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (key BLOB PRIMARY KEY) WITHOUT ROWID")
            self.db.execute("DELETE FROM keep")
            for (keys,) in self.db.execute("SELECT keys FROM documents").fetchall():
                self.db.executemany(
                    "INSERT OR IGNORE INTO keep VALUES (?)",
                    ((keys[i : i + KEY_BYTES],) for i in range(0, len(keys), KEY_BYTES)),
                )
            dropped = self.db.execute("DELETE FROM vectors WHERE key NOT IN (SELECT key FROM keep)").rowcount
            self.db.execute("DELETE FROM keep")
        self.db.execute("PRAGMA incremental_vacuum")  # give the freed pages back to the file system
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return dropped

    def __len__(self) -> int:
        return self.db.execute("SELECT count(*) FROM vectors").fetchone()[0]

    def close(self) -> None:
        self.db.close()


def _int8(vector: np.ndarray) -> np.ndarray:
    """As the index keeps a sentence's vector (faiss.writer.write_store); dequantize gives it back exactly."""
    return quantize(vector)


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One transaction: committed as a whole, or (on an error, or if the process dies) not at all."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # takes effect on a new file only
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")  # WAL: a killed process loses no committed batch
        db.executescript(_SCHEMA)
        db.execute("SELECT count(*) FROM documents").fetchone()
    except sqlite3.DatabaseError:
        db.close()
        raise
    return db
