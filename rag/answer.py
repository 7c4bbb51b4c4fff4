"""Hits -> an Answer: passages with citations and the sentence that best answers.

Answers are extractive: every word shown is the article's own. The JSON
form of an answer is defined here and nowhere else.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, field

import numpy as np

from .citation import Location, locate
from .question import Query
from .ranker import Ranker, load_ranker
from .search import Hit, is_answered, sentence_similarities
from .signals import PASSAGE_SIGNALS, PassageView, sentence_signals
from .store import Store

__all__ = ["Citation", "Result", "Answer", "best_sentence", "answer_from"]


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


def answer_from(
    store: Store, question: str, query: Query, hits: list[Hit], sentence_vector: np.ndarray, on_topic: bool = False
) -> Answer:
    """The Answer shown for `hits`: each passage with its citation and highlighted sentence.

    `on_topic`: the question follows one the articles answered, so it counts as answered when any passage came.
    """
    results = []
    for rank, hit in enumerate(hits, 1):
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
        hs, he = best_sentence(query, view)
        start, end = int(row["start"]), int(row["end"])
        where = locate(doc.get("structure"), start, end, at=start + hs)  # the section of the highlight
        citation = Citation(doc["title"], doc["source"], doc.get("url"), start, end, *astuple(where))
        results.append(Result(rank, text, text[hs:he], hs, he, hit.score, citation, _explain(hit)))
    return Answer(question, bool(hits) and (on_topic or is_answered(hits)), results)


def _explain(hit: Hit) -> dict:
    out = {
        "dense_rank": hit.dense_rank,
        "keyword_rank": hit.keyword_rank,
        "dense_score": round(hit.dense_score, 6),
        "sentence_score": round(hit.sentence_score, 6),
        "keyword_score": round(hit.keyword_score, 6),
        "keyword_coverage": round(hit.coverage, 6),
        "fused_score": round(hit.score, 6),
    }
    if hit.signals:
        out["signals"] = {name: round(v, 6) for name, v in zip(PASSAGE_SIGNALS, hit.signals, strict=True)}
    return out
