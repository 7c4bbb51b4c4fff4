"""Fit how the reader's score re-orders passages and decides "not in these articles" (rag/answer/ranker.json).

    python training/fit_reading.py collect ../shared/data/squad/questions.jsonl \
        --corpus ../shared/data/squad/articles --index /tmp/squad-index --out /tmp/reading.pkl --sample 1500
    python training/fit_reading.py fit /tmp/reading.pkl [--check OTHER.pkl ...] [--write]

`collect` asks each question as the product does up to the reading (the learned ranker's leading
READ_DEPTH passages), reads them with the shipped reader, and keeps per passage whether it covers a
gold span, the reader's score and span, the ranker's score and the answered model's signals. `fit` fits two logistic
models with folds grouped by article, so every figure it prints is measured on articles the models
never saw, replaying the engine's reading (READ_FIRST passages, the rest only when none of them scores
SURE): the reading model (READING_SIGNALS: which passage read holds the answer) and the answered
model (the old signals plus the first passage's reader score: answerable against off-corpus questions), its
threshold set on the training folds to refuse at most REFUSE of their answerable questions.
`--write` fits on everything and saves both into rag/answer/ranker.json, recording the data's SHA-256.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.answer.question import Query, clean_question  # noqa: E402
from rag.answer.ranker import ANSWER_SIGNALS, RANKER_FILE, READING_SIGNALS, Linear, answer_signals, reading_signals  # noqa: E402
from rag.answer.results import reading_sentence  # noqa: E402
from rag.answer.search import search  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.engine import READ_DEPTH, READ_FIRST, Engine, read_on  # noqa: E402
from rag.evaluate.phrase_metrics import exact_match, f1_score  # noqa: E402
from rag.evaluate.questions import holds_answer, load_questions  # noqa: E402
from rag.index.faiss.integrity import file_sha256  # noqa: E402

REFUSE = 0.015  # share of answerable training questions the threshold may refuse (as the ranker's own fit)
ANSWERED_BY = ("sentence", "local_sentence_match", "reading")
FOLDS = 5


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("questions", type=Path)
    c.add_argument("--corpus", type=Path, required=True)
    c.add_argument("--index", type=Path, required=True)
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--sample", type=int, default=0, help="questions drawn at random (seed 0); 0: all")
    f = sub.add_parser("fit")
    f.add_argument("data", type=Path, nargs="+")
    f.add_argument("--check", type=Path, nargs="*", default=[])
    f.add_argument("--write", action="store_true")
    args = ap.parse_args()
    collect(args) if args.command == "collect" else fit_command(args)


def covers(start: int, end: int, spans) -> bool:
    return any(start <= s and e <= end for s, e in spans)


def collect(args) -> None:
    engine = Engine(Settings(corpus=args.corpus, index=args.index))
    engine.ensure_current(notify=lambda m: print(m, file=sys.stderr))
    store = engine.store()
    about = {}
    for line in args.questions.read_text(encoding="utf-8").splitlines():
        item = json.loads(line) if line.strip() else None
        if isinstance(item, dict) and item.get("about"):
            about[clean_question(item["question"])] = item["about"]
    turns = [t for conv in load_questions(args.questions) for t in conv if not t.history]
    if args.sample and args.sample < len(turns):
        turns = random.Random(0).sample(turns, args.sample)
    engine.warm([t.question for t in turns])
    records, began = [], time.time()
    for n, turn in enumerate(turns, 1):
        text = clean_question(turn.question)
        query = Query.read(text, engine.question_vector(text), store.idf)
        hits = search(store, query, READ_DEPTH)
        readings = engine.reader.read(text, [store.text(h.passage) for h in hits])
        rows = []
        for hit, reading in zip(hits, readings, strict=True):
            doc, row = store.document(hit.passage), store.rows([hit.passage])[0]
            start, end = int(row["start"]), int(row["end"])
            passage = store.text(hit.passage)
            same = turn.source is not None and doc["source"] == turn.source
            _, spans = store.sentences(hit.passage)
            hs, he = reading_sentence(spans, reading, passage)
            phrase = passage[reading.start : reading.end]
            if turn.spans:
                label = same and covers(start, end, turn.spans)
                span_hit = same and covers(start + reading.start, start + reading.end, turn.spans)
                sentence_hit = same and covers(start + hs, start + he, turn.spans)
            else:
                label = turn.answerable and holds_answer(passage, turn.answers)
                span_hit = turn.answerable and holds_answer(phrase, turn.answers)
                sentence_hit = turn.answerable and holds_answer(passage[hs:he], turn.answers)
            em = max((exact_match(phrase, a) for a in turn.answers), default=0.0)
            f1 = max((f1_score(phrase, a) for a in turn.answers), default=0.0)
            rows.append((label, reading.score, span_hit, sentence_hit, em, f1))
        records.append(
            {
                "question": text,
                "kind": turn.category,
                "group": turn.source or "about:" + about.get(text, ""),
                "labels": np.array([r[0] for r in rows], dtype=bool),
                "scores": np.array([r[1] for r in rows]),
                "span_hits": np.array([r[2] for r in rows], dtype=bool),
                "sentence_hits": np.array([r[3] for r in rows], dtype=bool),
                "em": np.array([r[4] for r in rows]),
                "f1": np.array([r[5] for r in rows]),
                "signals": [h.signals for h in hits],
                "ranker_scores": np.array([h.score for h in hits]),
            }
        )
        if n % 100 == 0:
            print(f"{n}/{len(turns)} questions, {(time.time() - began) / n:.2f} s each", file=sys.stderr)
    args.out.write_bytes(pickle.dumps(records))
    print(f"{len(records)} questions in {time.time() - began:.0f} s -> {args.out}", file=sys.stderr)


class _Hit:
    def __init__(self, signals) -> None:
        self.signals = signals


class _Reading:
    def __init__(self, score: float) -> None:
        self.score = score


def fit_linear(rows: np.ndarray, labels: np.ndarray, names) -> Linear:
    from sklearn.linear_model import LogisticRegression

    mean, scale = rows.mean(0), rows.std(0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(max_iter=5000).fit((rows - mean) / scale, labels)
    return Linear(tuple(names), mean, scale, model.coef_[0], float(model.intercept_[0]))


def read_count(record: dict) -> int:
    """How many of the passages collected the engine reads: READ_FIRST, or all when none of those is sure."""
    scores = record["scores"]
    return len(scores) if read_on(scores[:READ_FIRST]) else min(READ_FIRST, len(scores))


def read_signals(record: dict) -> np.ndarray:
    """READING_SIGNALS of the passages the engine reads."""
    return reading_signals(record["scores"][: read_count(record)], record["ranker_scores"])


def order_of(record: dict, reading: Linear | None) -> list[int]:
    """The passages in the order the engine shows them: those read re-ordered, the rest after them."""
    n, read = len(record["scores"]), read_count(record)
    if reading is None or not n:
        return list(range(n))
    first = np.argsort(-reading(read_signals(record)), kind="stable").tolist()
    return first + list(range(read, n))


def answer_row(record: dict, order: list[int]) -> np.ndarray:
    hits = [_Hit(record["signals"][i]) for i in order]
    readings = [_Reading(float(record["scores"][order[0]]))] if order and order[0] < read_count(record) else []
    columns = [ANSWER_SIGNALS.index(name) for name in ANSWERED_BY]
    return answer_signals(hits, readings)[:, columns]


def fit_all(records: list[dict]) -> tuple[Linear, Linear, float]:
    answerable = [r for r in records if r["kind"] == "answerable" and len(r["scores"])]
    reading = fit_linear(
        np.concatenate([read_signals(r) for r in answerable]),
        np.concatenate([r["labels"][: read_count(r)] for r in answerable]),
        READING_SIGNALS,
    )
    judged = [r for r in records if r["kind"] in ("answerable", "off_corpus") and r["signals"] and r["signals"][0]]
    x = np.concatenate([answer_row(r, order_of(r, reading)) for r in judged])
    y = np.array([r["kind"] == "answerable" for r in judged])
    if y.all() or not y.any():
        sys.exit("the answered model needs answerable and off-corpus questions in every fold: collect more")
    answered = fit_linear(x, y, ANSWERED_BY)
    threshold = float(np.quantile(answered(x[y]), REFUSE))
    return reading, answered, threshold


def score(records: list[dict], reading: Linear | None, answered: Linear | None, threshold: float) -> dict:
    """Each measure's mean over the records it applies to."""
    return {k: float(np.mean(v)) for k, v in sorted(outcomes(records, reading, answered, threshold).items())}


def outcomes(records: list[dict], reading: Linear | None, answered: Linear | None, threshold: float) -> dict:
    out: dict[str, list[float]] = {}
    for r in records:
        if not len(r["scores"]):
            continue
        order = order_of(r, reading)
        top = order[0]
        said = True
        if answered is not None and r["signals"] and r["signals"][0]:
            said = bool(answered(answer_row(r, order))[0] >= threshold)
        out.setdefault(f"not answered: {r['kind']}", []).append(not said)
        if r["kind"] != "answerable":
            continue
        for key, value in (
            ("hit@1", r["labels"][top]),
            ("hit@5", r["labels"].any()),
            ("highlight@1 (reader's sentence)", r["labels"][top] and r["sentence_hits"][top]),
            ("phrase in gold span@1", r["span_hits"][top]),
            ("phrase EM", r["em"][top] if said else 0.0),
            ("phrase F1", r["f1"][top] if said else 0.0),
        ):
            out.setdefault(key, []).append(float(value))
    return out


def fit_command(args) -> None:
    from sklearn.model_selection import GroupKFold

    records = [r for path in args.data for r in pickle.loads(path.read_bytes())]
    groups = np.array([r["group"] for r in records])
    held: dict[str, list[float]] = {}
    before = score(records, None, None, 0.0)
    for train, test in GroupKFold(FOLDS).split(np.arange(len(records)), groups=groups):
        reading, answered, threshold = fit_all([records[i] for i in train])
        for key, values in outcomes([records[i] for i in test], reading, answered, threshold).items():
            held.setdefault(key, []).extend(values)
    print(f"{len(records)} questions, {FOLDS} folds by article")
    print(f"{'measure':<34} {'ranker order':>12} {'read, held out':>15}")
    for key in sorted(set(before) | set(held)):
        value = float(np.mean(held[key])) if key in held else float("nan")
        print(f"{key:<34} {before.get(key, float('nan')):>12.3f} {value:>15.3f}")
    fitted = fit_all(records)
    for path in args.check:
        checked = score(pickle.loads(path.read_bytes()), *fitted)
        print(f"{path.name}: " + ", ".join(f"{k} {v:.3f}" for k, v in checked.items()))
    if args.write:
        reading, answered, threshold = fitted
        data = json.loads(RANKER_FILE.read_text(encoding="utf-8"))
        data["reading"] = reading.to_json()
        data["answered"] = answered.to_json()
        data["threshold"] = round(threshold, 6)
        earlier = data.get("fitted_on") if isinstance(data.get("fitted_on"), dict) else {}
        data["fitted_on"] = {
            **earlier,
            "reading, answered": [{"file": p.name, "sha256": file_sha256(p)} for p in args.data],
        }
        data["code_version"] = version("rag")
        RANKER_FILE.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {RANKER_FILE}")


if __name__ == "__main__":
    main()
