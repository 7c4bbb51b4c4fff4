"""A question from the shell, cold: `rag ask` in a fresh process against the plain baseline.

Each run starts a new Python process with the index already on disk (and in
the page cache: one untimed run of each command comes first). Commands are
run in turn, so a busy machine slows all of them alike; the table gives the
median of N runs. Peak memory is the process's maximum resident set size.

    python benchmarks/cold.py               # the bundled corpus, 10 runs
    python benchmarks/cold.py --scifact     # also SciFact as 5,183 articles (indexes it once)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from common import CACHE, ROOT, child_env, machine, median, scifact_index, table, timed

BASELINE = str(Path(__file__).with_name("baseline.py"))
QUESTIONS = {
    "bundled": ["Which AWS container OS has Rust in it?", "Who leads Rust for Linux?", "When did Rust land in Linux?"],
    "scifact": [
        "0-dimensional biomaterials show inductive properties.",
        "ALDH1 expression is associated with poorer prognosis for breast cancer primary tumors.",
        "Vitamin D deficiency effects the term of delivery.",
    ],
}


def bundled_index() -> tuple[Path, Path]:
    root = CACHE / "cold-bundled"
    if not (root / "corpus").is_dir():
        shutil.copytree(ROOT / "corpus", root / "corpus")
    return root / "corpus", root / "index"


def prepare(name: str) -> tuple[list[str], list[str], int]:
    """The rag and baseline commands (without the question) for one corpus, and its passage count."""
    if name == "bundled":
        corpus, index = bundled_index()
        timed([sys.executable, "-m", "rag", "index", "--corpus", str(corpus), "--index", str(index)], child_env())
    else:
        index = scifact_index()
        corpus = index.parent / "corpus"
    baseline = index.parent / "baseline"
    timed([sys.executable, BASELINE, "build", str(baseline), str(index)], child_env())
    passages = len(json.loads((baseline / "texts.json").read_text()))
    rag = [sys.executable, "-m", "rag", "ask", "--json", "--corpus", str(corpus), "--index", str(index)]
    return rag, [sys.executable, BASELINE, "ask", str(baseline)], passages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--scifact", action="store_true", help="also measure on SciFact (5,183 articles)")
    args = parser.parse_args()
    print(machine(), flush=True)
    rows = []
    for name in ["bundled", "scifact"] if args.scifact else ["bundled"]:
        rag, base, passages = prepare(name)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "rag --help": [sys.executable, "-m", "rag", "--help"],
            "rag ask": rag,
            "baseline ask": base,
        }
        walls: dict[str, list[float]] = {c: [] for c in commands}
        peaks: dict[str, list[float]] = {c: [] for c in commands}
        for run in range(args.runs + 1):
            question = QUESTIONS[name][run % len(QUESTIONS[name])]
            for label, cmd in commands.items():
                wall, peak, out = timed(cmd + [question] if "ask" in label else cmd, child_env())
                if "ask" in label:
                    assert json.loads(out)["passages"], out
                if run:  # the first round warms the page cache and writes byte code
                    walls[label].append(wall)
                    peaks[label].append(peak)
        base_wall = median(walls["baseline ask"])
        for label in commands:
            w = walls[label]
            rows.append(
                [
                    f"{name} ({passages:,} passages)",
                    label,
                    median(w),
                    min(w),
                    max(w),
                    median(peaks[label]),
                    f"{median(w) / base_wall:.2f}",
                ]
            )
    print(f"\nCold start, fresh process each time; median of {args.runs} runs\n")
    print(table(["corpus", "command", "median s", "min s", "max s", "peak RSS MB", "x baseline"], rows))
    print("\n" + machine())


if __name__ == "__main__":
    main()
