"""Retrieval quality on a BEIR-format data set (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv).

The data set's documents are written as articles (title + " " + text) into
a work folder and indexed there with the same indexer, model and chunking
as any corpus, so a second run reuses the index. Each query is answered
at document level: a document scores as its best passage, per retriever,
and the two are fused as in `search`. Reported: nDCG@10 (graded gains,
log2 discount, as BEIR and MTEB compute it) and recall@100.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np

from ..answer.question import Query
from ..answer.search import candidates, fuse_documents
from ..engine import Engine
from ..errors import InputError
from ..index.backends import separate_index

__all__ = [
    "BeirSet",
    "BeirReport",
    "load_beir",
    "looks_like_beir",
    "ndcg_at_k",
    "recall_at_k",
    "write_corpus",
    "rank_documents",
    "run_beir",
    "work_folder",
]

log = logging.getLogger(__name__)


@dataclass
class BeirSet:
    name: str
    documents: list[tuple[str, str, str]]  # id, title, text
    queries: dict[str, str]  # id -> text, only queries judged in the split
    qrels: dict[str, dict[str, int]]  # query id -> document id -> gain


@dataclass
class BeirReport:
    name: str
    split: str
    queries: int
    documents: int
    passages: int
    ndcg_at_10: float
    recall_at_100: float
    index_seconds: float
    query_seconds: float  # embedding and ranking all queries
    reused: bool = False  # the index from an earlier run was used as it was
    per_query: dict[str, float] = field(default_factory=dict)  # nDCG@10 per query id

    def to_json(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "per_query"}
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


def ndcg_at_k(ranked: Sequence[str], gains: dict[str, int], k: int = 10) -> float:
    """nDCG@k with graded gains and a log2 discount.

    >>> round(ndcg_at_k(["b", "a"], {"a": 1}), 4)
    0.6309
    """
    dcg = sum(gains.get(d, 0) / math.log2(r + 2) for r, d in enumerate(ranked[:k]))
    ideal = sorted((g for g in gains.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_k(ranked: Sequence[str], gains: dict[str, int], k: int = 100) -> float:
    """Share of the relevant documents found in the top k.

    >>> recall_at_k(["a", "x"], {"a": 1, "b": 2}, k=2)
    0.5
    """
    relevant = {d for d, g in gains.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


SHAPE = "a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/SPLIT.tsv, as the BEIR benchmark's data sets do"


def looks_like_beir(folder: Path) -> bool:
    """Whether `folder` has the files of a BEIR data set (corpus.jsonl and queries.jsonl)."""
    return (Path(folder) / "corpus.jsonl").is_file() and (Path(folder) / "queries.jsonl").is_file()


def check_beir(folder: Path, split: str) -> None:
    """Refuse a folder that is not shaped like a BEIR data set, saying what is missing."""
    if not folder.exists():
        raise InputError(f"{folder} does not exist: --beir takes a BEIR data set folder ({SHAPE}).")
    if not folder.is_dir():
        raise InputError(f"{folder} is a file: --beir takes a BEIR data set folder ({SHAPE}).")
    missing = [name for name in ("corpus.jsonl", "queries.jsonl") if not (folder / name).is_file()]
    if missing:
        raise InputError(f"{folder} is not a BEIR data set: no {' or '.join(missing)} in it ({SHAPE}).")
    if not (folder / "qrels" / f"{split}.tsv").is_file():
        splits = sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))
        have = f"it has {', '.join(splits)}: pass --split {splits[0]}" if splits else SHAPE
        raise InputError(f"{folder} has no qrels/{split}.tsv ({have}).")


def load_beir(folder: Path, split: str = "test") -> BeirSet:
    """Read a BEIR data set; keeps the queries that have judgements in `split`."""
    folder = Path(folder)
    check_beir(folder, split)
    qrels_file = folder / "qrels" / f"{split}.tsv"
    try:
        documents = [
            (str(d["_id"]), d.get("title") or "", d.get("text") or "") for d in _jsonl(folder / "corpus.jsonl")
        ]
        qrels: dict[str, dict[str, int]] = {}
        for line in qrels_file.read_text(encoding="utf-8").splitlines()[1:]:
            if line.strip():
                qid, did, gain = line.split("\t")[:3]
                qrels.setdefault(qid, {})[did] = int(gain)
        queries = {str(q["_id"]): q["text"] for q in _jsonl(folder / "queries.jsonl") if str(q["_id"]) in qrels}
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{folder} is not a readable BEIR data set ({exc.__class__.__name__}: {exc}).") from None
    missing = set(qrels) - set(queries)
    if missing:
        log.warning("%d judged queries have no text; left out", len(missing))
        qrels = {q: g for q, g in qrels.items() if q in queries}
    return BeirSet(folder.name, documents, queries, qrels)


def _jsonl(path: Path):
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def work_folder(folder: Path, settings) -> Path:
    """A cache folder for the index of a data set: $XDG_CACHE_HOME/rag/beir/<name>-<digest of its path>."""
    import hashlib
    import os

    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag" / "beir"
    digest = hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:10]
    return root / f"{Path(folder).resolve().name}-{digest}"


def source_of(doc_id: str) -> str:
    """File name of a document in the work corpus ("d-" keeps ids starting with a dot visible)."""
    return f"d-{quote(doc_id, safe='')}.md"


def doc_id_of(source: str) -> str:
    return unquote(source.removeprefix("d-").removesuffix(".md"))


def write_corpus(data: BeirSet, corpus: Path) -> int:
    """Write each document as a markdown article; files already holding the same bytes are left alone."""
    corpus.mkdir(parents=True, exist_ok=True)
    written = 0
    wanted = set()
    for doc_id, title, text in data.documents:
        name = source_of(doc_id)
        wanted.add(name)
        body = f"---\ntitle: {json.dumps(title or doc_id, ensure_ascii=False)}\n---\n{title} {text}".rstrip() + "\n"
        path = corpus / name
        data_bytes = body.encode("utf-8")
        if not path.exists() or path.read_bytes() != data_bytes:
            path.write_bytes(data_bytes)
            written += 1
    for stale in corpus.glob("d-*.md"):
        if stale.name not in wanted:
            stale.unlink()
    return written


def rank_documents(store, query: Query, depth: int) -> list[str]:
    """Document ids, best first: each retriever's document score is its best passage; then fused."""
    c = candidates(store, query, depth)
    doc_numbers, scores = fuse_documents(store, c)
    return [doc_id_of(store.doc(int(d))["source"]) for d in doc_numbers[np.argsort(-scores, kind="stable")]]


def run_beir(
    folder: Path,
    work: Path,
    settings,
    embedder=None,
    split: str = "test",
    depth: int = 1000,
    notify: Callable[[str], None] | None = None,
) -> BeirReport:
    """Index the data set in `work` (reused when unchanged) and score every judged query of `split`."""
    data = load_beir(folder, split)
    name = "beir_" + ("".join(c if c.isalnum() and c.isascii() else "_" for c in data.name.lower())[:32] or "set")
    settings = separate_index(settings, name, work / "index").with_(corpus=work / "corpus")
    write_corpus(data, settings.corpus)
    engine = Engine(settings, embedder=embedder)
    t0 = time.perf_counter()
    reason = engine.stale_reason()
    if reason:
        if notify:
            notify(
                f"Indexing {len(data.documents)} documents of {data.name} in {work} ({reason}; later runs reuse it)..."
            )
        engine.update()
    index_seconds = time.perf_counter() - t0
    store = engine.store()
    t0 = time.perf_counter()
    qids = list(data.queries)
    vectors = engine.embedder.embed([data.queries[q] for q in qids])
    per_query, recalls = {}, []
    for qid, vector in zip(qids, vectors, strict=True):
        ranked = rank_documents(store, Query.read(data.queries[qid], vector, store.idf), depth)
        per_query[qid] = ndcg_at_k(ranked, data.qrels[qid], 10)
        recalls.append(recall_at_k(ranked, data.qrels[qid], 100))
    query_seconds = time.perf_counter() - t0
    return BeirReport(
        name=data.name,
        split=split,
        queries=len(qids),
        documents=len(data.documents),
        passages=len(store),
        ndcg_at_10=float(np.mean(list(per_query.values()))) if per_query else 0.0,
        recall_at_100=float(np.mean(recalls)) if recalls else 0.0,
        index_seconds=index_seconds,
        query_seconds=query_seconds,
        reused=reason is None,
        per_query=per_query,
    )
