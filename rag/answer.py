"""Hits -> an Answer: passages with citations and the sentence that best answers.

Answers are extractive: every word shown is the article's own. The JSON
form of an answer is defined here and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .chunking import sentence_spans
from .citation import Location
from .keyword import tokenize

__all__ = [
    "Citation",
    "Result",
    "Answer",
    "best_sentence",
    "wanted_answer",
    "is_answered",
    "evidence",
    "ANSWER_THRESHOLD",
]

# Calibrated on eval/questions.jsonl (README, "Answer quality"), on the best passage's evidence: the fused
# score without the answer-type bonus. A best passage sharing no term with the question needs more of it.
ANSWER_THRESHOLD = 0.14
NO_SHARED_TERMS_COVERAGE = 0.02
NO_SHARED_TERMS_THRESHOLD = 0.35


def evidence(hit) -> float:
    """How strongly a search.Hit matches its question, on the fused scale, before any answer-type bonus."""
    from .search import DEFAULT_FUSION as f

    keyword_weight = 1 - f.dense_weight - f.sentence_weight
    return f.dense_weight * hit.dense_score + f.sentence_weight * hit.sentence_score + keyword_weight * hit.coverage


def is_answered(hits) -> bool:
    """Whether the best passage looks like an answer rather than the nearest unrelated text.

    `hits` are search.Hit objects, best first; the decision uses the best one's evidence and how much
    of the question's wording it holds.
    """
    if not hits:
        return False
    best = max(hits, key=evidence)
    score = evidence(best)
    if score < ANSWER_THRESHOLD:
        return False
    return best.coverage >= NO_SHARED_TERMS_COVERAGE or score >= NO_SHARED_TERMS_THRESHOLD


@dataclass(frozen=True)
class Citation:
    title: str
    source: str  # path relative to the corpus
    url: str | None
    start: int  # character span of the passage in the article's text
    end: int
    section: tuple[str, ...] = ()  # headings the passage sits under, outermost first
    pages: tuple[int, ...] = ()  # first and last page of a PDF (one number when the same)
    lines: tuple[int, int] | None = None  # first and last line in the file (text and Markdown)

    @property
    def where(self) -> str:
        """Section, pages and lines in words: "Normans › History · page 3 · lines 40-52" ("" when none)."""
        return Location(self.section, self.pages, self.lines).describe()


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
            "section": list(self.citation.section),
            "pages": list(self.citation.pages),
            "lines": list(self.citation.lines) if self.citation.lines else None,
            "where": self.citation.where,
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
    question: str,
    text: str,
    idf: dict[str, float] | None = None,
    similarities: np.ndarray | None = None,
    spans: np.ndarray | None = None,
    terms: list[str] | None = None,
) -> tuple[int, int]:
    """Span (within `text`) of the sentence that best answers `question`; cheap, no model call.

    Each sentence scores the idf-weighted share of the question's terms it
    holds (`idf` maps terms to weights; equal weights when not given), plus
    its cosine similarity to the question when `similarities` (one per
    sentence, computed at index time) are given, plus a small bonus when it
    holds what the question asks for: a date for "when", a name for "who",
    a number for "how many". `spans` are the sentences' (start, end) as stored
    at index time; they are found again when not given. `terms` are the
    question's terms, `tokenize(question)`, when the caller has them already.

    >>> text = "Ojeda led it. He sent the first pull request on Sept. 20, 2021."
    >>> s, e = best_sentence("When was the first pull request sent?", text)
    >>> text[s:e]
    'He sent the first pull request on Sept. 20, 2021.'
    """
    if spans is None:
        spans = [(s, e) for s, e, _ in sentence_spans(text)]
    else:
        spans = [(s, e) for s, e in np.asarray(spans, dtype=np.int64).tolist()]
    if len(spans) < 2:
        return spans[0] if spans else (0, len(text))
    terms = set(tokenize(question) if terms is None else terms)
    weights = idf or {}
    total = sum(weights.get(t, 1.0) for t in terms) or 1.0
    wanted = wanted_answer(question)
    if similarities is None or len(similarities) != len(spans):
        similarities = np.zeros(len(spans))
    best, best_score = spans[0], -np.inf
    for (s, e), similarity in zip(spans, similarities.tolist(), strict=True):
        sentence = text[s:e]
        score = sum(weights.get(t, 1.0) for t in terms & set(tokenize(sentence))) / total
        score += SIMILARITY_WEIGHT * similarity
        if wanted is not None and wanted.search(sentence):
            score += ANSWER_TYPE_BONUS
        if score > best_score:
            best, best_score = (s, e), score
    return best


ANSWER_TYPE_BONUS = 0.15
SIMILARITY_WEIGHT = 0.5
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
    """A pattern for what the question asks for (a date, a name, a number), if it says."""
    for asks, pattern in _ANSWER_TYPES:
        if asks.search(question):
            return pattern
    return None
