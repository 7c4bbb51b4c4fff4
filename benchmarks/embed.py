"""Indexing throughput: sentence-transformers' `encode` against the ONNX export, on the same passages.

The passages are those of a fixed random sample of SciFact's abstracts, split
the way `rag index` splits articles. `rag index` also embeds every sentence of a passage (for
the highlight), so its last row embeds more text than the baseline does;
its rate is still counted in passages. Each round embeds the sample once with each embedder, in
turn, so a busy machine slows all of them alike; the table gives medians.
"CPU use" is process CPU time over wall time: 2.0 means both cores busy.

    python benchmarks/embed.py [--passages 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import copy
import random
import resource
import time

from common import CACHE, machine, median, scifact_docs, scifact_passages, table

from rag.index.embedding import SentenceTransformerEmbedder, load_embedder
from rag.index.passage_vectors import embed_passages


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(machine(), flush=True)
    passages: list[str] = []
    for doc in random.Random(0).sample(scifact_docs(), len(scifact_docs())):  # whole articles, as rag index sees them
        if len(passages) >= args.passages:
            break
        passages += scifact_passages([doc])
    st = SentenceTransformerEmbedder()
    fp32 = load_embedder(index_dir=CACHE / "models")
    int8 = load_embedder(index_dir=CACHE / "models", quantized=True)
    batched = copy.copy(int8)
    batched.one_at_a_time = False  # how it ran before: a vector depended on the rest of its batch
    candidates = {
        "baseline: sentence-transformers encode()": lambda: st.model.encode(passages),
        "ONNX float32 (query model)": lambda: fp32.embed(passages),
        "ONNX int8, one text per run": lambda: int8.embed(passages),
        "ONNX int8, batched by token count": lambda: batched.embed(passages),
        "rag index: ONNX int8, passages + their sentences": lambda: embed_passages(int8, passages),
    }
    rates: dict[str, list[float]] = {name: [] for name in candidates}
    cpu: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(args.runs):
        for name, run in candidates.items():
            t0, c0 = time.perf_counter(), cpu_seconds()
            run()
            wall = time.perf_counter() - t0
            rates[name].append(len(passages) / wall)
            cpu[name].append((cpu_seconds() - c0) / wall)
    base = median(rates["baseline: sentence-transformers encode()"])
    rows = [
        [name, median(r), min(r), max(r), f"{median(r) / base:.2f}", f"{median(cpu[name]):.2f}"]
        for name, r in rates.items()
    ]
    print(
        f"\n{len(passages):,} SciFact passages (mean {sum(map(len, passages)) / len(passages):.0f} characters); "
        f"median of {args.runs} runs\n"
    )
    print(table(["embedder", "passages/s", "min", "max", "x baseline", "CPU use"], rows))
    print("\n" + machine())


if __name__ == "__main__":
    main()
