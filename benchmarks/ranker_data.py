"""Collect ranking, highlight and abstention signals on a question set, for fitting the learned ranker.

    python benchmarks/ranker_data.py QUESTIONS --corpus DIR --index DIR --out FILE.pkl

One record per question: its kind, group (the article it is about), the
leading candidates' signals and labels (covers a gold span), and for each
leading candidate the signals of its sentences and their labels.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

from rag.answer.question import Query, clean_question
from rag.answer.search import candidates, first_scores, passage_views
from rag.answer.signals import passage_signals, sentence_signals
from rag.config import Settings
from rag.engine import Engine
from rag.evaluate.questions import holds_answer, load_questions


def covers(start: int, end: int, spans) -> bool:
    return any(start <= s and e <= end for s, e in spans)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", type=Path)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    engine = Engine(Settings(corpus=args.corpus, index=args.index))
    engine.ensure_current(notify=lambda m: print(m, file=sys.stderr))
    store = engine.store()
    turns = [t for conv in load_questions(args.questions) for t in conv if not t.history]
    if args.limit:
        turns = turns[: args.limit]
    engine.warm([t.question for t in turns])
    about = {}  # off-corpus questions name the article they are about: it groups them into folds
    for line in args.questions.read_text(encoding="utf-8").splitlines():
        item = json.loads(line) if line.strip() else None
        if isinstance(item, dict) and item.get("about"):
            about[clean_question(item["question"])] = item["about"]
    records, t0 = [], time.time()
    for turn in turns:
        text = clean_question(turn.question)
        query = Query.read(text, engine.question_vector(text), store.idf)
        c = candidates(store, query, 50)
        first, lead = first_scores(store, c, query)
        views = passage_views(store, c, query, lead)
        rows = passage_signals(query, views)
        ids = c.ids[lead]
        labels, sent_rows, sent_labels = [], [], []
        for p, view in zip(ids.tolist(), views, strict=True):
            doc = store.document(p)
            row = store.rows([p])[0]
            start, end = int(row["start"]), int(row["end"])
            same = turn.source is not None and doc["source"] == turn.source
            if turn.source is not None and turn.spans:
                label = same and covers(start, end, turn.spans)
                slabels = [same and covers(start + s, start + e, turn.spans) for s, e in view.spans.tolist()]
            else:
                label = turn.answerable and holds_answer(view.text, turn.answers)
                slabels = [
                    turn.answerable and holds_answer(view.text[s:e], turn.answers) for s, e in view.spans.tolist()
                ]
            labels.append(label)
            sent_rows.append(sentence_signals(query, view))
            sent_labels.append(np.array(slabels, dtype=bool))
        located = store.rows(ids)
        records.append(
            {
                "question": text,
                "kind": turn.category,
                "group": turn.source or "",
                "about": about.get(text, ""),
                "ids": ids,
                "docs": np.asarray(located["doc"]),
                "starts": np.asarray(located["start"]),
                "ends": np.asarray(located["end"]),
                "first": first[lead],
                "rows": rows,
                "labels": np.array(labels, dtype=bool),
                "sent_rows": sent_rows,
                "sent_labels": sent_labels,
            }
        )
    print(f"{len(records)} questions in {time.time() - t0:.1f} s", file=sys.stderr)
    args.out.write_bytes(pickle.dumps(records))


if __name__ == "__main__":
    main()
