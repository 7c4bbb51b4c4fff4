"""A question, read once per ask: its text, terms, idf weights, vector and the kind of answer it wants.

    query = Query.read("When did he start?", vector, store.idf)

Every later step (search, signals, highlight, abstention) takes the Query, so
the question is tokenized and its answer type found once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..index.keyword import tokenize

__all__ = ["Query", "wanted_answer"]

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
_ANSWER_TYPES = [
    (
        re.compile(r"^\s*(?:when|what year|which year|in what year|in which year|on what date|what date)\b", re.I),
        re.compile(rf"\b(?:1[89]|20)\d\d\b|\b{_MONTH}\s+\d", re.I),
    ),
    (re.compile(r"^\s*(?:who|whom|whose)\b", re.I), re.compile(r"\b[A-Z][a-z]+\s+(?:[A-Z][a-z]*\.?\s+)?[A-Z][a-z]+")),
    (
        re.compile(r"\b(?:how (?:many|much|big|large|long)|what (?:share|fraction|percentage|proportion))\b", re.I),
        re.compile(r"\d"),
    ),
    (re.compile(r"^\s*(?:in )?(?:which|what)\s+(?:\w+\s+)?(?:version|release)\b", re.I), re.compile(r"\b\d+\.\d+\b")),
]


def wanted_answer(question: str) -> re.Pattern | None:
    """A pattern for what the question asks for (a date, a name, a number), if it says.

    >>> wanted_answer("When did it ship?").search("It shipped in 2022.") is not None
    True
    """
    for asks, pattern in _ANSWER_TYPES:
        if asks.search(question):
            return pattern
    return None


@dataclass(frozen=True)
class Query:
    """One reading of a question, as every step of answering it needs it."""

    text: str
    terms: list[str]  # tokenize(text), in order, repeats kept (BM25 counts them)
    vector: np.ndarray
    weights: dict[str, float]  # idf of each distinct term in this corpus
    wanted: re.Pattern | None

    @classmethod
    def read(cls, text: str, vector: np.ndarray, idf: Callable[[list[str]], dict[str, float]]) -> Query:
        terms = tokenize(text)
        return cls(text, terms, vector, idf(list(dict.fromkeys(terms))), wanted_answer(text))

    @property
    def weight_total(self) -> float:
        return sum(self.weights.values())
