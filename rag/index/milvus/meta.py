"""The manifest collection `<name>_meta` of one index in Milvus, and reading it.

It holds a header row, which names the live generation and its collections
(replacing it is the commit point of an update), the articles the last update
skipped, and a row per document. A document row is visible in generation g
when it was added at g or before and not removed by g; a reader takes the
documents of one header generation, so it sees the old index or the new one.
"""

from __future__ import annotations

import json

from ...config import MilvusLocation
from ...errors import IndexStateError
from ..retry import attempts
from ..schema import Manifest
from .client import loaded, milvus_client, milvus_errors
from .schema import HEADER, WINDOW

__all__ = ["Meta"]


class Meta:
    """The manifest collection of the index at `location`: who is live, and which documents it holds."""

    def __init__(self, location: MilvusLocation) -> None:
        self.location = location
        self.name = f"{location.name}_meta"

    @property
    def client(self):
        return milvus_client(self.location.uri, self.location.token)

    def snapshot(self) -> tuple[Manifest, dict] | None:
        """The manifest of one generation: its header and the documents live in it."""
        for _ in attempts(str(self.location), tries=3, pause=0):  # a writer may commit between our reads
            header = self.header()
            if header is None:
                return None
            manifest = self._manifest(header)
            generation, next_doc = int(header["generation"]), int(header["next_doc"])
            docs = [json.loads(r["value"]) for r in self.document_rows(self.visible(generation), next_doc)]
            again = self.header()
            if again is not None and again.get("generation") == generation:
                manifest.documents = sorted(docs, key=lambda d: d["source"])
                return manifest, header
        raise AssertionError("attempts() raises when its tries run out")  # for the type checker

    def _manifest(self, header: dict) -> Manifest:
        """The header as a Manifest, with the same checks as the FAISS index's (format version, fields).

        Documents have rows of their own; they are read separately.
        """
        try:
            manifest = Manifest.from_json({**header, "documents": [], "passages": 0}, str(self.location))
            manifest.passages = int(header["passages"])
            if (
                not isinstance(header["collection"], str)
                or not isinstance(header["terms"], str)
                or int(header["generation"]) < 1
                or int(header["next_doc"]) < 1
            ):
                raise ValueError("header")
        except (KeyError, TypeError, ValueError, AttributeError):
            raise IndexStateError(f"{self.location} has a damaged manifest") from None
        return manifest

    def header(self) -> dict | None:
        value = self.value(HEADER)
        if value is None:
            return None
        try:
            header = json.loads(value)
        except ValueError:
            header = None
        if not isinstance(header, dict):
            raise IndexStateError(f"{self.location} has a damaged manifest")
        return header

    def value(self, key: str) -> str | None:
        """The value of one of the rows that are not documents."""
        with milvus_errors(self.location):
            if not self.client.has_collection(self.name):
                return None
            loaded(self.client, self.name)
            rows = self.client.get(self.name, ids=[key], output_fields=["value"])
        return rows[0]["value"] if rows else None

    @staticmethod
    def visible(generation: int) -> str:
        return f"added <= {generation} and (removed == 0 or removed > {generation})"

    def document_rows(self, condition: str, next_doc: int) -> list[dict]:
        """Document rows meeting `condition`, read in windows of document ids."""
        rows: list[dict] = []
        with milvus_errors(self.location):
            for low in range(1, max(next_doc, 1), WINDOW):
                where = f"doc >= {low} and doc < {low + WINDOW} and ({condition})"
                rows.extend(self.client.query(self.name, filter=where, output_fields=["doc", "value"], limit=WINDOW))
        return rows
