"""How the answered model's margin over its abstention line goes with being right: the bands behind the
confidence words ("Answer found", "Likely", "Not in these articles").

    PYTHONPATH=.. python confidence.py [QUESTIONS.jsonl ...]   # default: ../eval/questions.jsonl

Indexes the bundled corpus into a temporary folder with the bundled model, asks every question, and prints
one row per band of margin: questions, how many are answerable, and how many of those have an answer in
the first passage.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from rag import Engine, Settings
from rag.answer.results import SURE_MARGIN

ROOT = Path(__file__).resolve().parent.parent
BANDS = [(-99.0, 0.0, "below the line"), (0.0, SURE_MARGIN, "0 to ln 4"), (SURE_MARGIN, 99.0, "ln 4 and above")]


def main(files: list[str]) -> None:
    turns = []  # (question, earlier questions, answers); a line holding a list is a conversation
    for f in files:
        for line in Path(f).read_text().splitlines():
            item = json.loads(line) if line.strip() else []
            for i, t in enumerate(item if isinstance(item, list) else [item]):
                turns.append((t["question"], [e["question"] for e in item[:i]] if i else [], t["answers"]))
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "corpus", Path(tmp) / "corpus")
        engine = Engine(Settings(corpus=Path(tmp) / "corpus", index=Path(tmp) / "index"))
        engine.update()
        rows = []
        for question, history, answers in turns:
            answer = engine.ask(question, 5, history=history)
            first = answer.results[0].text.casefold() if answer.results else ""
            right = any(a.casefold() in first for a in answers)
            rows.append((answer.margin if answer.margin is not None else -99.0, bool(answers), right))
    print(f"questions: {', '.join(files)}; load average {Path('/proc/loadavg').read_text().split()[0]}\n")
    print("| margin | questions | answerable | answer in passage 1 | not answerable |")
    print("|---|---:|---:|---:|---:|")
    for low, high, name in BANDS:
        band = [r for r in rows if low <= r[0] < high]
        answerable = [r for r in band if r[1]]
        print(
            f"| {name} | {len(band)} | {len(answerable)} | {sum(r[2] for r in answerable)} | "
            f"{len(band) - len(answerable)} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:] or [str(ROOT / "eval" / "questions.jsonl")])
