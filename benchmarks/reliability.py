"""What the safety checks cost, why large articles are skipped, and what SIGKILL leaves. Prints up to three tables.

    python benchmarks/reliability.py                      # 10k and 100k passages; 5 and 50 MB articles
    python benchmarks/reliability.py --passages 10000 --article-mb 5 50 --real
    python benchmarks/reliability.py --passages --article-mb --kills 200   # only the kills

1. Loading an index (the cold path of a question) with and without the
   integrity checks, and the full check `rag index` makes before reusing a
   generation. Synthetic indexes: random unit vectors (384 dimensions),
   passages of real words.
2. One large article: indexed with the fake embedder (the cost of reading,
   splitting, BM25 and writing; embedding excluded), or skipped by the size
   limit. Each run is a fresh process, so peak memory is its own. --real also
   measures the bundled model's passages per second and estimates the
   embedding time of each size.
3. --kills N: N updates of a few real articles (an edit, a deletion or an
   addition each time, from the SQuAD articles) are killed with SIGKILL at
   random moments; after each kill the index must be exactly the old or
   exactly the new one, and the next update must complete it. A reader
   process loads the index without pause meanwhile and counts any load that
   fails. Every other update runs in slow motion around renames and
   deletions (tests/child.py), so kills land in the gaps between them too.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = (ROOT / "corpus" / "rust-in-the-linux-kernel.txt").read_text().split()


def synthetic_index(index: Path, n: int, dim: int = 384) -> None:
    from rag.index.faiss.writer import write_store
    from rag.index.schema import PASSAGE_DTYPE, Manifest

    rnd = random.Random(n)
    texts = [" ".join(rnd.choices(WORDS, k=90)) for _ in range(n)]
    vectors = np.random.default_rng(n).standard_normal((n, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    per_doc = 10
    docs = [
        {"source": f"d{d}.txt", "hash": "0" * 64, "title": f"d{d}", "size": 1, "mtime_ns": 1, "first": d * per_doc,
         "count": min(per_doc, n - d * per_doc)}
        for d in range((n + per_doc - 1) // per_doc)
    ]  # fmt: skip
    rows = np.array([(i // per_doc, 0, 1) for i in range(n)], dtype=PASSAGE_DTYPE)
    manifest = Manifest("synthetic", dim, {"size": 600, "overlap": 120}, docs, n, time.time())
    write_store(index, manifest, rows, texts, vectors)


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def load_table(sizes: list[int]) -> None:
    import rag.index.faiss.reader
    from rag.index.faiss.integrity import verify
    from rag.index.faiss.reader import Store

    print("\nLoading an index (warm file cache; load: best of 5, checks: best of 20)")
    print(f"{'passages':>9} {'index MB':>9} {'load, no checks':>16} {'load, checks':>13} {'checks':>9} {'full':>7}")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            index = Path(tmp) / "index"
            synthetic_index(index, n)
            store = Store.load(index)
            mb = sum(f[0] for f in store.manifest.files.values()) / 1e6
            checked = best_of(5, lambda index=index: Store.load(index))
            real_verify = rag.index.faiss.reader.verify
            rag.index.faiss.reader.verify = lambda *a, **k: None
            try:
                unchecked = best_of(5, lambda index=index: Store.load(index))
            finally:
                rag.index.faiss.reader.verify = real_verify
            quick = best_of(20, lambda store=store: verify(store.path, store.manifest.files))
            full = best_of(3, lambda store=store: verify(store.path, store.manifest.files, full=True))
            print(
                f"{n:>9} {mb:>9.1f} {unchecked * 1e3:>13.1f} ms {checked * 1e3:>10.1f} ms "
                f"{quick * 1e3:>6.1f} ms {full * 1e3:>4.0f} ms"
            )


def one_article(mb: float, limit_mb: float) -> dict:
    """In this process: index a corpus holding one `mb` MB article; report time, passages and peak memory."""
    from rag.config import Settings
    from rag.engine import Engine
    from tests.conftest import FakeEmbedder

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        rnd = random.Random(1)
        with (corpus / "big.txt").open("w") as f:
            written = 0
            while written < mb * 1e6:
                end = ".\n\n" if rnd.random() < 0.2 else ". "
                written += f.write(" ".join(rnd.choices(WORDS, k=rnd.randint(8, 30))) + end)
        t = time.perf_counter()
        settings = Settings(corpus=corpus, index=Path(tmp) / "index", max_file_mb=limit_mb)
        report = Engine(settings, FakeEmbedder()).update()
        return {
            "seconds": time.perf_counter() - t,
            "passages": report.passages_total,
            "skipped": [s.reason for s in report.skipped],
            "peak_mb": peak_rss_mb(),
        }


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM: unlike ru_maxrss, not inherited across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def article_table(sizes: list[float], real: bool) -> None:
    rate = real_model_rate() if real else None
    print("\nOne large article, fake embedder (reading, splitting, BM25, writing; fresh process each)")
    head = f"{'article':>8} {'limit':>6} {'outcome':>9} {'passages':>9} {'seconds':>8} {'peak RSS':>9}"
    print(head + (f" {'real model, est.':>17}" if rate else ""))
    for mb in sizes:
        for limit in [20.0] if mb <= 20 else [20.0, mb + 1]:
            out = subprocess.run(
                [sys.executable, __file__, "--one-article", str(mb), str(limit)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            r = json.loads(out.stdout)
            outcome = "skipped" if r["skipped"] else "indexed"
            line = (
                f"{mb:>5.0f} MB {limit:>3.0f} MB {outcome:>9} {r['passages']:>9} {r['seconds']:>8.1f} "
                f"{r['peak_mb']:>6.0f} MB"
            )
            if rate and r["passages"]:
                line += f" {r['passages'] / rate / 60:>11.0f} min"
            print(line)


def real_model_rate() -> float:
    from rag.index.embedding import load_embedder
    from rag.ingest.chunking import passage_spans

    embedder = load_embedder()
    text = " ".join(random.Random(2).choices(WORDS, k=60_000))
    texts = [text[s:e] for s, e in passage_spans(text, 600, 120)][:256]
    embedder.embed(texts[:32])  # warm up
    seconds = best_of(1, lambda: embedder.embed(texts))
    print(f"\nbundled model: {len(texts) / seconds:.0f} passages/s on this machine (256 passages of ~600 characters)")
    return len(texts) / seconds


SQUAD = Path("/work/shared/data/squad/articles")


def kill_table(kills: int, seed: int) -> None:
    from rag.config import Settings
    from rag.engine import Engine
    from tests.conftest import FakeEmbedder
    from tests.test_crash import fingerprint, moment, spawn, start

    rnd = random.Random(seed)
    pool = sorted(SQUAD.glob("*.txt"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        corpus, index = root / "corpus", root / "index"
        corpus.mkdir()
        for path in pool[:5]:
            (corpus / path.name).write_bytes(path.read_bytes())
        engine = Engine(Settings(corpus=corpus, index=index), embedder=FakeEmbedder())
        engine.update()
        before = fingerprint(index)
        reader = subprocess.Popen([sys.executable, __file__, "--reader", str(index)], stdout=subprocess.PIPE, text=True)
        modes = [(), ("--slow-motion", "0.05")]
        windows = [_timed_update(corpus, index, mode, rnd, pool) for mode in modes]
        before = fingerprint(index)
        moments: dict[str, int] = {}
        edits: dict[str, int] = {}
        waiting = {m: spawn("update", corpus, index, "--go", *modes[m]) for m in (0, 1)}
        t0 = time.perf_counter()
        for i in range(kills):
            mode = i % 2
            kind = _change(corpus, rnd, pool)
            edits[kind] = edits.get(kind, 0) + 1
            after = _expected(corpus, root / "expected")
            child = start(waiting[mode])
            time.sleep(windows[mode] * rnd.uniform(0, 1.1))
            child.kill()
            child.wait(timeout=60)
            waiting[mode] = spawn("update", corpus, index, "--go", *modes[mode])
            skip = {"CURRENT", ".lock", "skipped.json", "cache"}
            leftovers = sorted(p.name for p in index.iterdir() if p.name not in skip)
            state = {before: "old", after: "new"}.get(fingerprint(index))
            if state is None:
                raise SystemExit(f"kill {i + 1}: the index is neither the old nor the new one")
            where = moment(child.returncode == 0, state, leftovers)
            moments[where] = moments.get(where, 0) + 1
            engine.update()
            if fingerprint(index) != after:
                raise SystemExit(f"kill {i + 1}: the update after the kill did not give the new index")
            before = after
        seconds = time.perf_counter() - t0
        for proc in waiting.values():
            proc.kill()
            proc.wait()
        reader.kill()
        loads, failures = _reader_counts(reader)
    print(f"\n{kills} SIGKILLs during updates of 5-6 SQuAD articles ({seconds:.0f} s; seed {seed})")
    print(f"  update: {windows[0]:.2f} s, {windows[1]:.2f} s in slow motion; every kill left the old or the new index")
    print(f"  changes: {', '.join(f'{n} {kind}' for kind, n in sorted(edits.items()))}")
    print(f"{'count':>7}  where the kill landed")
    for where, count in sorted(moments.items(), key=lambda kv: -kv[1]):
        print(f"{count:>7}  {where}")
    print(f"  reader: {loads} loads of the index meanwhile, {len(failures)} failed")
    for line in failures[:5]:
        print(f"    {line}")


def _timed_update(corpus: Path, index: Path, mode: tuple, rnd: random.Random, pool: list[Path]) -> float:
    from tests.test_crash import expect, spawn, start

    _change(corpus, rnd, pool)
    child = start(spawn("update", corpus, index, "--go", *mode))
    t = time.perf_counter()
    expect(child, "updated")
    seconds = time.perf_counter() - t
    child.wait(timeout=60)
    return seconds


def _change(corpus: Path, rnd: random.Random, pool: list[Path]) -> str:
    """Edit, delete or add one article; returns which."""
    present = sorted(corpus.glob("*.txt"))
    absent = [p for p in pool if not (corpus / p.name).exists()]
    kind = rnd.choice(["edit", "edit", "delete", "add"])
    if kind == "delete" and len(present) <= 3 or kind == "add" and not absent:
        kind = "edit"
    if kind == "add":
        source = rnd.choice(absent)
        (corpus / source.name).write_bytes(source.read_bytes())
    elif kind == "delete":
        rnd.choice(present).unlink()
    else:
        path = rnd.choice(present)
        paragraphs = path.read_text().split("\n\n")
        at = rnd.randrange(1, len(paragraphs))
        paragraphs[at] = f"An edited paragraph, number {rnd.randrange(10**6)}. " + paragraphs[at]
        path.write_text("\n\n".join(paragraphs))
    return kind


def _expected(corpus: Path, scratch: Path) -> str:
    """What the index of `corpus` must be once updated: a clean build's fingerprint (file times aside)."""
    from rag.config import Settings
    from rag.engine import Engine
    from tests.conftest import FakeEmbedder
    from tests.test_crash import fingerprint

    shutil.rmtree(scratch, ignore_errors=True)
    Engine(Settings(corpus=corpus, index=scratch), embedder=FakeEmbedder()).update(full=True)
    return fingerprint(scratch)


def reader_loop(index: Path) -> None:
    """Load the live index without pause until killed; print a line per load that failed."""
    from rag.errors import IndexStateError
    from rag.index.faiss.reader import Store

    loads = 0
    while True:
        try:
            store = Store.load(index)
            if store is not None:
                store.text(len(store) - 1)
        except IndexStateError as exc:
            print(f"failed {exc}", flush=True)
        loads += 1
        if loads % 50 == 0:
            print(f"loads {loads}", flush=True)


def _reader_counts(reader: subprocess.Popen) -> tuple[int, list[str]]:
    out, _ = reader.communicate(timeout=30)
    lines = out.splitlines()
    loads = max([int(line.split()[1]) for line in lines if line.startswith("loads ")], default=0)
    return loads, [line for line in lines if line.startswith("failed ")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--article-mb", type=float, nargs="*", default=[5, 50])
    parser.add_argument("--real", action="store_true", help="also measure the real model and estimate embedding time")
    parser.add_argument("--kills", type=int, default=0, help="SIGKILL this many updates at random moments")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="of the kills' moments and the changes")
    parser.add_argument("--one-article", type=float, nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--reader", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_article:
        print(json.dumps(one_article(*args.one_article)))
        return
    if args.reader:
        reader_loop(args.reader)
        return
    if args.passages:
        load_table(args.passages)
    if args.article_mb:
        article_table(args.article_mb, args.real)
    if args.kills:
        kill_table(args.kills, args.seed)
    shutil.rmtree(ROOT / "benchmarks" / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main()
