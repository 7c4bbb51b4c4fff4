"""Fit the learned ranker (rag/answer/ranker.json) on question sets, and report it cross-validated by article.

    python benchmarks/ranker_data.py ../shared/data/squad/questions.jsonl \
        --corpus ../shared/data/squad/articles --index /tmp/squad-index --out /tmp/squad.pkl
    python training/train_ranker.py /tmp/squad.pkl [--write]

Three logistic models (scikit-learn), each over the signals of rag/answer/signals.py:
passages (does a leading candidate cover a gold span), sentences (is this
sentence of an answering passage the one holding the answer) and answered
(answerable question against one about an article the folder does not hold).
Folds group questions by article (off-corpus ones by the article they are
about), so every figure printed is measured on articles the models never saw.
The answered threshold is set on the training folds to refuse at most
REFUSE of their answerable questions. `--write` fits on everything and saves.
"""

from __future__ import annotations

import argparse
import json
import pickle
from importlib.metadata import version
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from rag.answer.ranker import ANSWER_SIGNALS, FORMAT, RANKER_FILE, Linear, Ranker, answer_signals
from rag.answer.search import Hit
from rag.answer.signals import PASSAGE_SIGNALS, SENTENCE_SIGNALS
from rag.index.faiss.integrity import file_sha256

# Weight of the first ranking's score beside the passage model's: 10 keeps the bundled articles' hit@5
# (0.917 with the passage model alone, 0.950 with it) and moves SQuAD's held-out hit@1 by less than 0.002.
FIRST_WEIGHT = 10.0
REFUSE = 0.015  # share of answerable training questions the threshold may refuse (0.02 refuses 2 of 60 bundled)
# The highlight: a hand-set rule over the sentence signals. A fitted sentence model scored the same on SQuAD's
# held-out folds (0.725) and 0.05 lower on the bundled articles; the rule is the question's idf-weighted
# wording, half the cosine, a bonus for the answer type, and sentences that are questions or headings pushed out.
_RULE = {"similarity": 0.5, "match": 1.0, "answer_type": 0.15, "question": -1.0, "heading": -1.0}
HIGHLIGHT_RULE = Linear(
    SENTENCE_SIGNALS,
    np.zeros(len(SENTENCE_SIGNALS)),
    np.ones(len(SENTENCE_SIGNALS)),
    np.array([_RULE.get(name, 0.0) for name in SENTENCE_SIGNALS]),
    0.0,
)  # share of answerable training questions the threshold may refuse
FOLDS = 5
# The answered model reads two signals: the best sentence's cosine, and its share of the question's wording
# weighted by how few candidates hold each term. More signals flag more off-corpus SQuAD questions but refuse
# more of the bundled articles' paraphrased questions (docs/quality.md).
ANSWERED_BY = ("sentence", "local_sentence_match")


def fit(rows: np.ndarray, labels: np.ndarray, names, c: float = 1.0) -> Linear:
    mean, scale = rows.mean(0), rows.std(0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000).fit((rows - mean) / scale, labels)
    return Linear(tuple(names), mean, scale, model.coef_[0], float(model.intercept_[0]))


def pick(record: dict, scores: np.ndarray, k: int = 5) -> list[int]:
    """Best first, skipping a candidate that overlaps one taken (as search.select does)."""
    taken, out = [], []
    for i in np.argsort(-scores, kind="stable").tolist():
        d, s, e = record["docs"][i], record["starts"][i], record["ends"][i]
        if any(d == d2 and s < e2 and s2 < e for d2, s2, e2 in taken):
            continue
        taken.append((d, s, e))
        out.append(i)
        if len(out) == k:
            break
    return out


def top_hits(record: dict, model: Linear) -> list[Hit]:
    scores = model(record["rows"]) + FIRST_WEIGHT * record["first"]
    return [
        Hit(0, float(scores[i]), None, None, 0.0, 0.0, signals=tuple(record["rows"][i])) for i in pick(record, scores)
    ]


def fit_all(records: list[dict]) -> tuple[Ranker, dict]:
    answerable = [r for r in records if r["kind"] == "answerable"]
    passages = fit(
        np.concatenate([r["rows"] for r in answerable]),
        np.concatenate([r["labels"] for r in answerable]),
        PASSAGE_SIGNALS,
    )
    sentence_rows, sentence_labels = [], []
    for r in answerable:
        for rows, labels, ok in zip(r["sent_rows"], r["sent_labels"], r["labels"], strict=True):
            if ok and labels.any() and len(labels) > 1:
                sentence_rows.append(rows)
                sentence_labels.append(labels)
    sentences = HIGHLIGHT_RULE
    judged = [r for r in records if r["kind"] in ("answerable", "off_corpus")]
    columns = [ANSWER_SIGNALS.index(name) for name in ANSWERED_BY]
    x = np.concatenate([answer_signals(top_hits(r, passages)) for r in judged])[:, columns]
    y = np.array([r["kind"] == "answerable" for r in judged])
    answered = fit(x, y, ANSWERED_BY)
    logits = answered(x[y])
    threshold = float(np.quantile(logits, REFUSE))
    return Ranker(passages, sentences, answered, threshold, FIRST_WEIGHT), {"questions": len(records)}


def score(ranker: Ranker, records: list[dict]) -> dict[str, list[bool]]:
    """Outcomes per measure: hit@1, hit@5, highlight@1 (answerable questions), not answered (per kind)."""
    out: dict[str, list[bool]] = {}
    for r in records:
        hits_idx = pick(r, ranker.passage_scores(r["rows"], r["first"]))
        hits = [Hit(0, 0.0, None, None, 0.0, 0.0, signals=tuple(r["rows"][i])) for i in hits_idx]
        out.setdefault(f"not answered: {r['kind']}", []).append(not ranker.answered(hits))
        if r["kind"] != "answerable":
            continue
        labels = r["labels"][hits_idx]
        highlight = heuristic = False
        if labels[:1].any():
            rows, gold = r["sent_rows"][hits_idx[0]], r["sent_labels"][hits_idx[0]]
            highlight = bool(gold[int(np.argmax(ranker.sentence_scores(rows)))])
            heuristic = bool(gold[int(np.argmax(rows[:, 1] + 0.5 * rows[:, 0] + 0.15 * rows[:, 3]))])
        for key, value in (
            ("hit@1", labels[:1].any()),
            ("hit@5", labels.any()),
            ("highlight@1", highlight),
            ("highlight@1 without the question and heading marks", heuristic),
        ):
            out.setdefault(key, []).append(bool(value))
    return out


def group_of(record: dict) -> str:
    return record["group"] or "about:" + record.get("about", "")


def first_stage(records: list[dict]) -> dict:
    n = sum(r["kind"] == "answerable" for r in records)
    picks = [(r, pick(r, r["first"])) for r in records if r["kind"] == "answerable"]
    return {
        "hit@1": sum(r["labels"][p[0]] for r, p in picks) / n,
        "hit@5": sum(r["labels"][p].any() for r, p in picks) / n,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path, nargs="+", help="files written by ranker_data.py")
    ap.add_argument("--check", type=Path, nargs="*", default=[], help="more such files, only scored (another corpus)")
    ap.add_argument("--write", action="store_true", help=f"fit on everything and write {RANKER_FILE}")
    args = ap.parse_args()
    records = [r for path in args.data for r in pickle.loads(path.read_bytes())]
    groups = np.array([group_of(r) for r in records])
    outcomes: dict[str, list[bool]] = {}
    for train, test in GroupKFold(FOLDS).split(np.arange(len(records)), groups=groups):
        ranker, _ = fit_all([records[i] for i in train])
        for key, values in score(ranker, [records[i] for i in test]).items():
            outcomes.setdefault(key, []).extend(values)
    cv = {key: float(np.mean(values)) for key, values in sorted(outcomes.items())}
    print(f"{len(records)} questions, {FOLDS} folds by article; first stage: {first_stage(records)}")
    print(f"{'measure (held-out folds)':<34} {'value':>7}")
    for key, value in cv.items():
        print(f"{key:<34} {value:>7.3f}")
    for path in args.check:
        checked = score(fit_all(records)[0], pickle.loads(path.read_bytes()))
        print(f"{path.name}: " + ", ".join(f"{k} {np.mean(v):.3f}" for k, v in sorted(checked.items())))
    if args.write:
        ranker, _ = fit_all(records)
        data = {
            "format": FORMAT,
            "fitted_on": {"passages, sentences": [{"file": p.name, "sha256": file_sha256(p)} for p in args.data]},
            "code_version": version("rag"),
            "passages": ranker.passages.to_json(),
            "sentences": ranker.sentences.to_json(),
            "answered": ranker.answered_model.to_json(),
            "threshold": round(ranker.threshold, 6),
            "first_weight": ranker.first_weight,
            "reading": json.loads(RANKER_FILE.read_text(encoding="utf-8")).get("reading"),
        }
        RANKER_FILE.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {RANKER_FILE}; refit the reading and answered models next: training/fit_reading.py")


if __name__ == "__main__":
    main()
