"""Cheap proof that a generation folder still holds what was written into it.

    table = record(folder)   # {"texts.bin": [8121, "9f86d0..."], "keyword/vocab.index.json": [...], ...}
    verify(folder, table)    # raises IndexStateError naming the first file that differs

The table goes into the generation's manifest. The quick check, made on every
load, compares every file's size and the SHA-256 of files up to 1 MiB: it
catches truncated, missing and zero-length files at the cost of a few `stat`
calls. The full check hashes every file; `rag index` makes it before it
copies vectors and texts out of a generation into the next one, so damage is
never carried forward.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ...errors import IndexStateError

__all__ = ["record", "verify", "file_sha256", "QUICK_HASH_LIMIT"]

QUICK_HASH_LIMIT = 1 << 20  # files up to this size are hashed on every load
_SKIP = {"manifest.json"}  # the manifest holds the table; it is checked by parsing it


def record(folder: Path) -> dict[str, list]:
    """Size and SHA-256 of every file under `folder` except the manifest, by relative path."""
    table: dict[str, list] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name not in _SKIP:
            table[name] = [path.stat().st_size, file_sha256(path)]
    return table


def verify(folder: Path, table: dict[str, list], full: bool = False) -> None:
    """Raise IndexStateError if a file in `table` is missing, has another size, or (when hashed) other bytes."""
    where = f"index {str(folder.parent)!r}"
    for name, (size, digest) in table.items():
        path = folder / name
        try:
            actual = path.stat().st_size
        except FileNotFoundError:
            raise IndexStateError(f"{where} is damaged ({name} is missing)") from None
        if actual != size:
            raise IndexStateError(f"{where} is damaged ({name} is {actual} bytes, {size} were written)")
        if (full or size <= QUICK_HASH_LIMIT) and file_sha256(path) != digest:
            raise IndexStateError(f"{where} is damaged ({name} no longer matches its checksum)")


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of the file at `path`, read in blocks (a model's weights are not held in memory)."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
