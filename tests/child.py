"""A second process for crash and concurrency tests: the product's own update code, with the fake embedder.

    python -m tests.child update CORPUS INDEX [--loops N] [--churn] [--go] [--hold-until FILE] [--slow-motion S]
                                              [--embed-delay S]
    python -m tests.child hold-lock INDEX

`update` prints "ready" once its imports are done, then "updated N REPORT"
after each update (REPORT: the report as JSON). --go waits for a line on
stdin after "ready", so a test can start the process early and the update
at a moment of its choosing. --churn rewrites CORPUS/churn.txt before each
update, so every update writes a new generation. --hold-until makes the
first embedding wait (holding the index lock) until FILE exists.
--slow-motion sleeps S seconds before and after every rename, replace and
tree removal, so that kills at random moments also land in the short gaps
between the steps that switch generations. --embed-delay makes each batch
of the fake embedder take S seconds, as a real model's would, so that kills
land in the middle of embedding.
`hold-lock` takes the index lock, prints "locked" and sleeps until killed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# -- the parent's side: start a child and read its lines --


def spawn(*args: object) -> subprocess.Popen:
    """`python -m tests.child ARGS...`, its stdin and stdout as text pipes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.child", *map(str, args)],
        cwd=ROOT, env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def expect(proc: subprocess.Popen, prefix: str) -> str:
    """The child's next line, which must start with `prefix`."""
    line = proc.stdout.readline()
    if not line.startswith(prefix):
        proc.kill()
        raise AssertionError(f"expected {prefix!r} from the child, got {line!r}; stderr:\n{proc.stderr.read()}")
    return line


# -- the child --


def churn_text(i: int) -> str:
    return f"Churn article {i}.\n\nThe marker word for this round is zqchurn{i}x and nothing else.\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["update", "hold-lock"])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--loops", type=int, default=1)
    parser.add_argument("--churn", action="store_true")
    parser.add_argument("--go", action="store_true")
    parser.add_argument("--hold-until", type=Path)
    parser.add_argument("--slow-motion", type=float, default=0.0)
    parser.add_argument("--embed-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)

    if args.mode == "hold-lock":
        from rag.index.lock import index_lock

        lock = index_lock(args.paths[0])
        lock.acquire()
        print("locked", flush=True)
        time.sleep(3600)
        return

    import rag.index.faiss.dense  # noqa: F401  imports done before "ready", so a test's clock starts at the update
    import rag.index.keyword  # noqa: F401
    from rag.config import Settings
    from rag.engine import Engine
    from tests.conftest import FakeEmbedder

    class HoldingEmbedder(FakeEmbedder):
        def embed_batch(self, texts):
            while args.hold_until and not args.hold_until.exists():
                time.sleep(0.02)
            time.sleep(args.embed_delay)
            return super().embed_batch(texts)

    if args.slow_motion:
        _slow_down(args.slow_motion)
    corpus, index = args.paths
    engine = Engine(Settings(corpus=corpus, index=index), embedder=HoldingEmbedder())
    print("ready", flush=True)
    if args.go:
        sys.stdin.readline()
    for i in range(args.loops):
        if args.churn:
            (corpus / "churn.txt").write_text(churn_text(i))
        report = engine.update()
        print(f"updated {i} {json.dumps(report.to_json())}", flush=True)


def _slow_down(seconds: float) -> None:
    import os
    import shutil

    def slowed(step):
        def run(*args, **kwargs):
            time.sleep(seconds)
            result = step(*args, **kwargs)
            time.sleep(seconds)
            return result

        return run

    os.rename, os.replace, shutil.rmtree = slowed(os.rename), slowed(os.replace), slowed(shutil.rmtree)


if __name__ == "__main__":
    main()
