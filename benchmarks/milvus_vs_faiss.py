"""SciFact on both backends: the FAISS folder and Milvus Lite, fed the very same vectors.

    python benchmarks/milvus_vs_faiss.py [--scale 100000,1000000]

SciFact's abstracts are written as articles and indexed as `rag eval --beir`
does it (rag/evaluate/beir.py), through the product's own update path on each
backend. Embeddings are computed once with the product's embedders and
cached in benchmarks/.cache (a first run embeds SciFact, then times
everything again), so the times below are the backends' own, not the
model's. Prints one table: build time, an update of 1% of the articles,
a check with nothing to do, the latency of `rag ask`'s retrieval (5
passages, no model), and nDCG@10 on the 300 test claims ranked as
`rag eval --beir` ranks them (rag.evaluate.beir.rank_documents, graded qrels, log2
discount).

`--scale SIZES` adds the FAISS folder's dense index at larger sizes
(SciFact's vectors plus noise, as benchmarks/scale.py; the index type rag
picks by size, rag/index/faiss/dense.py): build time, which every update pays again,
search latency and size, to place the move to a Milvus server.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from common import CACHE, SCIFACT, machine, pct, table

from rag.answer.question import Query
from rag.answer.search import search
from rag.config import DEFAULT_MODEL, Settings
from rag.engine import Engine
from rag.evaluate.beir import load_beir, ndcg_at_k, rank_documents, write_corpus
from rag.index.embedding import Embedder, load_embedder
from rag.index.faiss.reader import Store

DEPTH = 1000  # candidates per retriever when ranking documents, as `rag eval --beir`
VECTORS = "int8 one text at a time"  # how rag.index.embedding makes index vectors; a change here embeds again


class CachedEmbedder(Embedder):
    """The product's embedders behind a cache on disk keyed by the text's SHA-1: embed once, reuse every run.

    Passages get the int8 ONNX model, as `rag index` does; questions the full-precision one, as `rag ask`.
    """

    def __init__(self, path: Path, model_dir: Path) -> None:
        self.path, self.model_dir = path, model_dir
        self.vectors: dict[str, np.ndarray] = {}
        if path.exists():
            data = np.load(path)
            self.vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        self.name, self.dim = DEFAULT_MODEL, 384
        self.computed = 0  # texts embedded since the last save

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        return self._cached(texts, quantized=True)

    def embed_query(self, text: str) -> np.ndarray:
        return self._cached([text], quantized=False)[0]

    def _cached(self, texts: Sequence[str], quantized: bool) -> np.ndarray:
        keys = [hashlib.sha1(f"{VECTORS} {quantized} {t}".encode()).hexdigest() for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in self.vectors]
        if missing:
            model = load_embedder(DEFAULT_MODEL, self.model_dir, quantized=quantized)
            fresh = model.embed_batch([texts[i] for i in missing])
            self.vectors.update({keys[i]: v for i, v in zip(missing, fresh, strict=True)})
            self.computed += len(missing)
        return np.stack([self.vectors[k] for k in keys])

    def save(self) -> bool:
        """Write the cache if anything was embedded since the last save; says whether it was."""
        if not self.computed:
            return False
        keys = list(self.vectors)
        np.savez(self.path, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))
        self.computed = 0
        return True


def run_backend(settings: Settings, embedder: CachedEmbedder, queries, qrels, query_vectors, folder: Path) -> dict:
    """Build, search and update one backend; the corpus is left as it was found."""
    engine = Engine(settings, embedder=embedder)
    build = engine.update(full=True)
    if embedder.save():  # the model ran: build again, with every vector cached
        build = engine.update(full=True)
    store = engine.store()
    latencies, scores, rankings = [], [], {}
    for qid, text in queries.items():
        t0 = time.perf_counter()
        query = Query.read(text, query_vectors[qid], store.idf)
        search(store, query, 5)
        latencies.append(time.perf_counter() - t0)
        docs = rank_documents(store, query, DEPTH)
        rankings[qid] = docs[:10]
        scores.append(ndcg_at_k(docs, qrels[qid], 10))
    changed = sorted(settings.corpus.iterdir())[::100]  # 1% of the articles
    originals = {p: p.read_text() for p in changed}
    for p in changed:
        p.write_text(originals[p] + " This abstract was revised.")
    update = engine.update()
    for p, text in originals.items():
        p.write_text(text)
    engine.update()
    t0 = time.perf_counter()
    engine.update()
    noop = time.perf_counter() - t0
    if embedder.save():  # the revision was embedded: time it again from the cache
        return run_backend(settings, embedder, queries, qrels, query_vectors, folder)
    return {
        "passages": len(store),
        "disk": sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6,
        "build": build.seconds,
        "update": update.seconds,
        "updated": update.updated,
        "noop": noop,
        "p50": 1000 * statistics.median(latencies),
        "p95": 1000 * pct(latencies, 95),
        "ndcg": statistics.mean(scores),
        "rankings": rankings,
    }


def scale_rows(sizes: Sequence[int], work: Path, centres: np.ndarray, questions: np.ndarray) -> list[list]:
    """The FAISS folder's dense index (rag.index.faiss.dense) at each size, over SciFact's passage vectors plus
    noise (benchmarks/scale.py): its kind, build time (all cores, as `rag index`), search p50 for
    the top 50 of SciFact's claims with one thread (on a shared machine, OpenMP threads waiting
    for each other would dominate the time), and vectors plus index on disk (GB).
    """
    import faiss
    from scale import synthetic

    from rag.index.faiss.dense import build_dense, load_dense

    threads = faiss.omp_get_max_threads()
    rows = []
    for n in sizes:
        vectors = synthetic(centres, n, seed=n)
        folder = work / f"dense-{n}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        t0 = time.perf_counter()
        build_dense(folder, vectors)
        build = time.perf_counter() - t0
        index = load_dense(folder)
        faiss.omp_set_num_threads(1)
        times = []
        for q in questions:
            t0 = time.perf_counter()
            index.search(q.reshape(1, -1), 50)
            times.append(time.perf_counter() - t0)
        faiss.omp_set_num_threads(threads)
        kind = "exact" if index.__class__.__name__ == "IndexFlatIP" else "HNSW"
        disk = (sum(f.stat().st_size for f in folder.iterdir()) + vectors.nbytes) / 1e9  # + vectors.npy
        rows.append([f"{n:,}", kind, build, 1000 * statistics.median(times), disk])
        del index, vectors
        shutil.rmtree(folder)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", metavar="SIZES", help="also time the FAISS folder's dense index at these sizes")
    args = parser.parse_args()
    print(machine())
    work = CACHE / "milvus-vs-faiss"
    work.mkdir(parents=True, exist_ok=True)
    data = load_beir(SCIFACT)
    corpus = work / "articles"  # the update step edits 1% of them, then puts them back
    write_corpus(data, corpus)
    queries, qrels = data.queries, data.qrels
    embedder = CachedEmbedder(work / "embeddings.npz", work / "model")
    query_vectors = {qid: embedder.embed_query(text) for qid, text in queries.items()}
    embedder.save()

    index, lite = work / "index", work / "milvus.db"
    shutil.rmtree(index, ignore_errors=True)
    shutil.rmtree(lite, ignore_errors=True)
    base = Settings(corpus=corpus, index=index)
    results = {
        "FAISS folder": run_backend(base, embedder, queries, qrels, query_vectors, index),
        "Milvus Lite": run_backend(base.with_(store=f"milvus://{lite}"), embedder, queries, qrels, query_vectors, lite),
    }
    embedder.save()

    articles = sum(1 for _ in corpus.iterdir())
    print(f"\nSciFact test: {articles:,} articles, {len(queries)} queries; vectors from the cache, not timed.\n")
    headers = ["backend", "passages", "on disk (MB)", "build (s)", "update 1% (s)", "nothing to do (s)"]
    headers += ["query p50 (ms)", "p95 (ms)", "nDCG@10"]
    rows = [
        [name, r["passages"], r["disk"], r["build"], f"{r['update']:.1f} ({r['updated']} articles)", r["noop"]]
        + [r["p50"], r["p95"], f"{r['ndcg']:.4f}"]
        for name, r in results.items()
    ]
    print(table(headers, rows))
    faiss_r, milvus_r = results["FAISS folder"]["rankings"], results["Milvus Lite"]["rankings"]
    same = sum(faiss_r[q] == milvus_r[q] for q in queries)
    diff = abs(results["FAISS folder"]["ndcg"] - results["Milvus Lite"]["ndcg"])
    print(f"\nnDCG@10 difference {diff:.4f}; identical top-10 documents for {same} of {len(queries)} queries.")
    if args.scale:
        print()
        headers = ["passages (384-d)", "dense index", "build (s)", "search p50, 1 thread (ms)", "vectors + index (GB)"]
        sizes = [int(n.replace(",", "").replace("_", "")) for n in args.scale.split(",")]
        centres = np.asarray(Store.load(index).vectors())
        questions = np.stack(list(query_vectors.values()))
        print(table(headers, scale_rows(sizes, work, centres, questions)))
    print(machine())


if __name__ == "__main__":
    main()
