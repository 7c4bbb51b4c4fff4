"""What a passage and its sentences show of a question: the signals the learned ranker weighs.

For each leading candidate passage, and for each of its sentences, a row of
numbers: how close its vectors are to the question, how much of the
question's wording it holds (weighted by idf), whether that wording comes in
the question's order (bigrams) and close together (the shortest window
holding the matched terms), whether the title holds it, whether it holds the
kind of thing the question asks for (a date for "when"), and marks of text
that cannot answer (a sentence that is itself a question, a heading).

    rows = passage_signals(query, passages)       # one row per passage, columns PASSAGE_SIGNALS
    rows = sentence_signals(query, passage)       # one row per sentence, columns SENTENCE_SIGNALS
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..index.keyword import tokenize
from .question import Query

__all__ = [
    "PassageView",
    "PASSAGE_SIGNALS",
    "SENTENCE_SIGNALS",
    "passage_signals",
    "sentence_signals",
    "shortest_window",
]

PASSAGE_SIGNALS = (
    "dense",  # cosine of the passage
    "sentence",  # cosine of its closest sentence
    "coverage",  # BM25 as a share of a full match
    "match",  # idf share of the question's terms in the passage
    "sentence_match",  # the best sentence's idf share of the question's terms
    "bigram",  # share of the question's adjacent term pairs found adjacent in the passage
    "proximity",  # matched terms over the shortest window that holds them all
    "title",  # idf share of the question's terms in the article's title
    "answer_type",  # holds what the question asks for (a date, a name, a number)
    "dense_gap",  # cosine minus the best cosine among the candidates
    "sentence_gap",
    "coverage_gap",
    "match_gap",
    "local_match",  # share of the question's terms, each weighted by how few of the candidates hold it
    "local_sentence_match",  # the same for the best sentence
    "local_gap",
    "sentence_bigram",  # the best sentence's share of the question's bigrams
)

PASSAGE_COLUMN = {name: i for i, name in enumerate(PASSAGE_SIGNALS)}
# Each gap signal: the signal it measures against the best candidate's.
PASSAGE_GAPS = {
    "dense_gap": "dense",
    "sentence_gap": "sentence",
    "coverage_gap": "coverage",
    "match_gap": "match",
    "local_gap": "local_match",
}

SENTENCE_SIGNALS = (
    "similarity",  # cosine of the sentence
    "match",  # idf share of the question's terms in the sentence
    "bigram",
    "answer_type",
    "question",  # the sentence is itself a question
    "heading",  # short, with no closing punctuation: a heading or a label
    "first",  # the passage's first sentence
    "words",  # log of its length in words
    "next_match",  # idf share in the sentence before it: a lead-in names the topic, the next one answers
    "match_rank",  # 1 for the sentence with the most of the question's wording, 1/2 for the next...
)
SENTENCE_COLUMN = {name: i for i, name in enumerate(SENTENCE_SIGNALS)}

_CLOSING = re.compile(r"[.!?:;\"'\u201d\u2019)\]]\s*$")


@dataclass(frozen=True)
class PassageView:
    """What the signals read of one candidate passage."""

    text: str
    title: str
    spans: np.ndarray  # (start, end) of each sentence within `text`
    similarities: np.ndarray  # cosine of each sentence with the question
    dense: float
    coverage: float
    dense_rank: int | None
    keyword_rank: int | None


def _share(terms: set[str], weights: dict[str, float], total: float) -> float:
    return sum(weights[t] for t in terms if t in weights) / total if total else 0.0


def _bigrams(terms: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(terms, terms[1:], strict=False))


def shortest_window(tokens: Sequence[str], wanted: set[str]) -> int:
    """Length of the shortest run of `tokens` holding every term of `wanted` that occurs (0: none occurs).

    >>> shortest_window("a x b y a b".split(), {"a", "b", "z"})
    2
    """
    present = wanted.intersection(tokens)
    if not present:
        return 0
    counts: dict[str, int] = {}
    need, best, left = len(present), len(tokens), 0
    for right, term in enumerate(tokens):
        if term not in present:
            continue
        counts[term] = counts.get(term, 0) + 1
        while len(counts) == need:
            best = min(best, right - left + 1)
            gone = tokens[left]
            if gone in counts:
                counts[gone] -= 1
                if not counts[gone]:
                    del counts[gone]
            left += 1
    return best


def _sentence_terms(view: PassageView) -> list[list[str]]:
    return [tokenize(view.text[s:e]) for s, e in np.asarray(view.spans).tolist()] or [tokenize(view.text)]


def passage_signals(query: Query, views: Sequence[PassageView]) -> np.ndarray:
    """One row of PASSAGE_SIGNALS per passage.

    Terms are weighted twice: by their idf in the corpus, and by how few of
    these candidates hold them, so that an article's own subject ("Tesla" in
    an article on Tesla) does not decide between the article's passages.
    """
    weights, total = query.weights, query.weight_total
    wanted = set(weights)
    q_bigrams = _bigrams(query.terms)
    rows = np.zeros((len(views), len(PASSAGE_SIGNALS)), dtype=np.float32)
    sentences = [_sentence_terms(view) for view in views]
    held = [wanted.intersection(t for s in sents for t in s) for sents in sentences]
    local = _local_weights(wanted, held)
    local_total = sum(local.values())
    for i, view in enumerate(views):
        tokens = [t for s in sentences[i] for t in s]
        matched = held[i]
        window = shortest_window(tokens, wanted)
        values = {
            "dense": view.dense,
            "sentence": float(np.max(view.similarities)) if len(view.similarities) else view.dense,
            "coverage": view.coverage,
            "match": _share(matched, weights, total),
            "sentence_match": max(_share(wanted.intersection(s), weights, total) for s in sentences[i]),
            "bigram": len(q_bigrams & _bigrams(tokens)) / len(q_bigrams) if q_bigrams else 0.0,
            "proximity": len(matched) / window if window else 0.0,
            "title": _share(wanted.intersection(tokenize(view.title)), weights, total),
            "answer_type": float(bool(query.wanted and query.wanted.search(view.text))),
            "local_match": _share(matched, local, local_total),
            "local_sentence_match": max(_share(wanted.intersection(s), local, local_total) for s in sentences[i]),
            "sentence_bigram": (
                max(len(q_bigrams & _bigrams(s)) / len(q_bigrams) for s in sentences[i]) if q_bigrams else 0.0
            ),
        }
        for name, value in values.items():
            rows[i, PASSAGE_COLUMN[name]] = value
    if len(views):
        for gap, of in PASSAGE_GAPS.items():
            rows[:, PASSAGE_COLUMN[gap]] = rows[:, PASSAGE_COLUMN[of]] - rows[:, PASSAGE_COLUMN[of]].max()
    return rows


def _local_weights(terms: set[str], held: Sequence[set[str]]) -> dict[str, float]:
    """BM25's idf of each term among the candidates: high for a term few of them hold."""
    n = len(held)
    df = {t: sum(t in h for h in held) for t in terms}
    return {t: float(np.log(1 + (n - d + 0.5) / (d + 0.5))) for t, d in df.items()}


def is_label(sentence: str) -> bool:
    """Whether a sentence is a heading or a label: eight words or fewer, with no closing punctuation.

    >>> is_label("3.50.3 level property"), is_label("If level is absent, it defaults to warning.")
    (True, False)
    """
    return len(sentence.split()) <= 8 and not _CLOSING.search(sentence)


def sentence_signals(query: Query, view: PassageView) -> np.ndarray:
    """One row of SENTENCE_SIGNALS per sentence of the passage, in order."""
    weights, total = query.weights, query.weight_total
    wanted = set(weights)
    q_bigrams = _bigrams(query.terms)
    spans = np.asarray(view.spans).tolist()
    rows = np.zeros((len(spans), len(SENTENCE_SIGNALS)), dtype=np.float32)
    for i, ((s, e), terms) in enumerate(zip(spans, _sentence_terms(view), strict=True)):
        sentence = view.text[s:e]
        rows[i] = (
            float(view.similarities[i]) if i < len(view.similarities) else 0.0,
            _share(wanted.intersection(terms), weights, total),
            len(q_bigrams & _bigrams(terms)) / len(q_bigrams) if q_bigrams else 0.0,
            float(bool(query.wanted and query.wanted.search(sentence))),
            float(sentence.rstrip().endswith("?")),
            float(is_label(sentence)),
            float(i == 0),
            float(np.log1p(len(sentence.split()))),
            0.0,
            0.0,
        )
    if len(spans):
        match = SENTENCE_COLUMN["match"]
        rows[1:, SENTENCE_COLUMN["next_match"]] = rows[:-1, match]
        order = np.argsort(-rows[:, match], kind="stable")
        rows[order, SENTENCE_COLUMN["match_rank"]] = 1.0 / np.arange(1, len(spans) + 1)
    return rows
