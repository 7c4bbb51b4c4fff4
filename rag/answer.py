"""Hits -> an Answer: passages with citations and the sentence that best answers.

Answers are extractive: every word shown is the article's own. The JSON
form of an answer is defined here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .chunking import sentence_spans
from .keyword import tokenize

__all__ = ["Citation", "Result", "Answer", "best_sentence", "ANSWER_THRESHOLD"]

# Below this dense similarity of the best passage, the corpus is taken not to answer.
ANSWER_THRESHOLD = 0.35


@dataclass(frozen=True)
class Citation:
    title: str
    source: str  # path relative to the corpus
    url: str | None
    start: int  # character span of the passage in the article's text
    end: int


@dataclass(frozen=True)
class Result:
    rank: int
    text: str
    highlight: str
    highlight_start: int  # offsets of the highlight within `text`
    highlight_end: int
    score: float
    citation: Citation
    explain: dict = field(default_factory=dict)

    def to_json(self, explain: bool = False) -> dict:
        out = {
            "rank": self.rank,
            "text": self.text,
            "highlight": self.highlight,
            "score": round(self.score, 6),
            "title": self.citation.title,
            "source": self.citation.source,
            "url": self.citation.url,
            "start": self.citation.start,
            "end": self.citation.end,
        }
        if explain:
            out["explain"] = self.explain
        return out


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    results: list[Result]

    def to_json(self, explain: bool = False) -> dict:
        return {
            "question": self.question,
            "answered": self.answered,
            "passages": [r.to_json(explain) for r in self.results],
        }

    def __iter__(self):
        return iter(self.results)


def best_sentence(
    question: str, text: str, sentence_vectors: np.ndarray | None, query_vector: np.ndarray | None
) -> tuple[int, int]:
    """Span (within `text`) of the sentence that best answers `question`.

    Scores each sentence by the share of the question's terms it holds plus,
    when vectors are given, its similarity to the question.
    """
    spans = [(s, e) for s, e, _ in sentence_spans(text)]
    if not spans:
        return 0, len(text)
    terms = set(tokenize(question))
    scores = np.zeros(len(spans))
    for i, (s, e) in enumerate(spans):
        if terms:
            scores[i] += len(terms & set(tokenize(text[s:e]))) / len(terms)
    if sentence_vectors is not None and query_vector is not None:
        scores += sentence_vectors @ query_vector
    return spans[int(np.argmax(scores))]
