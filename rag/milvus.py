"""The index in Milvus: a server, a cluster, or Milvus Lite in a local file.

    <name>_meta              the manifest: a header row ("manifest") and one row per document
    <name>_passages_<gen>    one row per passage: id, doc, start, end, text, terms, vector
                             (dense, inner product), sparse (Milvus' BM25 over terms), and
                             the passage's sentence vectors and spans
    <name>_terms_<gen>       how many passages hold each term (for idf), per generation

Passage ids are `doc << 20 | n`, so every passage names its document. A
changed article gets a new document id: its new passages are inserted, the
header row is replaced (the commit point), then the old passages are
deleted. A reader takes the documents of one header generation, and skips
passages of documents it does not know, so it sees the old index or the new
one. A full rebuild writes a new passages collection and drops the old one.

BM25 runs in Milvus, over the terms of our own tokenizer (stems, identifiers
such as "6.1" or "CVE-2021-1234" joined with "_" so any Milvus analyzer keeps
them whole), with the same k1 and b as the local index.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .errors import ConfigError, IndexBusyError, IndexStateError
from .keyword import tokenize
from .store import Manifest

__all__ = ["MilvusLocation", "MilvusBackend", "parse_store_url", "bm25_terms", "milvus_term", "milvus_errors"]

log = logging.getLogger(__name__)

DOC_SHIFT = 20  # passage id = doc << DOC_SHIFT | passage number within the document
BM25 = {"bm25_k1": 1.5, "bm25_b": 0.75}  # as bm25s, which the FAISS backend uses
MAX_VARCHAR = 65535  # bytes, Milvus' limit for one VARCHAR value
BATCH = 1000  # rows per insert or delete request
WINDOW = 16384  # documents per manifest query (Milvus' largest query result)
MAX_TERM = 512  # bytes of the longest term with a document frequency of its own
HEADER, SKIPPED = "manifest", "skipped"  # keys of the manifest collection's two rows that are not documents
_JOIN = str.maketrans({c: "_" for c in ".-/:+"})


@dataclass(frozen=True)
class MilvusLocation:
    """Where the index lives in Milvus: `uri` for MilvusClient, a collection name prefix."""

    uri: str  # a path ending in .db (Milvus Lite) or http://host:port
    token: str = ""  # user:password, for a server with authentication
    name: str = "rag"

    @property
    def lite(self) -> bool:
        return self.uri.endswith(".db")

    def __str__(self) -> str:
        return f"Milvus Lite file {self.uri}" if self.lite else f"Milvus at {self.uri}"

    def url(self) -> str:
        """The store URL for this location, as --store takes it."""
        where = self.uri if self.lite else (f"{self.token}@" if self.token else "") + self.uri.removeprefix("http://")
        return f"milvus://{where}?collection={self.name}"


def parse_store_url(url: str) -> MilvusLocation:
    """milvus:///path/to/file.db (Milvus Lite) or milvus://[user:password@]host[:port] (a server).

    `?collection=NAME` keeps several indexes apart in one Milvus (default "rag").

    >>> parse_store_url("milvus://db.internal?collection=news")
    MilvusLocation(uri='http://db.internal:19530', token='', name='news')
    """
    parts = urlsplit(url)
    shown = url.replace(f":{parts.password}@", ":***@") if parts.password else url
    hint = "use milvus:///path/to/file.db for Milvus Lite or milvus://host:19530 for a Milvus server."
    if parts.scheme != "milvus":
        raise ConfigError(f"store {shown!r} is not a Milvus URL: {hint}", "store")
    name = parse_qs(parts.query).get("collection", ["rag"])[0]
    if not name[:1].isalpha() or not name.replace("_", "").isalnum() or not name.isascii() or len(name) > 64:
        message = f"collection name {name!r}: use letters, digits and _ (64 at most), starting with a letter."
        raise ConfigError(message, "store")
    if not parts.netloc:
        if not parts.path.endswith(".db"):
            raise ConfigError(f"store {shown!r}: a Milvus Lite file name must end in .db; {hint}", "store")
        return MilvusLocation(parts.path, "", name)
    try:
        host, port = parts.hostname, parts.port or 19530
    except ValueError:
        raise ConfigError(f"store {shown!r} has an invalid port: {hint}", "store") from None
    if not host:
        raise ConfigError(f"store {shown!r} names no host: {hint}", "store")
    token = f"{parts.username}:{parts.password or ''}" if parts.username else ""
    return MilvusLocation(f"http://{host}:{port}", token, name)


def bm25_terms(text: str) -> str:
    """Our terms of `text`, space separated, each one word for any Milvus analyzer.

    >>> bm25_terms("Rust lands in 6.1, says CVE-2021-1234")
    'rust land 6_1 6 1 say cve_2021_1234 cve 2021 1234'
    """
    return " ".join(milvus_term(term) for term in tokenize(text))


def milvus_term(term: str) -> str:
    """A term of ours as Milvus' analyzer sees it: identifiers joined with "_" ("6.1" -> "6_1")."""
    return term.translate(_JOIN)


def _connect(location: MilvusLocation):
    return _client(location.uri, location.token)


@lru_cache(maxsize=8)
def _client(uri: str, token: str):
    """One client per Milvus and process (Milvus Lite serves a file from inside this process)."""
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    location = MilvusLocation(uri, token)
    quiet = logging.getLogger("milvus_lite.server_manager")  # logs a traceback before pymilvus raises
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        if location.lite:
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
            # Milvus Lite's in-process server refuses keep-alive pings between calls ("too_many_pings").
            return MilvusClient(uri=uri, timeout=30, grpc_options={"grpc.keepalive_permit_without_calls": 0})
        return MilvusClient(uri=uri, token=token, timeout=30)
    except MilvusException as exc:
        if location.lite and _lite_busy(Path(uri)):
            raise IndexBusyError(
                f"{location} is open in another process (a Milvus Lite file serves one process at a time): "
                "stop that process, or use a Milvus server."
            ) from None
        raise ConfigError(f"cannot open {location} ({exc.message}): check --store / RAG_STORE.", "store") from None
    finally:
        quiet.setLevel(level)


def _lite_busy(path: Path) -> bool:
    import fcntl

    try:
        with (path / "LOCK").open("a") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(f, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


@contextmanager
def milvus_errors(location: MilvusLocation) -> Iterator[None]:
    """Milvus failures as IndexStateError, with where they happened."""
    from pymilvus.exceptions import MilvusException

    try:
        yield
    except MilvusException as exc:
        raise IndexStateError(
            f"{location} failed ({exc.message})", "check that it is running, then try again."
        ) from None


class MilvusBackend:
    """Reads and writes the index in Milvus; see the module docstring for the layout."""

    def __init__(self, location: MilvusLocation) -> None:
        self.location = location
        self.meta = f"{location.name}_meta"
        digest = hashlib.sha256(f"{location.uri} {location.name}".encode()).hexdigest()[:16]
        self.lock_dir = Path(tempfile.gettempdir()) / "rag-locks" / digest  # one writer per machine

    @property
    def client(self):
        return _connect(self.location)

    # -- read ----------------------------------------------------------------

    def read_manifest(self) -> Manifest | None:
        snapshot = self._snapshot()
        return snapshot[0] if snapshot else None

    def load(self):
        """The live generation as a MilvusStore, or None when there is no index yet."""
        from .milvus_store import MilvusStore

        snapshot = self._snapshot()
        if snapshot is None:
            return None
        manifest, header = snapshot
        with milvus_errors(self.location):
            for name in (header["collection"], header["terms"]):
                if not self.client.has_collection(name):
                    raise IndexStateError(f"{self.location} has lost the collection {name} of the index")
                self._loaded(name)
            dim = next(f["params"]["dim"] for f in self._fields(header["collection"]) if f["name"] == "vector")
            if int(dim) != manifest.dim:
                raise IndexStateError(f"{self.location} holds {dim}-d vectors, not {manifest.dim}")
        return MilvusStore(self.client, self.location, manifest, header)

    def is_live(self, store) -> bool:
        header = self.header()
        return header is not None and int(header.get("generation", -1)) == store.generation

    def _snapshot(self) -> tuple[Manifest, dict] | None:
        """The manifest of one generation: its header and the documents live in it."""
        for _ in range(3):  # a writer may commit between our reads
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
        raise IndexStateError(f"{self.location} keeps changing while being read", "try again.")

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
        with milvus_errors(self.location):
            if not self.client.has_collection(self.meta):
                return None
            self._loaded(self.meta)
            rows = self.client.get(self.meta, ids=[HEADER], output_fields=["value"])
        if not rows:
            return None
        try:
            header = json.loads(rows[0]["value"])
        except ValueError:
            header = None
        if not isinstance(header, dict):
            raise IndexStateError(f"{self.location} has a damaged manifest")
        return header

    @staticmethod
    def visible(generation: int) -> str:
        return f"added <= {generation} and (removed == 0 or removed > {generation})"

    def document_rows(self, condition: str, next_doc: int) -> list[dict]:
        """Document rows meeting `condition`, read in windows of document ids."""
        rows: list[dict] = []
        with milvus_errors(self.location):
            for low in range(1, max(next_doc, 1), WINDOW):
                where = f"doc >= {low} and doc < {low + WINDOW} and ({condition})"
                rows.extend(self.client.query(self.meta, filter=where, output_fields=["doc", "value"], limit=WINDOW))
        return rows

    def _fields(self, collection: str) -> list[dict]:
        return self.client.describe_collection(collection)["fields"]

    def _loaded(self, collection: str) -> None:
        from pymilvus.client.types import LoadState

        if self.client.get_load_state(collection)["state"] != LoadState.Loaded:
            self.client.load_collection(collection)

    # -- write ---------------------------------------------------------------

    def write(self, settings, model, dim, old, kept, fresh, new) -> Manifest:
        """Apply an update: insert fresh articles, commit a new header, delete what they replace."""
        from .milvus_write import apply_update

        with milvus_errors(self.location):
            return apply_update(self, settings, model, dim, old, kept, fresh, new)

    def tidy(self) -> None:
        """Finish or undo what an interrupted update left behind."""
        from .milvus_write import clean_up

        with milvus_errors(self.location):
            header = self.header()
            clean_up(self, header)

    def verify(self, store) -> None:
        """Nothing more to check: Milvus keeps its data whole, and load() has checked collection and dimension."""

    def read_skipped(self) -> list[dict]:
        """Articles the last update could not index (a hint that saves reading them again)."""
        with milvus_errors(self.location):
            if not self.client.has_collection(self.meta):
                return []
            self._loaded(self.meta)
            rows = self.client.get(self.meta, ids=[SKIPPED], output_fields=["value"])
        try:
            return [d for d in json.loads(rows[0]["value"]) if isinstance(d, dict)] if rows else []
        except (ValueError, TypeError):
            return []

    def write_skipped(self, skipped: list[dict]) -> None:
        from .milvus_write import write_row

        if self.read_skipped() != skipped:
            value = json.dumps(skipped, ensure_ascii=False)
            with milvus_errors(self.location):
                write_row(self, SKIPPED, value if len(value.encode()) <= MAX_VARCHAR else "[]")
