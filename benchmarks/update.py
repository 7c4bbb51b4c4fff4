"""Changing one article of SciFact's 5,183: what an incremental update costs, step by step.

SciFact's abstracts are the corpus, one article each (indexed once, cached).
Each run edits one article, times `Engine.update()` on a copy of the index,
then puts the article back and updates again (also timed): the median is
over both. The model is loaded afresh for every update, as a new `rag index`
process would. Steps are timed by wrapping the functions that do them.
Then the same edit is timed as a fresh `rag index` process, start to end.

The baseline is what a plain sentence-transformers + FAISS set-up does on
any change: embed every passage again. Its time is the passage count over
`encode()`'s rate, measured in this run on a sample (embedding all 17,700
passages with it takes many minutes on 2 cores).

    python benchmarks/update.py [--runs 5]
"""

from __future__ import annotations

import argparse
import functools
import random
import shutil
import sys
import time
from collections import defaultdict

from common import CACHE, child_env, machine, median, scifact_index, scifact_passages, table, timed

from rag.config import Settings
from rag.engine import Engine
from rag.index import changes, embedding, indexer, keyword
from rag.index.embedding import OnnxEmbedder, SentenceTransformerEmbedder
from rag.index.faiss import dense, reader
from rag.index.faiss import writer as faiss_write

# (label, owner, attribute); the last four run inside "write the new generation"
STEPS = [
    ("scan the corpus", indexer, "scan"),
    ("hash every article, read and split the changed one", changes, "read_corpus"),
    ("open the live generation", reader.Store, "load"),
    ("load the model", OnnxEmbedder, "__init__"),
    ("embed the changed article's passages", OnnxEmbedder, "embed"),
    ("write the new generation", faiss_write, "write_generation"),
    ("  BM25 index (kept passages' terms re-used)", keyword.KeywordIndex, "write"),
    ("  dense index", dense, "build_dense"),
    ("  fsync", faiss_write, "fsync_tree"),
    ("  delete the old generation", faiss_write, "remove_stale"),
]
TIMES: dict[str, float] = defaultdict(float)


def instrument() -> None:
    """Wrap each step's function so that the time spent in it is added up."""
    for label, owner, name in STEPS:
        raw = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        func = raw.__func__ if isinstance(raw, classmethod) else raw

        @functools.wraps(func)
        def wrapper(*args, _func=func, _label=label, **kwargs):
            t0 = time.perf_counter()
            try:
                return _func(*args, **kwargs)
            finally:
                TIMES[_label] += time.perf_counter() - t0

        setattr(owner, name, classmethod(wrapper) if isinstance(raw, classmethod) else wrapper)


def encode_rate(sample: int) -> float:
    """Passages per second of sentence-transformers' encode() on a sample of SciFact passages."""
    passages = random.Random(1).sample(scifact_passages(), sample)
    st = SentenceTransformerEmbedder()
    st.model.encode(passages[:32])
    t0 = time.perf_counter()
    st.model.encode(passages)
    return sample / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sample", type=int, default=256, help="passages for the baseline's encode() rate")
    args = parser.parse_args()
    print(machine(), flush=True)
    source = scifact_index()
    work = CACHE / "update-work"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source.parent / "corpus", work / "corpus")
    shutil.copytree(source, work / "index", ignore=shutil.ignore_patterns(".lock"))
    settings = Settings(corpus=work / "corpus", index=work / "index")
    engine = Engine(settings)
    if engine.stale_reason() is not None:
        raise SystemExit(f"the copied index is not current: {engine.stale_reason()}")
    instrument()
    articles = sorted((work / "corpus").glob("*.txt"))
    rng = random.Random(0)
    steps: dict[str, list[float]] = defaultdict(list)
    totals, reports = [], []
    for run in range(args.runs):
        article = rng.choice(articles)
        original = article.read_text()
        for text in (original.rstrip() + f" Revised in run {run}.\n", original):
            article.write_text(text)
            embedding._onnx.cache_clear()  # load the model as a new process would
            TIMES.clear()
            t0 = time.perf_counter()
            reports.append(engine.update())
            totals.append(time.perf_counter() - t0)
            for label, *_ in STEPS:
                steps[label].append(TIMES[label])
    top = [label for label, *_ in STEPS if not label.startswith(" ")]
    steps["other (lock, manifests, vector cache)"] = [t - sum(steps[s][i] for s in top) for i, t in enumerate(totals)]
    embed = steps["embed the changed article's passages"]
    steps["total"] = totals
    steps["total minus embedding"] = [t - e for t, e in zip(totals, embed, strict=True)]

    cli = []
    cmd = [sys.executable, "-m", "rag", "index", "--corpus", str(work / "corpus"), "--index", str(work / "index")]
    for run in range(args.runs):
        article = rng.choice(articles)
        original = article.read_text()
        for text in (original.rstrip() + f" Revised again in run {run}.\n", original):
            article.write_text(text)
            cli.append(timed(cmd, child_env())[0])

    passages = reports[0].passages_total
    rate = encode_rate(args.sample)
    print(
        f"\nUpdate after editing 1 of {len(articles):,} articles ({passages:,} passages); "
        f"median of {len(totals)} updates ({args.runs} edits, each undone)\n"
    )
    print(table(["step", "median s"], [[label, median(v)] for label, v in steps.items()]))
    embedded = sorted({r.passages_embedded for r in reports})
    print(f"\npassages embedded per update: {embedded} of {passages:,}")
    print(f"`rag index` in a fresh process (same edits): median {median(cli):.2f} s, max {max(cli):.2f} s")
    baseline = passages / rate
    print(
        f"baseline: embed all {passages:,} passages again with encode() at {rate:.1f} passages/s "
        f"(measured on {args.sample}): {baseline:.0f} s"
    )
    print("\n" + machine())


if __name__ == "__main__":
    main()
