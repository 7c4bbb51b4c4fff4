"""Resuming a killed index, the vector cache's size, and how soon --watch makes a saved file answerable.

    python benchmarks/resume.py                       # 1,000 SciFact abstracts, killed at 50 %; 5 saves watched
    python benchmarks/resume.py --docs 5183 --kill-at 0.5 --saves 10

1. SciFact abstracts written as articles (as `rag eval --beir` writes them),
   indexed by `rag index --json` (the bundled model, int8, as always when
   indexing): once uninterrupted, then again in a new index folder killed with
   SIGKILL once the cache holds `--kill-at` of the texts, and run again. The
   table gives the clean time, the resumed run's time, and what each embedded.
2. The cache's size on disk beside the generation's (both in the clean index).
3. `rag index --watch` on a copy of the bundled corpus: a new article is
   saved, and the time until a generation holding it is live (what the next
   question reads) is measured, `--saves` times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, SCIFACT

sys.path.insert(0, str(ROOT))

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}


def rag(*args: str, **kwargs) -> subprocess.Popen:
    command = [sys.executable, "-m", "rag", *args]
    return subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def cached(index: Path) -> int:
    from rag.index.vector_cache import cache_file

    try:
        db = sqlite3.connect(f"file:{cache_file(index)}?mode=ro", uri=True)
        try:
            return db.execute("SELECT count(*) FROM vectors").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def run_index(corpus: Path, index: Path) -> tuple[dict, float]:
    t = time.perf_counter()
    proc = rag("index", "--json", "--corpus", str(corpus), "--index", str(index))
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(err)
    return json.loads(out.splitlines()[-1]), time.perf_counter() - t


def share_export(source: Path, target: Path) -> None:
    """Hard-link the ONNX export made for `source` into `target`, so both runs start alike."""
    from rag.index.export import export_folder

    export_folder(target).mkdir(parents=True)
    for f in export_folder(source).iterdir():
        os.link(f, export_folder(target) / f.name)


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def resume_table(docs: int, kill_at: float, work: Path) -> None:
    from rag.evaluate.beir import load_beir, write_corpus

    data = load_beir(SCIFACT)
    data.documents = data.documents[:docs]
    corpus = work / "corpus"
    write_corpus(data, corpus)
    warm = work / "warm"  # exports the model once, outside the timed runs
    (work / "one").mkdir()
    shutil.copy(next(corpus.iterdir()), work / "one")
    run_index(work / "one", warm)

    clean = work / "clean"
    share_export(warm, clean)
    full, full_seconds = run_index(corpus, clean)
    texts = full["passages_embedded"] + full["sentences_embedded"]

    killed = work / "killed"
    share_export(warm, killed)
    proc = rag("index", "--json", "--corpus", str(corpus), "--index", str(killed))
    t = time.perf_counter()
    while cached(killed) < kill_at * texts and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    kill_seconds = time.perf_counter() - t
    kept = cached(killed)
    resumed, resume_seconds = run_index(corpus, killed)

    print(f"\nSciFact, first {docs:,} abstracts: {full['passages_total']:,} passages, {texts:,} texts to embed")
    print("| run | seconds | texts embedded | from the cache | texts/s |")
    print("|---|---:|---:|---:|---:|")
    print(f"| clean `rag index` | {full_seconds:.1f} | {texts:,} | 0 | {full['texts_per_second']:.0f} |")
    print(f"| killed at {kept / texts:.0%} of the texts | {kill_seconds:.1f} | {kept:,} | 0 | |")
    done = resumed["passages_embedded"] + resumed["sentences_embedded"]
    reused = resumed["passages_cached"] + resumed["sentences_cached"]
    print(f"| resumed `rag index` | {resume_seconds:.1f} | {done:,} | {reused:,} | {resumed['texts_per_second']:.0f} |")

    from rag.index.faiss.generations import live_generation
    from rag.index.vector_cache import cache_file

    gen, cache = size(live_generation(clean)), size(cache_file(clean).parent)
    ratio = cache / gen
    print(f"\nOn disk (clean index): generation {gen / 1e6:.1f} MB, vector cache {cache / 1e6:.1f} MB ({ratio:.2f}x)")


def watch_table(saves: int, work: Path) -> None:
    from rag.index.faiss.generations import read_manifest

    corpus, index = work / "watch-corpus", work / "watch-index"
    shutil.copytree(ROOT / "corpus", corpus)
    if (work / "warm").is_dir():
        share_export(work / "warm", index)
    proc = rag("index", "--watch", "--corpus", str(corpus), "--index", str(index))
    while "Watching" not in (line := proc.stderr.readline()):
        if not line and proc.poll() is not None:
            raise SystemExit(f"`rag index --watch` stopped: {proc.stderr.read()}")
    time.sleep(1.5)  # the watch itself starts a moment after the line
    delays = []
    for i in range(saves):
        name = f"saved-{i}.txt"
        t = time.perf_counter()
        (corpus / name).write_text(f"Saved article {i}\n\nThe marker word of this article is zqsaved{i}x. " * 3)
        while name not in {d["source"] for d in (read_manifest(index) or _nothing()).documents}:
            time.sleep(0.01)
        delays.append(time.perf_counter() - t)
        time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    print(f"\n`rag index --watch`: from saving a new article to a live generation holding it ({saves} saves)")
    print("| | seconds |")
    print("|---|---:|")
    print(f"| fastest | {min(delays):.2f} |\n| median | {sorted(delays)[len(delays) // 2]:.2f} |")
    print(f"| slowest | {max(delays):.2f} |")


def _nothing():
    from types import SimpleNamespace

    return SimpleNamespace(documents=[])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000, help="SciFact abstracts to index")
    parser.add_argument("--kill-at", type=float, default=0.5, help="share of the texts cached when the kill comes")
    parser.add_argument("--saves", type=int, default=5)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.docs:
            resume_table(args.docs, args.kill_at, Path(tmp))
        if args.saves:
            watch_table(args.saves, Path(tmp))
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
