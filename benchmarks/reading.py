"""What reading for the answer phrase costs: warm asks with and without the reader, cold `rag ask`, memory.

    python benchmarks/reading.py --corpus ../shared/data/squad/articles --index /tmp/squad-index [--questions 200]

Warm: the same questions asked by one engine that reads (READ_FIRST leading passages, up to READ_DEPTH
when none of them answers surely) and by one that does not (same store, same model), alternating, and
by the plain baseline (sentence-transformers `encode` + a flat FAISS search over the same vectors, and
over --baseline-size vectors: the store's padded with random unit vectors). The reader's cost does not
grow with the folder, so the ratio to the baseline over the store's own vectors is the upper bound of
the ratio at any larger size. Cold: `rag ask` in a fresh process, whole. Memory: the process's
resident size before and after the reader is loaded and has answered.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import machine, median, pct, table

from rag.answer.reading import Reader
from rag.config import Settings
from rag.engine import READ_DEPTH, READ_FIRST, Engine
from rag.index.embedding import SentenceTransformerEmbedder, load_embedder


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--questions", type=Path, default=Path("../shared/data/squad/questions.jsonl"))
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--baseline-size", type=int, default=100_000)
    args = parser.parse_args()
    print(machine(), flush=True)
    lines = [json.loads(x) for x in args.questions.read_text().splitlines() if x.strip()]
    questions = [x["question"] for x in lines if isinstance(x, dict)][: args.count]
    settings = Settings(corpus=args.corpus, index=args.index)
    embedder = load_embedder(index_dir=args.index)
    plain = Engine(settings, embedder=embedder, reader=None)
    plain.ensure_current()
    before = rss_mb()
    counting = Reader()  # its own, counting only what this engine reads
    reading = Engine(settings, embedder=embedder, reader=counting)
    reading.ask(questions[0])
    counting.calls = counting.passages_read = 0
    memory = rss_mb() - before
    times: dict[str, list[float]] = {"Engine.ask, reading": [], "Engine.ask, not reading": []}
    for q in questions:
        for name, engine in (("Engine.ask, reading", reading), ("Engine.ask, not reading", plain)):
            engine.question_vector.cache_clear()
            t0 = time.perf_counter()
            engine.ask(q)
            times[name].append(time.perf_counter() - t0)
    times["baseline: encode + IndexFlatIP search"] = baseline(plain, questions, 0)
    padded = f"baseline at {args.baseline_size:,} vectors"
    times[padded] = baseline(plain, questions, args.baseline_size)
    cold, where = [], ["--corpus", str(args.corpus), "--index", str(args.index)]
    for _ in range(args.cold_runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rag", "ask", questions[1], *where], check=True, capture_output=True)
        cold.append(time.perf_counter() - t0)
    base = median(times["baseline: encode + IndexFlatIP search"])
    rows = [[name, median(v) * 1000, pct(v, 95) * 1000, median(v) / base] for name, v in times.items()]
    rows.append(["cold `rag ask` (whole process)", median(cold) * 1000, max(cold) * 1000, float("nan")])
    print(
        f"\n{len(questions)} questions, {len(plain.store()):,} passages; read {READ_FIRST} passage, "
        f"{READ_DEPTH} when unsure: {counting.passages_read / len(questions):.2f} read per question on average, "
        f"{1 - (counting.calls - len(questions)) / len(questions):.0%} of questions read {READ_FIRST}\n"
    )
    print(table(["", "p50 ms", "p95 ms", "p50 / baseline"], rows))
    print(f"\nresident memory added by the reader: {memory:.0f} MB\n{machine()}")


def baseline(engine: Engine, questions: list[str], size: int) -> list[float]:
    import faiss

    store = engine.store()
    flat = faiss.IndexFlatIP(store.manifest.dim)
    vectors = np.ascontiguousarray(store.vectors(), dtype=np.float32)
    if size > len(vectors):
        extra = np.random.default_rng(0).standard_normal((size - len(vectors), vectors.shape[1]), dtype=np.float32)
        vectors = np.concatenate([vectors, extra / np.linalg.norm(extra, axis=1, keepdims=True)])
    flat.add(vectors)
    st = SentenceTransformerEmbedder()
    for q in questions[:10]:
        flat.search(st.embed_query(q).reshape(1, -1), 5)
    out = []
    for q in questions:
        t0 = time.perf_counter()
        flat.search(st.embed_query(q).reshape(1, -1), 5)
        out.append(time.perf_counter() - t0)
    return out


if __name__ == "__main__":
    main()
