"""Peak memory of `rag index` as the folder grows: is it flat in the folder's size?

Each folder is indexed from scratch by `rag index` in a process of its own,
once as it is and once for each `--copies` count, where the corpus holds that
many copies of the folder side by side. The process and its article-reading
workers are sampled every 50 ms from /proc; the table gives the indexer's own
peak resident memory and the peak of the whole process tree (indexer plus
workers), with the seconds it took.

Copies are the same text, and `rag index` embeds a text met twice only once,
so the seconds grow with reading and writing, not embedding: the copies
measure how memory grows with the number of files and passages, quickly.
With `--warm`, each run after a folder's first starts with the model export
and the vector cache the first left in its index folder, so it embeds
nothing at all (the model is still loaded): quicker again, and the same
growth, which is in reading, staging and writing. `--cache-from INDEX` starts
every run with INDEX's export and vector cache instead (an index of the same
folder made before, by `rag index --index INDEX`).

    python benchmarks/index_memory.py [--folders DIR,DIR] [--copies 1,2,4] [--warm | --cache-from INDEX]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT, machine, table

REALDOCS = ROOT.parent / "shared" / "data" / "realdocs-dev"
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def rss(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_MB
    except OSError:
        return 0.0


def children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def tree(pid: int) -> list[int]:
    pids, at = [pid], 0
    while at < len(pids):
        pids += children(pids[at])
        at += 1
    return pids


def role(pid: int) -> str:
    """What a process of the tree is: the indexer, an article reader, a step of the model's export."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().decode(errors="replace").split("\0")
    except OSError:
        return "gone"
    if "rag.ingest.sandbox" in args:
        return "reader"
    if "rag.index.export" in args:
        return f"export {args[args.index('rag.index.export') + 1]}"
    return args[0].rsplit("/", 1)[-1]


def index_peak(corpus: Path, index: Path) -> tuple[float, float, float, str, str]:
    """(seconds, peak MB of the indexer, peak MB of the indexer and its workers, what that peak was made of,
    last line it printed)."""
    cmd = [sys.executable, "-m", "rag.cli", "index", "--corpus", str(corpus), "--index", str(index)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    peaks = [0.0, 0.0]
    made_of = [""]

    def sample() -> None:
        while proc.poll() is None:
            own = rss(proc.pid)
            others = {p: rss(p) for p in tree(proc.pid)[1:]}
            peaks[0] = max(peaks[0], own)
            if own + sum(others.values()) > peaks[1]:
                peaks[1] = own + sum(others.values())
                parts = [f"indexer {own:.0f}"] + [f"{role(p)} {mb:.0f}" for p, mb in others.items()]
                made_of[0] = " + ".join(parts)
            time.sleep(0.05)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    out, _ = proc.communicate()
    seconds = time.perf_counter() - t0
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"rag index failed on {corpus}:\n{out}")
    last = out.strip().splitlines()[-1] if out.strip() else ""
    return seconds, peaks[0], peaks[1], made_of[0], last


def corpus_of(folder: Path, copies: int, tmp: Path) -> Path:
    if copies == 1:
        return folder
    corpus = tmp / f"{folder.parent.name}-x{copies}"
    for n in range(copies):
        shutil.copytree(folder, corpus / f"copy{n + 1}")
    return corpus


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folders", default=f"{REALDOCS / 'tech' / 'corpus'},{REALDOCS / 'prose' / 'corpus'}")
    ap.add_argument("--copies", default="1,2,4")
    ap.add_argument("--warm", action="store_true", help="later runs start with the first run's export and cache")
    ap.add_argument("--cache-from", type=Path, help="every run starts with this index's export and cache")
    args = ap.parse_args()
    print(machine())
    rows = []
    for folder in map(Path, args.folders.split(",")):
        first = Path(tempfile.mkdtemp(prefix="index-memory-first-"))
        for run, copies in enumerate(map(int, args.copies.split(","))):
            with tempfile.TemporaryDirectory(prefix="index-memory-") as tmp:
                corpus = corpus_of(folder, copies, Path(tmp))
                index = Path(tmp) / "index"
                seed = args.cache_from or (first if args.warm and run else None)
                if seed:
                    index.mkdir()
                    for part in ("onnx", "cache"):
                        shutil.copytree(seed / part, index / part)
                seconds, own, whole, made_of, last = index_peak(corpus, index)
                if run == 0 and not args.cache_from:
                    for part in ("onnx", "cache"):
                        shutil.copytree(index / part, first / part)
                name = folder.parent.name if folder.name == "corpus" else folder.name
                rows.append([f"{name} x{copies}", f"{size_mb(corpus):.1f}", seconds, own, whole, made_of, last])
                print(f"  {rows[-1]}", flush=True)
        shutil.rmtree(first, ignore_errors=True)
    headers = ["folder", "MB of files", "seconds", "indexer peak MB", "with workers MB", "that peak, MB", "report"]
    print(table(headers, rows))
    print(machine())


if __name__ == "__main__":
    main()
