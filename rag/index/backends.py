"""Where the index lives: a FAISS folder (the default) or Milvus, behind one small interface.

    backend = open_backend(settings)   # FAISS in settings.index, or Milvus when settings.store is set
    backend.read_manifest()            # Manifest, or None when there is no index yet
    store = backend.load()             # a read-only store for search, or None
    backend.is_live(store)             # False once an update has replaced what `store` shows
    backend.verify(store)              # check all of a generation before an update builds on it
    backend.write(...)                 # apply an update worked out by the indexer (under its lock)
    backend.tidy()                     # drop what an interrupted or finished update left behind
    backend.read_skipped()             # articles the last update could not index (a hint; see faiss/generations.py)

Both interfaces are declared in protocols.py: `Backend`, and `ReadableStore`,
what search and answers read of a store. Fusion, de-duplication and answers
are shared code, so both backends answer alike.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..config import Settings
from .faiss import writer as faiss_write
from .faiss.generations import live_generation, read_manifest, read_skipped, remove_stale, write_skipped
from .faiss.integrity import verify
from .faiss.reader import Store
from .protocols import Backend
from .schema import IndexChange, Manifest

__all__ = ["Backend", "FaissBackend", "open_backend", "separate_index"]


class FaissBackend:
    """Generation folders under `settings.index` (see faiss/generations.py)."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.lock_dir = index_dir

    def read_manifest(self) -> Manifest | None:
        return read_manifest(self.index_dir)

    def load(self) -> Store | None:
        return Store.load(self.index_dir)

    def is_live(self, store: Store) -> bool:
        return store.path == live_generation(self.index_dir)

    def verify(self, store: Store) -> None:
        verify(store.path, store.manifest.files, full=True)

    def write(self, settings: Settings, old: Store | None, change: IndexChange) -> Manifest:
        return faiss_write.write_generation(settings, old, change)

    def tidy(self) -> None:
        remove_stale(self.index_dir)

    def read_skipped(self) -> list[dict]:
        return read_skipped(self.index_dir)

    def write_skipped(self, skipped: list[dict]) -> None:
        write_skipped(self.index_dir, skipped)


def open_backend(settings: Settings) -> Backend:
    """The backend `settings` name: Milvus for a milvus:// store, otherwise the FAISS folder."""
    if settings.location:
        from .milvus import MilvusBackend

        return MilvusBackend(settings.location)
    return FaissBackend(settings.index)


def separate_index(settings: Settings, name: str, folder: Path) -> Settings:
    """Settings for another index beside the configured one (an evaluation set, say): the FAISS folder
    `folder`, or in Milvus the collections `<collection>_<name>` of the same Milvus."""
    location = settings.location
    if location is None:
        return settings.with_(index=folder)
    return settings.with_(index=folder, store=replace(location, name=f"{location.name}_{name}").url())
