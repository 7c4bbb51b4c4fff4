"""What each hostile file costs `rag index`: peak memory of the whole tool (its process and its reading
workers together), time, and what became of the file.

    PYTHONPATH=.. python hostile.py                      # every case of tests/hostile.py
    PYTHONPATH=.. python hostile.py pdf-flate-bomb fifo  # some of them
    PYTHONPATH=.. python hostile.py --overhead 1000      # ordinary articles: in-process against workers

Each case is a corpus of one good article and the hostile file, indexed by a fresh `python -m rag index`
with the bundled model and the default limits (1 GB and 60 s per file). The model's ONNX export is made
once and linked into each case's index folder. The tree's memory is sampled every 20 ms from /proc.
Target: at most 1.5 GB, and no file costing more than its time limit.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hostile import CANARY, CASES, GOOD_ARTICLE  # noqa: E402


def tree_rss(pid: int) -> tuple[int, int]:
    """(sum, largest) resident memory in bytes of `pid` and every process below it."""
    total = largest = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        rss = next((int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS")), 0)
        total += rss
        largest = max(largest, rss)
        todo.extend(int(c) for c in children)
    return total, largest


def measure(command: list[str], env: dict) -> tuple[subprocess.CompletedProcess, float, int, int]:
    """Run `command`; returns its result, seconds, the peak of the tree's memory summed over its processes
    (sampled every 20 ms, so a short spike can be missed) and the peak of its largest process (exact: the
    kernel's count for the process and every worker it waited for)."""
    peak = [0]
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss(proc.pid)[0])
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(command, proc.returncode, out.read(), err.read())
    return result, seconds, peak[0], usage.ru_maxrss * 1024


def overhead(files: int) -> None:
    """Reading `files` ordinary articles (the bundled ones, again and again) in this process and in 1 or 2
    warm workers: what the isolation costs an ordinary corpus, and what the second core gives back."""
    from rag.config import Settings
    from rag.ingest.documents import ArticleFile
    from rag.ingest.sandbox import read_documents

    sources = sorted((ROOT / "corpus").glob("*.txt")) + sorted((ROOT / "corpus").glob("*.md"))
    items = []
    for i in range(files):
        path = sources[i % len(sources)]
        data = path.read_bytes() + f"\n\nCopy {i}.\n".encode()
        items.append((ArticleFile(path, f"{i}-{path.name}", len(data), 0), data))
    print(f"\nReading {files} articles of {sum(len(d) for _, d in items) / files / 1000:.1f} KB on average:\n")
    print("| read | files/s | ms per file |")
    print("|---|---|---|")
    for workers in (0, 1, 2):
        settings = Settings(read_workers=workers)
        list(read_documents(items[:4], settings))  # start the workers: not what is measured
        t0 = time.perf_counter()
        results = list(read_documents(items, settings))
        seconds = time.perf_counter() - t0
        assert all(not isinstance(r, Exception) for _, r in results)
        label = "in the tool's process" if workers == 0 else f"{workers} worker process{'es' if workers > 1 else ''}"
        print(f"| {label} | {files / seconds:.0f} | {1000 * seconds / files:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", default=sorted(CASES))
    parser.add_argument("--overhead", type=int, metavar="N", help="Only time reading N ordinary articles.")
    args = parser.parse_args()
    if args.overhead:
        print(f"load average at start: {os.getloadavg()}")
        overhead(args.overhead)
        print(f"\nload average at end: {os.getloadavg()}")
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm"
        (warm / "corpus").mkdir(parents=True)
        (warm / "corpus" / "okapi.txt").write_text(GOOD_ARTICLE)
        base = [sys.executable, "-m", "rag", "index"]
        subprocess.run([*base, "--corpus", str(warm / "corpus"), "--index", str(warm / "index")], env=env, check=True)
        print("\n| file | outcome | peak memory, all processes (sampled) | largest process (exact) | time |")
        print("|---|---|---|---|---|")
        for name in args.cases:
            root = Path(tmp) / name
            corpus, index = root / "corpus", root / "index"
            corpus.mkdir(parents=True)
            (corpus / "okapi.txt").write_text(GOOD_ARTICLE)
            CASES[name].build(corpus, root / "outside")
            shutil.copytree(warm / "index" / "onnx", index / "onnx", copy_function=os.link)
            result, seconds, total, largest = measure([*base, "--corpus", str(corpus), "--index", str(index)], env)
            outcome = outcome_of(result, name)
            print(f"| {name} | {outcome} | {total / 1e6:.0f} MB | {largest / 1e6:.0f} MB | {seconds:.1f} s |")
            shutil.rmtree(root, ignore_errors=True)
    print(f"\nload average at end: {os.getloadavg()}")


def outcome_of(result: subprocess.CompletedProcess, name: str) -> str:
    if result.returncode != 0 or "Traceback" in result.stderr:
        return f"FAILED (exit {result.returncode}): {result.stderr.strip().splitlines()[-1:]}"
    if CANARY in result.stdout + result.stderr:
        return "LEAKED"
    source = CASES[name].source
    shown = source.encode("unicode_escape").decode()
    for line in result.stderr.splitlines():
        if line.startswith((f"skipped {source}:", f"skipped {shown}:")):
            return "skipped: " + line.split(": ", 1)[1].split(";")[0].replace("|", "/")
    return "read" if "2 added" in result.stdout else result.stdout.strip()


if __name__ == "__main__":
    main()
