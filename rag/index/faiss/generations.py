"""The FAISS index's folder: generations named in CURRENT, switched atomically, and skipped.json.

    live_generation(index_dir)    # the folder CURRENT names, or None
    read_manifest(index_dir)      # its Manifest, or None
    remove_stale(index_dir)       # generations and leftovers CURRENT does not name
    read_skipped / write_skipped  # the articles the last update could not index

Writes are durable (`atomic.write_atomic(..., durable=True)`): a file is written
beside its target, fsynced and renamed over it, then its folder is fsynced.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from ...atomic import fsync_dir, is_temporary, write_atomic
from ...errors import IndexStateError
from ..retry import attempts
from ..schema import Manifest

__all__ = [
    "live_generation",
    "read_live",
    "read_manifest",
    "remove_stale",
    "read_skipped",
    "write_skipped",
    "fsync_tree",
]


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


def read_live(index_dir: Path) -> tuple[Path, Manifest] | None:
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
    raise AssertionError("attempts() raises when its tries run out")  # for the type checker


def read_manifest(index_dir: Path) -> Manifest | None:
    """The live manifest, or None when there is no index yet."""
    live = read_live(index_dir)
    return live[1] if live else None


def remove_stale(index_dir: Path) -> None:
    """Delete generations, half-written folders and temporary files that CURRENT does not name."""
    live = live_generation(index_dir)
    for entry in index_dir.iterdir():
        if entry.is_dir() and entry != live and (entry.name.startswith("gen-") or entry.name.startswith(".tmp-")):
            shutil.rmtree(entry, ignore_errors=True)
        elif any(is_temporary(entry.name, of) for of in ("CURRENT", "skipped.json")):
            entry.unlink(missing_ok=True)


def read_skipped(index_dir: Path) -> list[dict]:
    """Articles the last update could not index: [{"source", "size", "mtime_ns", "reason"}]; [] if unknown."""
    try:
        data = json.loads((index_dir / "skipped.json").read_text(encoding="utf-8"))
        return [d for d in data["files"] if isinstance(d, dict)]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # only a hint that saves re-reading those files: rebuilt by the next update


def write_skipped(index_dir: Path, skipped: list[dict]) -> None:
    if read_skipped(index_dir) != skipped:
        text = json.dumps({"files": skipped}, indent=1, ensure_ascii=False)
        write_atomic(index_dir / "skipped.json", text, durable=True)


def fsync_tree(folder: Path) -> None:
    for root, _, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(root))
