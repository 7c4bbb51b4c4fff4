"""The index in Milvus behind the backend interface (backends.py): read its manifest, load a store, write updates."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from ...config import MilvusLocation, Settings
from ...errors import IndexStateError
from ..schema import IndexChange, Manifest
from .client import loaded, milvus_errors
from .meta import Meta
from .schema import MAX_VARCHAR, SKIPPED
from .store import MilvusStore
from .write import apply_update, clean_up, write_row

__all__ = ["MilvusBackend"]


class MilvusBackend:
    """Reads and writes the index in Milvus; see schema.py for the layout."""

    def __init__(self, location: MilvusLocation) -> None:
        self.location = location
        self.meta = Meta(location)
        digest = hashlib.sha256(f"{location.uri} {location.name}".encode()).hexdigest()[:16]
        self.lock_dir = Path(tempfile.gettempdir()) / "rag-locks" / digest  # one writer per machine

    @property
    def client(self):
        return self.meta.client

    # -- read ----------------------------------------------------------------

    def read_manifest(self) -> Manifest | None:
        snapshot = self.meta.snapshot()
        return snapshot[0] if snapshot else None

    def load(self) -> MilvusStore | None:
        """The live generation as a MilvusStore, or None when there is no index yet."""
        snapshot = self.meta.snapshot()
        if snapshot is None:
            return None
        manifest, header = snapshot
        with milvus_errors(self.location):
            for name in (header["collection"], header["terms"]):
                if not self.client.has_collection(name):
                    raise IndexStateError(f"{self.location} has lost the collection {name} of the index")
                loaded(self.client, name)
            fields = self.client.describe_collection(header["collection"])["fields"]
            dim = next(f["params"]["dim"] for f in fields if f["name"] == "vector")
            if int(dim) != manifest.dim:
                raise IndexStateError(f"{self.location} holds {dim}-d vectors, not {manifest.dim}")
        return MilvusStore(self.client, self.location, manifest, header)

    def is_live(self, store: MilvusStore) -> bool:
        header = self.header()
        return header is not None and int(header.get("generation", -1)) == store.generation

    def header(self) -> dict | None:
        """The header row: the live generation, its collections and the next document id."""
        return self.meta.header()

    # -- write ---------------------------------------------------------------

    def write(self, settings: Settings, old: MilvusStore | None, change: IndexChange) -> Manifest:
        """Apply an update: insert fresh articles, commit a new header, delete what they replace."""
        with milvus_errors(self.location):
            return apply_update(self.meta, settings, old, change)

    def tidy(self) -> None:
        """Finish or undo what an interrupted update left behind."""
        with milvus_errors(self.location):
            header = self.header()
            clean_up(self.meta, header)

    def verify(self, store: MilvusStore) -> None:
        """Nothing more to check: Milvus keeps its data whole, and load() has checked collection and dimension."""

    def read_skipped(self) -> list[dict]:
        """Articles the last update could not index (a hint that saves reading them again)."""
        try:
            return [d for d in json.loads(self.meta.value(SKIPPED) or "[]") if isinstance(d, dict)]
        except (ValueError, TypeError):
            return []

    def write_skipped(self, skipped: list[dict]) -> None:
        if self.read_skipped() != skipped:
            value = json.dumps(skipped, ensure_ascii=False)
            with milvus_errors(self.location):
                write_row(self.meta, SKIPPED, value if len(value.encode()) <= MAX_VARCHAR else "[]")
