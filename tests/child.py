"""A second process for crash and concurrency tests: the product's own update code, with the fake embedder.

    python -m tests.child update CORPUS INDEX [--loops N] [--churn] [--pause S]
    python -m tests.child hold-lock INDEX

`update` prints "ready" once its imports are done, then "updated N" after
each update, followed by the update's report as JSON. With --churn it rewrites CORPUS/churn.txt before each update,
so every update writes a new generation; --pause makes each embedding batch
take S seconds, to hold the lock for a while. `hold-lock` takes the index
lock, prints "locked" and sleeps until it is killed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def churn_text(i: int) -> str:
    return f"Churn article {i}.\n\nThe marker word for this round is zqchurn{i}x and nothing else.\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["update", "hold-lock"])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--loops", type=int, default=1)
    parser.add_argument("--churn", action="store_true")
    parser.add_argument("--pause", type=float, default=0.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)

    if args.mode == "hold-lock":
        from rag.indexer import index_lock

        lock = index_lock(args.paths[0])
        lock.acquire()
        print("locked", flush=True)
        time.sleep(3600)
        return

    import bm25s  # noqa: F401  heavy imports done before "ready", so a test's clock starts at the update
    import faiss  # noqa: F401

    from rag.config import Settings
    from rag.engine import Engine
    from tests.conftest import FakeEmbedder

    class PausingEmbedder(FakeEmbedder):
        def embed_batch(self, texts):
            time.sleep(args.pause)
            return super().embed_batch(texts)

    corpus, index = args.paths
    engine = Engine(Settings(corpus=corpus, index=index), embedder=PausingEmbedder())
    print("ready", flush=True)
    for i in range(args.loops):
        if args.churn:
            (corpus / "churn.txt").write_text(churn_text(i))
        report = engine.update()
        print(f"updated {i} {json.dumps(report.to_json())}", flush=True)


if __name__ == "__main__":
    main()
