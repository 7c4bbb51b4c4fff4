"""Files replaced whole: a reader sees the old bytes or the new ones, never a part.

    with replacing(path) as tmp:      # write tmp, by any means
        image.save(tmp, format="PNG")
    write_atomic(path, text)          # str or bytes

The new bytes go to a hidden file beside `path` (a name starting with ".", which
the corpus scan and the watcher pass over), then are renamed over it. With
`durable=True` the file and its folder are fsynced, so the change survives a
power cut too. A failed write leaves `path` as it was and no temporary file.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_SUFFIX = ".tmp"

__all__ = ["replacing", "write_atomic", "fsync_dir", "is_temporary"]


@contextmanager
def replacing(path: Path, durable: bool = False) -> Iterator[Path]:
    """A temporary path beside `path`, renamed over `path` when the block ends without an error."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}{_SUFFIX}")
    try:
        yield tmp
        if durable:
            _fsync(tmp)
        os.replace(tmp, path)
        if durable:
            fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: Path, data: str | bytes, durable: bool = False) -> None:
    """Replace `path`'s content with `data` (text is written as UTF-8) all at once."""
    with replacing(path, durable) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def is_temporary(name: str, of: str) -> bool:
    """Whether `name` is a temporary file that `replacing(<folder>/of)` made (one a killed writer leaves behind)."""
    return re.fullmatch(rf"\.{re.escape(of)}\.[0-9a-f]{{8}}{re.escape(_SUFFIX)}", name) is not None


def fsync_dir(folder: Path) -> None:
    """Make a folder's entries (a rename, a new file) durable."""
    _fsync(folder)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
