"""Hits -> an Answer: passages with citations and the sentence that best answers.

Answers are extractive: every word shown is the article's own. The JSON
form of an answer is defined here and nowhere else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import astuple, dataclass, field, replace
from typing import TypeGuard

import numpy as np

from ..index.protocols import ReadableStore
from ..ingest.citation import Location, locate
from .opposites import opposite
from .question import Query
from .ranker import ANSWER_SIGNALS, Ranker, answer_signals, load_ranker
from .reading import Reading
from .releases import asks_release, heading_version, names_its_release
from .search import Hit, passage_view
from .signals import PASSAGE_SIGNALS, PassageView, is_label, sentence_signals

__all__ = [
    "Citation",
    "Result",
    "Phrase",
    "Lead",
    "Answer",
    "sentence_around",
    "best_sentence",
    "answer_from",
    "answer_margins",
    "confidence_words",
    "fold_repeats",
    "FOUND",
    "LIKELY",
    "NOT_FOUND",
    "SURE_MARGIN",
    "CLOSE_TO_FIRST",
]

FOUND, LIKELY, NOT_FOUND = "Answer found", "Likely", "Not in these articles"
# How far above the abstention line the answered model's logit must be for "Answer found" rather than "Likely".
# The model is a logistic regression, so a logit difference is a log odds ratio: ln 4 (1.39) means the odds
# that the passage answers are four times those at the line. The line itself (ranker.json, about -0.67) sits
# at odds of about 1 to 2, set low to answer rather than refuse; four times that is 2 to 1 in favour (p ~ 0.67),
# the point where being right is more likely than not by a clear margin. On the bundled question set
# (benchmarks/confidence.py): past ln 4, 57 of 60 questions are answerable and 51 have the answer in the first
# passage; between the line and ln 4, 1 of 3.
SURE_MARGIN = math.log(4)
# A passage after the first is marked as an answer too when it is above the abstention line on its own and its
# score is within ln 8 of the first's. The passage score is the passage model's logit (plus a small prior), so
# this reads "its odds of holding the answer are at least an eighth of the first's": on the bundled questions
# that marks both articles' Bottlerocket sentences for the AWS question (2.0 apart) but not the pull request
# date under "Who led the Rust for Linux project?" (11 apart), which the answered model alone would mark, since
# it judges whether a passage is on the question's subject more than whether it answers it.
CLOSE_TO_FIRST = math.log(8)


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
    answers: bool = False  # the passage itself is above the abstention line: its sentence is marked as an answer
    also_in: tuple[Citation, ...] = ()  # other articles whose passages repeat this one's words, not shown again

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
            "answers": self.answers,
            "also_in": [{"title": c.title, "source": c.source, "where": c.where} for c in self.also_in],
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
class Lead:
    """The top of an answer: the phrase (None without one), the sentence holding it, the phrase's place in
    that sentence, and the passage it is from (its citation)."""

    phrase: str | None
    sentence: str
    mark: tuple[int, int] | None
    result: Result


_SENTENCE_END = re.compile(r"[.!?][\"”’)\]]*\s+|\n")  # a line break ends a sentence too, as in chunking


def sentence_around(result: Result, start: int, end: int) -> tuple[int, int]:
    """The span (within `result.text`) of the sentence holding [start, end): the highlighted one when it does.

    >>> r = Result(1, "He left. Ojeda led it. Then", "He left.", 0, 8, 0.0, Citation("t", "s", None, 0, 27))
    >>> sentence_around(r, 9, 14)
    (9, 22)
    """
    if result.highlight_start <= start and end <= result.highlight_end:
        return result.highlight_start, result.highlight_end
    text = result.text
    before = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]
    after = _SENTENCE_END.search(text, end)
    return (before[-1] if before else 0), (len(text[: after.end()].rstrip()) if after else len(text))


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    results: list[Result]
    phrase: Phrase | None = None
    margin: float | None = None  # the answered model's logit minus its threshold (None: nothing to judge)
    unmentioned: tuple[str, ...] = ()  # names the question asks about that no article mentions...
    unmentioned_in: str | None = None  # ... or, when set, that this article, the closest, never mentions
    opposite: tuple[str, str] | None = None  # (what was asked, what the best sentence says instead): opposites.py

    @property
    def confidence(self) -> str:
        """How sure the answer is, in words: "Answer found", "Likely" or "Not in these articles"."""
        return confidence_words(self.answered, self.margin)

    @property
    def lead(self) -> Lead | None:
        """What the answer leads with: the phrase and the sentence holding it, or the best sentence of the
        first passage when there is no phrase (None when not answered)."""
        if not self.answered or not self.results:
            return None
        phrase = self.phrase
        result = next((r for r in self.results if phrase and r.rank == phrase.rank), None)
        if phrase is None or result is None:
            return Lead(None, self.results[0].highlight, None, self.results[0])
        sentence_start, sentence_end = sentence_around(result, phrase.start, phrase.end)
        mark = (phrase.start - sentence_start, phrase.end - sentence_start)
        return Lead(phrase.text, result.text[sentence_start:sentence_end], mark, result)

    def to_json(self, explain: bool = False) -> dict:
        return {
            "question": self.question,
            "answered": self.answered,
            "confidence": self.confidence,
            "margin": None if self.margin is None else round(self.margin, 6),
            "unmentioned": list(self.unmentioned),
            "unmentioned_in": self.unmentioned_in,
            "opposite": {"asked": self.opposite[0], "said": self.opposite[1]} if self.opposite else None,
            "answer": self.phrase.to_json() if self.phrase else None,
            "passages": [r.to_json(explain) for r in self.results],
        }

    def __iter__(self):
        return iter(self.results)


def confidence_words(answered: bool, margin: float | None) -> str:
    """`answered` and the margin above the abstention line in words.

    >>> confidence_words(True, 2.0), confidence_words(True, 0.3), confidence_words(False, -1.0)
    ('Answer found', 'Likely', 'Not in these articles')

    A follow-up kept on the subject of an answered question counts as answered below the line: "Likely".
    """
    if not answered:
        return NOT_FOUND
    return FOUND if margin is not None and margin >= SURE_MARGIN else LIKELY


def answer_margins(
    hits: list[Hit], readings: Sequence[Reading | None] = (), ranker: Ranker | None = None
) -> list[float | None]:
    """For each hit, the answered model's logit minus its threshold, reading that hit as if it came first.

    The first is the margin behind the answered decision (>= 0 exactly when answered); each later hit is
    set against the first. Each is judged with its own reader score, so a passage counts as an answer only
    on its own strength: the best score of ten passages read would often be high by chance. None: not
    re-ranked.
    """
    ranker = ranker or load_ranker()
    columns = [ANSWER_SIGNALS.index(name) for name in ranker.answered_model.names]
    out: list[float | None] = []
    for i, hit in enumerate(hits):
        if not hit.signals:
            out.append(None)
            continue
        pair = hits[:2] if i == 0 else [hit, hits[0]]
        own = [r for r in readings[i : i + 1] if r is not None]
        logit = ranker.answered_model(answer_signals(pair, own)[:, columns])[0]
        out.append(float(logit - ranker.threshold))
    return out


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


def reading_sentence(spans: np.ndarray, reading: Reading, text: str = "") -> tuple[int, int]:
    """The sentence holding the reader's best span, before its answer was trimmed from it (both sentences,
    and those between, when it crosses one). When that is a heading or a label of the passage `text`
    ("3.50.3 level property"), the sentence after it comes with it: a heading alone says little.

    spans [[0, 20], [21, 50]], a reading at 25-30 -> (21, 50); at 15-25 -> (0, 50)
    """
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    begin, end = reading.around
    holding = [i for i, (s, e) in enumerate(spans.tolist()) if s < end and begin < e]
    if not holding:
        return begin, end
    first, last = holding[0], holding[-1]
    if text and last + 1 < len(spans) and is_label(text[spans[first][0] : spans[last][1]]):
        last += 1
    return int(spans[first][0]), int(spans[last][1])


def answer_from(
    store: ReadableStore,
    question: str,
    query: Query,
    hits: list[Hit],
    sentence_vector: np.ndarray,
    on_topic: bool = False,
    readings: Sequence[Reading | None] = (),
    k: int | None = None,
    unmentioned: Sequence[str] = (),
    unmentioned_in: str | None = None,
) -> Answer:
    """The Answer shown for `hits`: each passage with its citation and highlighted sentence.

    `readings` (aligned with `hits`, None where a passage was not read): the reader's best span in each
    passage; where there is one, its sentence is the highlight, and the first passage's span is the phrase.
    `on_topic`: the question follows one the articles answered, so it counts as answered when any passage came.
    `k`: passages to show; `hits` may hold a few more, to take the place of passages that repeat an earlier one's
    words (they are folded into it, "also in"). Whether the question is answered is judged on the first `k`.
    `unmentioned`: names the question asks about that no article mentions (names.py), or that the article
    `unmentioned_in` never mentions; then it is not answered.
    """
    readings = list(readings)[: len(hits)] + [None] * max(len(hits) - len(readings), 0)
    k = len(hits) if k is None else k
    margins = answer_margins(hits[:k], readings) if hits else []  # the best reading of all passages read
    answered = bool(hits) and not unmentioned and (on_topic or (margins[0] is not None and margins[0] >= 0))
    results = []
    release: tuple[int, int] | None = None  # the first passage's answer, when it is its heading's version
    for rank, (hit, reading) in enumerate(zip(hits, readings, strict=True), 1):
        view = passage_view(
            store, hit.passage, sentence_vector, hit.dense_score, hit.coverage, hit.dense_rank, hit.keyword_rank
        )
        text, spans = view.text, view.spans
        doc = store.document(hit.passage)
        row = store.rows([hit.passage])[0]
        hs, he = reading_sentence(spans, reading, text) if _usable(reading) else best_sentence(query, view)
        start, end = int(row["start"]), int(row["end"])
        # release notes: the version is in the heading of the line that matches, unless the reader's line says it
        if rank == 1 and asks_release(question) and not names_its_release(question, text[hs:he], doc["title"]):
            matching = best_sentence(query, view)
            release = heading_version(doc.get("structure"), start, text, matching)
            if release is not None:
                hs, he = matching
        where = locate(doc.get("structure"), start, end, at=start + hs)  # the section of the highlight
        citation = Citation(doc["title"], doc["source"], doc.get("url"), start, end, *astuple(where))
        margin = margins[rank - 1] if rank <= len(margins) else None
        # Only an answered question marks answers: its first passage, and others that look like answers too.
        close = hit.signals and hits[0].signals and hit.score >= hits[0].score - CLOSE_TO_FIRST
        marks = answered and (rank == 1 or bool(close and margin is not None and margin >= 0))
        results.append(Result(rank, text, text[hs:he], hs, he, hit.score, citation, _explain(hit, reading), marks))
    shown = fold_repeats(results)[:k]
    contrary = opposite(question, shown[0].highlight) if answered and shown else None
    if contrary:  # the best sentence says the opposite of what was asked: another question's answer
        answered = False
        shown = [replace(r, answers=False) for r in shown]
    phrase = _phrase(shown[0], readings[0], release) if answered else None
    margin = margins[0] if margins else None
    return Answer(
        question,
        answered,
        shown,
        phrase,
        margin=margin,
        unmentioned=tuple(unmentioned),
        unmentioned_in=unmentioned_in,
        opposite=contrary,
    )


_WORD = re.compile(r"\w+")
SHINGLE = 4  # words per shingle when comparing texts
REPEAT_SHARE = 0.6  # share of a sentence's shingles found in an earlier passage for it to count as repeated
REPEAT_MIN_WORDS = 8  # shorter sentences ("He said no.") are not called repeats


def _shingles(text: str) -> set[tuple[str, ...]]:
    """Runs of SHINGLE words, case, accents of quotes and punctuation aside: the same quote in two articles
    (“That’s going...” and "That's going...") gives the same shingles."""
    words = _WORD.findall(text.casefold().replace("’", "").replace("'", ""))
    return {tuple(words[i : i + SHINGLE]) for i in range(max(len(words) - SHINGLE + 1, 0))}


def fold_repeats(results: list[Result]) -> list[Result]:
    """Results with each passage that repeats an earlier one's words folded into it ("also in"), renumbered.

    A passage repeats an earlier one when most of its best sentence, or most of the passage, is in it:
    the same quote in two articles is shown once.
    """
    kept: list[Result] = []
    seen: list[set[tuple[str, ...]]] = []
    for r in results:
        sentence, passage = _shingles(r.highlight), _shingles(r.text)
        target = None
        for i, earlier in enumerate(seen):
            long_enough = len(sentence) >= REPEAT_MIN_WORDS - SHINGLE + 1
            if long_enough and len(sentence & earlier) >= REPEAT_SHARE * len(sentence):
                target = i
            elif passage and earlier and len(passage & earlier) >= REPEAT_SHARE * min(len(passage), len(earlier)):
                target = i
            if target is not None:
                break
        if target is None:
            kept.append(replace(r, rank=len(kept) + 1))
            seen.append(passage)
        else:
            first = kept[target]
            kept[target] = replace(first, also_in=(*first.also_in, r.citation))
    return kept


def _usable(reading: Reading | None) -> TypeGuard[Reading]:
    return reading is not None and reading.end > reading.start


def _phrase(result: Result, reading: Reading | None, span: tuple[int, int] | None = None) -> Phrase | None:
    """The first passage's span as the answer phrase, with its offsets in the article: the reader's, or
    `span` where another rule found the answer (a release's version in its heading)."""
    if not _usable(reading):
        return None
    assert reading is not None  # usable
    a, b = span or (reading.start, reading.end)
    text = result.text[a:b]
    start = result.citation.start + a
    score = 1.0 / (1.0 + math.exp(-max(min(reading.score, 30.0), -30.0)))
    source = result.citation.source
    return Phrase(text, result.rank, a, b, source, start, start + len(text), score)


def _explain(hit: Hit, reading: Reading | None = None) -> dict:
    out: dict[str, object] = {
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
