"""Helpers shared by the benchmark scripts: data, timing, tables.

Every script prints a markdown table and the machine's load average at the
start and end, since the numbers depend on what else the machine is doing.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = Path(os.environ.get("SCIFACT", "/work/shared/data/scifact"))
CACHE = Path(os.environ.get("RAG_BENCH_CACHE", ROOT / "benchmarks" / ".cache"))

sys.path.insert(0, str(ROOT))


def scifact_docs() -> list[dict]:
    """SciFact's 5,183 abstracts: {"_id", "title", "text"}."""
    with (SCIFACT / "corpus.jsonl").open() as f:
        return [json.loads(line) for line in f]


def scifact_queries(split: str = "test") -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """(query id -> text, query id -> {doc id: grade}) for one split."""
    qrels: dict[str, dict[str, int]] = {}
    with (SCIFACT / "qrels" / f"{split}.tsv").open() as f:
        next(f)
        for line in f:
            q, d, grade = line.split()
            qrels.setdefault(q, {})[d] = int(grade)
    with (SCIFACT / "queries.jsonl").open() as f:
        texts = {q["_id"]: q["text"] for q in map(json.loads, f) if q["_id"] in qrels}
    return texts, qrels


def scifact_passages(docs: Sequence[dict] | None = None) -> list[str]:
    """SciFact abstracts (or `docs` of them) split into passages the way `rag index` splits articles (600/120)."""
    from rag.ingest.chunking import passage_spans

    out = []
    for d in scifact_docs() if docs is None else docs:
        text = f"{d['title']}\n\n{d['text']}"
        out.extend(text[s:e] for s, e in passage_spans(text, 600, 120))
    return out


def ndcg_at_10(ranked: Sequence[str], grades: dict[str, int]) -> float:
    """nDCG@10 with graded gains and a log2 discount (as BEIR and MTEB compute it).

    >>> round(ndcg_at_10(["b", "a"], {"a": 1}), 3)
    0.631
    """
    dcg = sum(grades.get(d, 0) / np.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sum(g / np.log2(i + 2) for i, g in enumerate(sorted(grades.values(), reverse=True)[:10]))
    return dcg / ideal if ideal else 0.0


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def timed(cmd: Sequence[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, float, str]:
    """Run `cmd` in a fresh process: (wall seconds, peak RSS in MB, stdout). Raises if it fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.read().decode()[-2000:]}")
        return wall, usage.ru_maxrss / 1024, out.read().decode()


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table."""
    cells = [[_fmt(c) for c in row] for row in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def machine() -> str:
    """One line about the machine and how busy it is right now."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load} (1, 5, 15 min), {time.strftime('%Y-%m-%d %H:%M')}"


def rss_mb() -> float:
    """Current resident memory of this process, in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scifact_corpus() -> Path:
    """SciFact's abstracts as 5,183 articles (`<id>.txt`: title, blank line, abstract), written once."""
    folder = CACHE / "scifact" / "corpus"
    if not folder.is_dir():
        tmp = folder.with_name("corpus.tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        for d in scifact_docs():
            (tmp / f"{d['_id']}.txt").write_text(f"{d['title']}\n\n{d['text']}\n")
        tmp.rename(folder)
    return folder


def scifact_index() -> Path:
    """An index of scifact_corpus() made by `rag index` (embedding ~17,700 passages the first time)."""
    from rag.config import Settings
    from rag.engine import Engine

    index = CACHE / "scifact" / "index"
    settings = Settings(corpus=scifact_corpus(), index=index)
    if Engine(settings).stale_reason() is not None:
        print("indexing SciFact (once; cached in benchmarks/.cache)...", flush=True)
        t0 = time.perf_counter()
        report = Engine(settings).update()
        print(f"  {report.passages_embedded:,} passages embedded in {time.perf_counter() - t0:.0f} s", flush=True)
    return index


def child_env() -> dict[str, str]:
    """Environment for timed child processes: this checkout first on the path, byte-code caching on."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
