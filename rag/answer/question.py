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
from .releases import ASKS_RELEASE

__all__ = [
    "Query",
    "wanted_answer",
    "clean_question",
    "follow_up_context",
    "with_referent",
    "asks_about_the_article",
    "asks_who",
    "MAX_QUESTION_CHARS",
]

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
    (ASKS_RELEASE, re.compile(r"\b\d+\.\d+\b")),
]


_LEADING_AND = re.compile(r"^\W*(?:and|but|so|then)\s+", re.I)


def wanted_answer(question: str) -> re.Pattern | None:
    """A pattern for what the question asks for (a date, a name, a number), if it says.

    >>> wanted_answer("When did it ship?").search("It shipped in 2022.") is not None
    True
    """
    question = _LEADING_AND.sub("", question)  # "And when did he start?" asks for a date too
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


_PERSONAL = frozenset("he him his she her hers".split())
_POSSESSIVE = frozenset("his hers".split())
_NOT_OWNED = frozenset("to and or in at for with from by of on as after before when while than but so".split())
_PARTICLES = frozenset("de da di du van von der den la le bin ibn al".split())
_HONORIFIC = re.compile(r"^(?:Miss|Mrs?\.?|Ms\.?|Dr\.?|Sir|Lady|Lord|Madame|Mme\.?|Herr|Frau)\s+")
_WORD_AT = re.compile(r"[\w'’-]+")
_LEAD_IN = r"^\W*(?:and\s+|but\s+|so\s+)?"  # the start of a question, with the "and" of a follow-up
_ASKS_WHO = re.compile(_LEAD_IN + r"(?:who|whom|whose)\b", re.I)


def asks_who(question: str) -> bool:
    """Whether `question` asks who ("Who ...", "And whose ...")."""
    return _ASKS_WHO.match(question) is not None


_WRITINGS = r"(?:article|post|paper|book|report|specification|spec|standard|document|guide|manual|essay|study|piece)"
_THE_ARTICLE = rf"(?:it|this|that|this\s+[\w-]+|that\s+[\w-]+|the\s+{_WRITINGS})"  # "it", "that specification"
_ABOUT_THE_ARTICLE = re.compile(
    _LEAD_IN + r"(?:"
    rf"who\s+(?:first\s+)?(?:wrote|authored|edited|published|translated|illustrated|compiled)\s+{_THE_ARTICLE}\W*$"
    rf"|who\s+(?:is|was|are|were)\s+(?:the\s+)?(?:author|editor|publisher|translator|illustrator)s?\s+of\s+{_THE_ARTICLE}\W*$"
    rf"|(?:when|in\s+what\s+year|what\s+year|on\s+what\s+date)\s+(?:was|were|is)\s+{_THE_ARTICLE}\s+"
    r"(?:first\s+)?(?:published|written|released|adopted|issued|approved|posted|printed|dated)\W*$"
    rf"|what\s+date\s+does\s+{_THE_ARTICLE}\s+(?:carry|bear|have|give)\W*$"
    r")",
    re.I,
)


def asks_about_the_article(question: str) -> bool:
    """Whether a follow-up asks who wrote the article it is about, or when it came out: what its title page
    or by-line says, not its text.

    >>> [asks_about_the_article(q) for q in ["Who edited that specification?", "When was it first published?"]]
    [True, True]
    >>> [asks_about_the_article(q) for q in ["And what date does this version carry?", "Who wrote the letter?"]]
    [True, False]
    """
    return _ABOUT_THE_ARTICLE.search(question) is not None


def with_referent(question: str, previous: str, answer: str) -> str | None:
    """The follow-up with the previous answer in place of its first "he" or "she", when the previous question
    asked who and its answer is a name: who "she" is, which the follow-up's own words do not tell the reader.

    >>> with_referent("Which college had she graduated from when she came?", "Who ran it?", "Miss Ellen Fetter")
    'Which college had Ellen Fetter graduated from when she came?'
    >>> with_referent("What was his first job?", "Who wrote it?", "Dan Abramov")
    "What was Dan Abramov's first job?"
    >>> with_referent("When did it ship?", "Who wrote it?", "Dan Abramov")
    >>> with_referent("When was he defeated?", "Which fort was his goal?", "Fort Duquesne")
    """
    name = _HONORIFIC.sub("", answer.strip())
    if not (asks_who(previous) and _names_a_person(name)):
        return None
    words = list(_WORD_AT.finditer(question))
    for i, word in enumerate(words):
        pronoun = word.group().lower()
        if pronoun not in _PERSONAL:
            continue
        after = words[i + 1].group().lower() if i + 1 < len(words) else ""
        owned = pronoun in _POSSESSIVE or (pronoun == "her" and after and after not in _NOT_OWNED)
        said = f"{name}'s" if owned else name
        return question[: word.start()] + said + question[word.end() :]
    return None


def _names_a_person(phrase: str) -> bool:
    """Whether `phrase` reads like a person's name: two to five capitalised words ("Ellen Fetter", "J. R. R.
    Tolkien", "Ludwig van Beethoven"), no digits."""
    words = phrase.split()
    if not 2 <= len(words) <= 5 or any(ch.isdigit() for ch in phrase):
        return False
    return words[0][:1].isupper() and all(w[:1].isupper() or w in _PARTICLES for w in words)


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
