"""Memory of building the keyword index as the corpus grows: bytes held per term, against what is saved.

SciFact's abstracts, split into passages as `rag index` splits them, are
indexed once and then two and four times over. The table gives the peak of
what Python and numpy allocate while `KeywordIndex.write` runs (tracemalloc,
which sees numpy's arrays), per term of the corpus, beside the size of the
arrays it writes. The texts themselves are in memory here, outside the count.

    python benchmarks/keyword_memory.py [--copies 1,2,4,8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

from common import machine, scifact_docs, table

from rag.config import Settings
from rag.index.keyword import KeywordIndex, tokenize
from rag.ingest.chunking import passage_spans


def passages() -> list[str]:
    settings = Settings()
    out = []
    for doc in scifact_docs():
        text = f"{doc['title']}\n\n{doc['text']}"
        out += [text[s:e] for s, e in passage_spans(text, settings.chunk_size, settings.chunk_overlap)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", default="1,2,4")
    args = ap.parse_args()
    print(machine())
    base = passages()
    rows = []
    for copies in map(int, args.copies.split(",")):
        texts = base * copies
        terms = sum(len(tokenize(t)) for t in texts)
        with tempfile.TemporaryDirectory(prefix="keyword-memory-") as tmp:
            tracemalloc.start()
            t0 = time.perf_counter()
            KeywordIndex.write(Path(tmp), texts)
            seconds = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            saved = sum((Path(tmp) / f"{name}.npy").stat().st_size for name in KeywordIndex._ARRAYS)
        rows.append([len(texts), terms, peak / 2**20, peak / terms, saved / 2**20, seconds])
        print(f"  {rows[-1]}", flush=True)
    print(table(["passages", "terms", "build peak MB", "bytes per term", "saved MB", "seconds"], rows))
    print(machine())


if __name__ == "__main__":
    main()
