"""Real folders of documents written by others: how much is read, kept intact and answered.

    python benchmarks/realdocs.py                     # every set under /work/shared/data/realdocs-dev
    python benchmarks/realdocs.py --sets tech         # one set
    python benchmarks/realdocs.py --reading-only      # files read and answers intact, no index (seconds)

A set is a folder holding `corpus/`, `questions.jsonl` and `follow-ups.jsonl` (REALDOCS=DIR names the
folder of sets). Each set is indexed into a fresh temporary folder, in a process of its own so that its
peak memory is its own, and asked every question with `rag`'s Engine (k=5), judged by rag/evaluate/questions.py:
a hit is a passage of the question's source file holding an answer string.

Printed per set and per format (file type):
- files read and skipped, with the reasons;
- answer intact: the share of answer strings found (white space, case and quotes made uniform) inside one
  passage of their source file as indexed; this measures reading, apart from ranking;
- hit@1, hit@5, highlight@1, answerable questions refused; per set, off-corpus questions flagged and
  follow-up turns (after the first) with a hit in the top 3;
- indexing seconds and peak memory (the process's maximum resident set after indexing).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.config import Settings  # noqa: E402
from rag.errors import CorpusError  # noqa: E402
from rag.evaluate.questions import Turn, judge, load_questions, normalise, summarise  # noqa: E402
from rag.ingest.chunking import passage_spans  # noqa: E402
from rag.ingest.documents import read_document, scan  # noqa: E402

DATA = Path(os.environ.get("REALDOCS", "/work/shared/data/realdocs-dev"))


def fmt(source: str) -> str:
    """The format a file is counted under: its extension, with .htm as html."""
    ext = Path(source).suffix.lower().lstrip(".")
    return {"htm": "html", "xhtml": "html", "markdown": "md"}.get(ext, ext)


def conversations(folder: Path) -> list[list[Turn]]:
    """Questions and follow-ups of a set, each turn keeping the file that answers it."""
    out = []
    for name in ("questions.jsonl", "follow-ups.jsonl"):
        path = folder / name
        if not path.exists():
            continue
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        for row, turns in zip(rows, load_questions(path), strict=True):
            items = row if isinstance(row, list) else [row]
            out.append(
                [
                    dataclasses.replace(t, source=item.get("source"), kind=t.kind or item.get("kind", ""))
                    for t, item in zip(turns, items, strict=True)
                ]
            )
    return out


def reading(folder: Path, convs: list[list[Turn]], settings: Settings) -> dict:
    """Files read and skipped, and answer strings found whole in one passage of their source file."""
    files, skipped = scan(folder / "corpus", settings.max_file_bytes)
    passages: dict[str, list[str]] = {}
    skips = [{"source": s.source, "reason": s.reason} for s in skipped]
    for f in files:
        try:
            doc = read_document(f)
        except CorpusError as exc:
            skips.append({"source": f.source, "reason": exc.reason})
            continue
        except Exception as exc:  # the indexer skips these too
            skips.append({"source": f.source, "reason": f"{exc.__class__.__name__}: {exc}"[:200]})
            continue
        spans = passage_spans(doc.text, settings.chunk_size, settings.chunk_overlap)
        passages[f.source] = [normalise(doc.text[s:e]) for s, e in spans]
    answers = []  # (format, source, answer, intact)
    for turns in convs:
        for t in turns:
            for a in t.answers:
                found = any(normalise(a) in p for p in passages.get(t.source or "", []))
                answers.append({"format": fmt(t.source or ""), "source": t.source, "answer": a, "intact": found})
    return {"read": sorted(passages), "skipped": skips, "answers": answers}


def one_set(folder: Path, reading_only: bool) -> dict:
    """Everything measured for one set; run in a process of its own."""
    convs = conversations(folder)
    out: dict = {"set": folder.name, **reading(folder, convs, Settings())}
    if reading_only:
        return out
    from rag.engine import Engine

    with tempfile.TemporaryDirectory(prefix="realdocs-") as tmp:
        engine = Engine(Settings(corpus=folder / "corpus", index=Path(tmp) / "index"))
        t0 = time.perf_counter()
        report = engine.update()
        out["index_seconds"] = time.perf_counter() - t0
        out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out["passages"] = report.passages_total
        engine.warm([t.question for turns in convs for t in turns])
        results = []
        for turns in convs:
            for t in turns:
                r = judge(t, engine.ask(t.question, k=5, history=list(t.history)))
                results.append({**dataclasses.asdict(r), "format": fmt(t.source or ""), "source": t.source})
    out["results"] = results
    return out


def _turn_result(row: dict):
    from rag.evaluate.questions import TurnResult

    fields = {f.name for f in dataclasses.fields(TurnResult)}
    return TurnResult(**{k: (tuple(v) if k == "history" else v) for k, v in row.items() if k in fields})


def rows_for(data: dict) -> list[dict]:
    """One row for the set, then one per format."""
    read, skipped, answers = data["read"], data["skipped"], data["answers"]
    results = [_turn_result(r) for r in data.get("results", [])]
    formats = sorted({fmt(s) for s in read} | {fmt(s["source"]) for s in skipped})
    rows = []
    for name in ["all", *formats]:
        keep = (lambda f: True) if name == "all" else (lambda f, name=name: f == name)
        mine = [a for a in answers if keep(a["format"])]
        row = {
            "set": data["set"] if name == "all" else "",
            "format": name,
            "files read": sum(keep(fmt(s)) for s in read),
            "skipped": sum(keep(fmt(s["source"])) for s in skipped),
            "answer intact": _ratio(sum(a["intact"] for a in mine), len(mine)),
        }
        if results:
            rs = [r for r, raw in zip(results, data["results"], strict=True) if name == "all" or raw["format"] == name]
            pos = [r for r in rs if r.answerable and not r.history]
            rep = summarise(pos)
            row |= {
                "questions": len(pos),
                "hit@1": rep.hit_at_1 if pos else None,
                "hit@5": rep.hit_at_5 if pos else None,
                "highlight@1": rep.highlight_at_1 if pos else None,
                "refused": f"{rep.false_refusals} of {len(pos)}",
            }
            if name == "all":
                neg = [r for r in rs if not r.answerable]
                later = [r for r in rs if r.answerable and r.history]
                row["off-corpus flagged"] = f"{sum(not r.answered for r in neg)} of {len(neg)}"
                row["follow-up hit@3"] = f"{sum(bool(r.rank and r.rank <= 3) for r in later)} of {len(later)}"
                row["indexing"] = f"{data['index_seconds']:.0f} s, {data['peak_mb']:.0f} MB"
        rows.append(row)
    return rows


def _ratio(n: int, d: int) -> str:
    return f"{n / d:.2f} ({n}/{d})" if d else "-"


def table(rows: list[dict]) -> str:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    out = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        cells = [r.get(k, "") for k in keys]
        out.append("| " + " | ".join(f"{c:.2f}" if isinstance(c, float) else str(c or "") for c in cells) + " |")
    return "\n".join(out)


def details(data: dict) -> list[str]:
    lines = [f"{data['set']}: skipped {s['source']}: {s['reason']}" for s in data["skipped"]]
    lines += [
        f"{data['set']}: not intact in {a['source']}: {a['answer']!r}" for a in data["answers"] if not a["intact"]
    ]
    for r in data.get("results", []):
        if r["answerable"] and r["rank"] != 1:
            lines.append(f"{data['set']}: rank {r['rank'] or '-'} {r['source']}: {r['question']}")
            lines.append(f"      shown first: {r['top'][:160]}")
        elif not r["answerable"] and r["answered"]:
            lines.append(f"{data['set']}: answered off-corpus: {r['question']}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="folder of sets (default: %(default)s)")
    ap.add_argument("--sets", default="", help="sets to run, comma separated (default: all)")
    ap.add_argument("--reading-only", action="store_true", help="files and answers intact only; no index")
    ap.add_argument("--details", action="store_true", help="also list skipped files, broken answers, misses")
    ap.add_argument("--json", type=Path, help="also write the raw results to this file")
    ap.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # the child process: one set, JSON out
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_set(args.one, args.reading_only)))
        return
    names = [s for s in args.sets.split(",") if s] or sorted(p.name for p in args.data.iterdir() if p.is_dir())
    print(f"load {os.getloadavg()[0]:.2f}")
    all_data = []
    for name in names:
        cmd = [sys.executable, __file__, "--one", str(args.data / name)] + ["--reading-only"] * args.reading_only
        done = subprocess.run(cmd, stdout=subprocess.PIPE, check=True, text=True)
        all_data.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(table([row for d in all_data for row in rows_for(d)]))
    if args.details:
        print("\n".join(line for d in all_data for line in details(d)))
    if args.json:
        args.json.write_text(json.dumps(all_data, indent=1))
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
