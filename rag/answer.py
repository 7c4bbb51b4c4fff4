"""Hits -> an Answer: passages with citations and the sentence that best answers.

Answers are extractive: every word shown is the article's own. The JSON
form of an answer is defined here and nowhere else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass, field

import numpy as np

from .citation import Location, locate
from .question import Query
from .ranker import Ranker, load_ranker
from .reading import Reading
from .search import Hit, sentence_similarities
from .signals import PASSAGE_SIGNALS, PassageView, sentence_signals
from .store import Store

__all__ = ["Citation", "Result", "Phrase", "Answer", "best_sentence", "answer_from"]


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
class Phrase:
    """The answer itself: the words of one passage that answer the question, as the reader found them."""

    text: str
    rank: int  # the Result it was read from
    start: int  # offsets within that Result's text
    end: int
    source: str  # the article, and the offsets of the phrase in its text
    article_start: int
    article_end: int
    score: float  # the reader's confidence, 0 to 1

    def to_json(self) -> dict:
        return {
            "text": self.text,
            "source": self.source,
            "start": self.article_start,
            "end": self.article_end,
            "score": round(self.score, 6),
            "rank": self.rank,
        }


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    results: list[Result]
    phrase: Phrase | None = None

    def to_json(self, explain: bool = False) -> dict:
        return {
            "question": self.question,
            "answered": self.answered,
            "answer": self.phrase.to_json() if self.phrase else None,
            "passages": [r.to_json(explain) for r in self.results],
        }

    def __iter__(self):
        return iter(self.results)


def best_sentence(query: Query, view: PassageView, ranker: Ranker | None = None) -> tuple[int, int]:
    """Span (within the passage) of the sentence that best answers the query.

    The sentence model weighs how much of the question's wording a sentence
    holds, its cosine, whether it holds what the question asks for, and marks
    of sentences that cannot be the answer (questions, headings).
    """
    spans = np.asarray(view.spans, dtype=np.int64).reshape(-1, 2)
    if len(spans) < 2:
        return (int(spans[0][0]), int(spans[0][1])) if len(spans) else (0, len(view.text))
    scores = (ranker or load_ranker()).sentence_scores(sentence_signals(query, view))
    best = int(np.argmax(scores))
    return int(spans[best][0]), int(spans[best][1])


def reading_sentence(spans: np.ndarray, reading: Reading) -> tuple[int, int]:
    """The sentence holding the reader's span (both sentences, and those between, when it crosses one).

    spans [[0, 20], [21, 50]], a reading at 25-30 -> (21, 50); at 15-25 -> (0, 50)
    """
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    holding = [i for i, (s, e) in enumerate(spans.tolist()) if s < reading.end and reading.start < e]
    if not holding:
        return reading.start, reading.end
    return int(spans[holding[0]][0]), int(spans[holding[-1]][1])


def answer_from(
    store: Store,
    question: str,
    query: Query,
    hits: list[Hit],
    sentence_vector: np.ndarray,
    on_topic: bool = False,
    readings: Sequence[Reading | None] = (),
) -> Answer:
    """The Answer shown for `hits`: each passage with its citation and highlighted sentence.

    `readings` (aligned with `hits`, None where a passage was not read): the reader's best span in each
    passage; where there is one, its sentence is the highlight, and the first passage's span is the phrase.
    `on_topic`: the question follows one the articles answered, so it counts as answered when any passage came.
    """
    readings = list(readings) + [None] * (len(hits) - len(readings))
    results = []
    for rank, (hit, reading) in enumerate(zip(hits, readings, strict=True), 1):
        text = store.text(hit.passage)
        doc = store.document(hit.passage)
        row = store.passages[hit.passage]
        similarities, spans = sentence_similarities(store, hit.passage, sentence_vector)
        view = PassageView(
            text,
            str(doc.get("title") or ""),
            spans,
            similarities,
            hit.dense_score,
            hit.coverage,
            hit.dense_rank,
            hit.keyword_rank,
        )
        hs, he = reading_sentence(spans, reading) if _usable(reading) else best_sentence(query, view)
        start, end = int(row["start"]), int(row["end"])
        where = locate(doc.get("structure"), start, end, at=start + hs)  # the section of the highlight
        citation = Citation(doc["title"], doc["source"], doc.get("url"), start, end, *astuple(where))
        results.append(Result(rank, text, text[hs:he], hs, he, hit.score, citation, _explain(hit, reading)))
    answered = bool(hits) and (on_topic or load_ranker().answered(hits, [r for r in readings if r is not None]))
    return Answer(question, answered, results, _phrase(results[0], readings[0]) if answered else None)


def _usable(reading: Reading | None) -> bool:
    return reading is not None and reading.end > reading.start


def _phrase(result: Result, reading: Reading | None) -> Phrase | None:
    """The first passage's span as the answer phrase, with its offsets in the article."""
    if not _usable(reading):
        return None
    text = result.text[reading.start : reading.end]
    start = result.citation.start + reading.start
    score = 1.0 / (1.0 + math.exp(-max(min(reading.score, 30.0), -30.0)))
    source = result.citation.source
    return Phrase(text, result.rank, reading.start, reading.end, source, start, start + len(text), score)


def _explain(hit: Hit, reading: Reading | None = None) -> dict:
    out = {
        "dense_rank": hit.dense_rank,
        "keyword_rank": hit.keyword_rank,
        "dense_score": round(hit.dense_score, 6),
        "sentence_score": round(hit.sentence_score, 6),
        "keyword_score": round(hit.keyword_score, 6),
        "keyword_coverage": round(hit.coverage, 6),
        "fused_score": round(hit.score, 6),
    }
    if reading is not None:
        out["reading_score"] = round(reading.score, 6)
    if hit.signals:
        out["signals"] = {name: round(v, 6) for name, v in zip(PASSAGE_SIGNALS, hit.signals, strict=True)}
    return out
