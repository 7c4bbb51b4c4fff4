"""A question, read once per ask: its text, terms, idf weights, vector and the kind of answer it wants.

    query = Query.read("When did he start?", vector, store.idf)

Every later step (search, signals, highlight, abstention) takes the Query, so
the question is tokenized and its answer type found once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import EmptyQuestionError, InputError
from ..index.keyword import tokenize

__all__ = ["Query", "wanted_answer", "clean_question", "follow_up_context", "MAX_QUESTION_CHARS"]

MAX_QUESTION_CHARS = 2000

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


_TERMINAL_ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|.)", re.DOTALL)


_ANAPHORA = frozenset(
    "he him his she her hers it its they them their theirs this that these those there then such former latter".split()
)


def follow_up_context(question: Query, history: Sequence[str], previous_answer: str = "") -> str | None:
    """The question read after the last one (and its answer, when given), when it seems to lean on it; else None.

    A question leans on the previous one when it refers back ("he", "it",
    "that", ...) or is too short to stand alone. The previous answer's
    sentence often names what "he" or "it" is ("Who led it?" -> "Miguel
    Ojeda ... led these efforts"), which the previous question does not.

    >>> def read(text): return Query.read(text, np.zeros(1), lambda terms: {})
    >>> follow_up_context(read("When did he send his first pull request?"), ["Who led Rust for Linux?"])
    'Who led Rust for Linux? When did he send his first pull request?'
    >>> follow_up_context(read("Which AWS OS uses Rust?"), ["Who led Rust for Linux?"]) is None
    True
    """
    earlier = [h for h in history if isinstance(h, str) and h.strip()]
    if not earlier:
        return None
    words = {w.strip(".,;:!?\"'").lower() for w in question.text.split()}
    if not (words & _ANAPHORA) and len(question.terms) > 2:
        return None
    return " ".join(" ".join((earlier[-1], previous_answer, question.text)).split())


def clean_question(question: str) -> str:
    r"""The question with terminal escapes and control characters removed and white space folded.

    Refuses empty, word-less and huge questions.

    >>> clean_question("  Who\tleads\x1b[31m Rust?\x00 ")
    'Who leads Rust?'
    """
    if not isinstance(question, str):
        raise InputError("the question must be text.")
    if len(question) > 50 * MAX_QUESTION_CHARS:  # do not spend time cleaning megabytes
        raise InputError(f"the question is {len(question)} characters long; keep it under {MAX_QUESTION_CHARS}.")
    text = _TERMINAL_ESCAPE.sub(" ", question)
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    if not text:
        raise EmptyQuestionError("the question is empty: type a question.")
    if not any(ch.isalnum() for ch in text):
        raise InputError(f"the question {text[:40]!r} has no words in it: ask in words.")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(text)} characters long; keep it under {MAX_QUESTION_CHARS}.")
    return text
