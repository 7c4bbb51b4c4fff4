"""The index in Milvus (a server, a cluster, or Milvus Lite in a local file), and reading it.

    <name>_meta              the manifest: a header row ("manifest") and one row per document
    <name>_passages_<gen>    one row per passage: id, doc, start, end, text, terms, vector
                             (dense, inner product), sparse (Milvus' BM25 over terms), and
                             the passage's sentence vectors and spans
    <name>_terms_<gen>       how many passages hold each term (for idf), per generation

Passage ids are `doc << 20 | n`, so every passage names its document. A
changed article gets a new document id: its new passages are inserted, the
header row is replaced (the commit point), then the old passages are
deleted (milvus_write.py). A reader takes the documents of one header
generation, and skips passages of documents it does not know, so it sees the
old index or the new one. A full rebuild writes new collections and drops
the old ones.

A MilvusStore answers what search asks of a store. Candidates come from two
Milvus searches, dense (inner product) and Milvus' BM25 over the terms of our
own tokenizer (stems, identifiers such as "6.1" or "CVE-2021-1234" joined
with "_" so any Milvus analyzer keeps them whole), with the same k1 and b as
the local index. The rows they return (text, vector, sentence vectors) are
kept, so fusion, de-duplication and highlights read them without another
round trip. BM25 scores are divided by k1 + 1, the factor Milvus' formula has
and the local index's (bm25s' "lucene" variant) has not, so both give the
same numbers; document frequencies for `idf` come from the terms collection,
as of the store's generation.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .config import MilvusLocation
from .errors import ConfigError, IndexBusyError, IndexStateError
from .keyword import K1, B, tokenize
from .quantize import dequantize, quantize
from .retry import attempts
from .store import Manifest

__all__ = ["MilvusBackend", "MilvusStore", "bm25_terms", "milvus_term", "milvus_errors", "pack_sentences", "pack_spans"]

log = logging.getLogger(__name__)

DOC_SHIFT = 20  # passage id = doc << DOC_SHIFT | passage number within the document
BM25 = {"bm25_k1": K1, "bm25_b": B}  # as the local index
MAX_VARCHAR = 65535  # bytes, Milvus' limit for one VARCHAR value
BATCH = 1000  # rows per insert or delete request
WINDOW = 16384  # documents per manifest query (Milvus' largest query result)
MAX_TERM = 512  # bytes of the longest term with a document frequency of its own
HEADER, SKIPPED = "manifest", "skipped"  # keys of the manifest collection's two rows that are not documents
ROW_FIELDS = ["start", "end", "text", "vector", "sentences", "spans"]
PASSAGE_DTYPE = np.dtype([("doc", "<i8"), ("start", "<i8"), ("end", "<i8")])  # as the FAISS store's, wider ids
CACHE_ROWS = 20_000  # passage rows kept between questions
_JOIN = str.maketrans({c: "_" for c in ".-/:+"})


def bm25_terms(text: str) -> str:
    """Our terms of `text`, space separated, each one word for any Milvus analyzer.

    >>> bm25_terms("Rust lands in 6.1, says CVE-2021-1234")
    'rust land 6_1 6 1 say cve_2021_1234 cve 2021 1234'
    """
    return " ".join(milvus_term(term) for term in tokenize(text))


def milvus_term(term: str) -> str:
    """A term of ours as Milvus' analyzer sees it: identifiers joined with "_" ("6.1" -> "6_1")."""
    return term.translate(_JOIN)


def pack_sentences(vectors: np.ndarray) -> str:
    """Sentence vectors as int8 (quantize.py, as the FAISS index keeps them), base64 text for a VARCHAR."""
    return base64.b64encode(quantize(vectors).tobytes()).decode("ascii")


def pack_spans(spans: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(spans, dtype="<i4").tobytes()).decode("ascii")


def _unpack_sentences(text: str, dim: int) -> np.ndarray:
    rows = np.frombuffer(base64.b64decode(text), dtype=np.int8).reshape(-1, dim)
    return dequantize(rows)


def _unpack_spans(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<i4").reshape(-1, 2)


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
        return _client(self.location.uri, self.location.token)

    # -- read ----------------------------------------------------------------

    def read_manifest(self) -> Manifest | None:
        snapshot = self._snapshot()
        return snapshot[0] if snapshot else None

    def load(self):
        """The live generation as a MilvusStore, or None when there is no index yet."""
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
        value = self._value(HEADER)
        if value is None:
            return None
        try:
            header = json.loads(value)
        except ValueError:
            header = None
        if not isinstance(header, dict):
            raise IndexStateError(f"{self.location} has a damaged manifest")
        return header

    def _value(self, key: str) -> str | None:
        """The value of one of the manifest collection's rows that are not documents."""
        with milvus_errors(self.location):
            if not self.client.has_collection(self.meta):
                return None
            self._loaded(self.meta)
            rows = self.client.get(self.meta, ids=[key], output_fields=["value"])
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
        try:
            return [d for d in json.loads(self._value(SKIPPED) or "[]") if isinstance(d, dict)]
        except (ValueError, TypeError):
            return []

    def write_skipped(self, skipped: list[dict]) -> None:
        from .milvus_write import write_row

        if self.read_skipped() != skipped:
            value = json.dumps(skipped, ensure_ascii=False)
            with milvus_errors(self.location):
                write_row(self, SKIPPED, value if len(value.encode()) <= MAX_VARCHAR else "[]")


@dataclass(frozen=True)
class _Row:
    doc: int
    start: int
    end: int
    text: str
    vector: np.ndarray
    sentences: np.ndarray  # float32, one row per sentence
    spans: np.ndarray  # (start, end) of each sentence within the passage


class MilvusStore:
    """One generation of the index in Milvus; see the module docstring."""

    def __init__(self, client, location: MilvusLocation, manifest: Manifest, header: dict) -> None:
        self.client = client
        self.location = location
        self.manifest = manifest
        self.generation = int(header["generation"])
        self.collection = str(header["collection"])
        self.terms = str(header["terms"])
        self._docs = {int(d["id"]): d for d in manifest.documents}
        self._rows: dict[int, _Row] = {}
        self._df: dict[str, int] = {}
        self._last_keyword: tuple[str, dict[int, float], bool] | None = None  # query, scores, all matches?
        self.passages = _Passages(self)

    def __len__(self) -> int:
        return self.manifest.passages

    # -- candidates ------------------------------------------------------------

    def dense_search(self, vector: np.ndarray, n: int) -> tuple[list[int], list[float]]:
        """Ids and cosines of the `n` passages nearest to `vector`, best first."""
        params = {"metric_type": "IP"} if self.location.lite else {"metric_type": "IP", "params": {"ef": max(64, n)}}
        data = [np.asarray(vector, dtype=np.float32).tolist()]
        return self._search(data, "vector", n, params)[:2]

    def keyword_search(self, query: str, n: int) -> tuple[list[int], list[float]]:
        """Ids and BM25 scores of the `n` best passages for `query`, best first (none when no term matches)."""
        terms = bm25_terms(query)
        ids, scores, found = self._search([terms], "sparse", n, {"metric_type": "BM25"}) if terms else ([], [], 0)
        # Milvus Lite reports BM25 as a negative distance, a server as a positive score.
        scores = [abs(s) / (K1 + 1) for s in scores]
        kept = [(i, s) for i, s in zip(ids, scores, strict=True) if s > 0]
        self._last_keyword = (query, dict(kept), found < n)
        return [i for i, _ in kept], [s for _, s in kept]

    def keyword_scores(self, query: str, ids: np.ndarray) -> np.ndarray:
        """BM25 score of each passage in `ids` for `query` (0 where no term matches)."""
        last = self._last_keyword
        known, complete = (last[1], last[2]) if last and last[0] == query else ({}, False)
        todo = [int(i) for i in ids if int(i) not in known]
        terms = bm25_terms(query)
        if todo and terms and not complete:
            found, scores, _ = self._search(
                [terms], "sparse", len(todo), {"metric_type": "BM25"}, where=f"id in {todo}", keep_rows=False
            )
            known = {**known, **{i: abs(s) / (K1 + 1) for i, s in zip(found, scores, strict=True)}}
        return np.array([known.get(int(i), 0.0) for i in ids], dtype=np.float32)

    def idf(self, terms: list[str]) -> dict[str, float]:
        """BM25 inverse document frequency of each term, as the local index computes it."""
        keys = {t: milvus_term(t) for t in terms}
        todo = sorted({k for k in keys.values() if k not in self._df and len(k.encode()) <= MAX_TERM})
        if todo:
            with milvus_errors(self.location):
                rows = self.client.get(self.terms, ids=todo, output_fields=["df", "prev", "gen"])
            self._df.update({k: 0 for k in todo})
            self._df.update({r["term"]: int(r["df"] if r["gen"] <= self.generation else r["prev"]) for r in rows})
        n = len(self)
        out = {}
        for term, key in keys.items():
            df = self._df.get(key, 0) or 1  # a term no passage holds counts as seen once, as in the local index
            out[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return out

    def _search(self, data, field, limit, params, where="", keep_rows=True) -> tuple[list[int], list[float], int]:
        """Ids and scores of the hits this generation holds, and how many hits Milvus returned."""
        with milvus_errors(self.location):
            hits = self.client.search(
                self.collection,
                data=data,
                anns_field=field,
                limit=limit,
                search_params=params,
                filter=where,
                output_fields=ROW_FIELDS if keep_rows else ["start"],
            )[0]
        if keep_rows and len(self._rows) > CACHE_ROWS:
            self._rows.clear()
        ids, scores = [], []
        for hit in hits:
            i = int(hit["id"])
            if i >> DOC_SHIFT not in self._docs:
                continue  # written by an update that is not (or no longer) this generation
            if keep_rows:
                self._rows[i] = self._parse(i, hit["entity"])
            ids.append(i)
            scores.append(float(hit["distance"]))
        return ids, scores, len(hits)

    # -- rows ------------------------------------------------------------------

    def _parse(self, i: int, row: dict) -> _Row:
        dim = self.manifest.dim
        vector = np.asarray(row["vector"], dtype=np.float32)
        sentences, spans = _unpack_sentences(row["sentences"], dim), _unpack_spans(row["spans"])
        return _Row(i >> DOC_SHIFT, int(row["start"]), int(row["end"]), row["text"], vector, sentences, spans)

    def _get(self, ids) -> list[_Row]:
        ids = [int(i) for i in ids]
        missing = list(dict.fromkeys(i for i in ids if i not in self._rows))
        if missing:
            with milvus_errors(self.location):
                found = self.client.get(self.collection, ids=missing, output_fields=ROW_FIELDS)
            self._rows.update({int(r["id"]): self._parse(int(r["id"]), r) for r in found})
        try:
            return [self._rows[i] for i in ids]
        except KeyError:
            raise IndexStateError("the index was updated while answering", "ask again.") from None

    def text(self, i: int) -> str:
        return self._get([i])[0].text

    def document(self, i: int) -> dict:
        """Metadata of the document that passage `i` belongs to."""
        return self._docs[int(i) >> DOC_SHIFT]

    def doc(self, number: int) -> dict:
        """Metadata of the document that `passages[i]["doc"]` names."""
        return self._docs[number]

    def vector_rows(self, ids: np.ndarray) -> np.ndarray:
        return np.stack([r.vector for r in self._get(ids)]) if len(ids) else np.zeros((0, self.manifest.dim))

    def sentence_block(self, passages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sentence vectors of `passages`, back to back, and how many rows each passage has."""
        rows = self._get(passages)
        return np.concatenate([r.sentences for r in rows]), np.array([len(r.sentences) for r in rows])

    def sentences(self, passage: int) -> tuple[np.ndarray, np.ndarray]:
        """Sentence vectors of one passage, in order, and each sentence's (start, end) in the passage."""
        row = self._get([passage])[0]
        return row.sentences, row.spans


class _Passages:
    """`store.passages[i]` or `store.passages[ids]` -> (doc, start, end), as the FAISS store's array gives them."""

    def __init__(self, store: MilvusStore) -> None:
        self._store = store

    def __getitem__(self, key):
        if isinstance(key, slice) and key.stop == 0:
            return np.zeros(0, dtype=PASSAGE_DTYPE)
        if np.ndim(key) == 0:
            return self[[int(key)]][0]
        rows = self._store._get(np.asarray(key).tolist())
        return np.array([(r.doc, r.start, r.end) for r in rows], dtype=PASSAGE_DTYPE)

    def __len__(self) -> int:
        return len(self._store)
