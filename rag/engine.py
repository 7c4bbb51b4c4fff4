"""The one entry point the CLI and the web app share.

engine = Engine(Settings.load())
engine.update()                       # -> IndexReport
engine.ask("Who led Rust for Linux?") # -> Answer
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import astuple
from functools import lru_cache
from pathlib import Path

import numpy as np

from .answer import Answer, Citation, Result, best_sentence, is_answered
from .backends import Backend, open_backend
from .citation import locate
from .config import Settings
from .documents import ARTICLE_TYPES
from .embedding import Embedder, load_embedder
from .errors import IndexStateError, InputError
from .indexer import IndexReport, stale_reason, update_index
from .keyword import tokenize
from .search import Hit, search, search_any, sentence_similarities
from .store import Store

__all__ = ["Engine", "clean_question", "follow_up_context"]

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
FOLLOW_UP_DEPTH = 2  # earlier questions used to answer the previous one again for a follow-up
QUESTION_VECTORS = 1024  # recent questions' vectors kept (1.5 KB each): a follow-up asks the previous one again


class Engine:
    """Index a corpus and answer questions from it.

    `embedder` may be given (tests pass a fake one); otherwise the configured
    model is loaded the first time it is needed.
    """

    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings or Settings.load()
        self._embedder = embedder
        self._given = embedder  # indexes too when given; otherwise updates load the int8 model, queries float32
        self._store: Store | None = None
        # Two locks, so that a question never waits for an update (an upload may take minutes to index):
        # `_lock` guards the loaded model and generation, `_updating` keeps this engine's updates in turn.
        # Only a question finding no usable index holds both (it builds one); it takes `_lock` first.
        self._lock = threading.RLock()
        self._updating = threading.RLock()
        self.question_vector = lru_cache(maxsize=QUESTION_VECTORS)(self._question_vector)

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.settings.model, self.settings.index)
            return self._embedder

    def _question_vector(self, text: str) -> np.ndarray:
        """The model's vector for a question (read-only: `question_vector` hands the same array out again)."""
        vector = self.embedder.embed_query(text)
        vector.flags.writeable = False
        return vector

    @property
    def model_name(self) -> str:
        return self._embedder.name if self._embedder else self.settings.model

    # -- index -------------------------------------------------------------

    def update(self, full: bool = False, progress: Callable[[int, int], None] | None = None) -> IndexReport:
        """Index new and changed articles, drop deleted ones.

        Questions asked meanwhile are answered from the live generation, and from the new one once it is written.
        """
        with self._updating:
            # int8 weights when indexing: about three times as fast, at a measured cost (benchmarks/README.md)
            model, index = self.settings.model, self.settings.index
            source = self._given if self._given else lambda: load_embedder(model, index, quantized=True)
            return update_index(self.settings, source, full=full, progress=progress)

    def stale_reason(self) -> str | None:
        return stale_reason(self.settings, self.model_name)

    def ensure_current(self, notify: Callable[[str], None] | None = None) -> IndexReport | None:
        """Update the index first if it is missing or out of date; `notify` hears why."""
        reason = self.stale_reason()
        if reason is None:
            return None
        _ = self.embedder  # an unknown model fails here, before the update is announced
        if notify:
            notify(f"Updating the index ({reason})...")
        return self.update()

    def store(self) -> Store:
        """The live index, reloaded when a newer generation has been written."""
        with self._lock:
            backend = open_backend(self.settings)
            try:
                live = self._store is not None and backend.is_live(self._store)
            except IndexStateError:
                live = False
            if not live:
                self._store = self._load_store(backend)
            return self._store

    def _load_store(self, backend: Backend) -> Store:
        """Load the live index; build it if missing, rebuild it from the corpus if damaged."""
        try:
            store = backend.load()
        except IndexStateError as exc:
            log.info("rebuilding the index from the corpus: %s", exc.problem)
            store = None
        if store is None:
            self.update()  # detects the damage again under the lock, unless another process repaired it
            store = backend.load()
        if store is None:
            raise IndexStateError(f"no index in {self.settings.index} after updating it", "run `rag index`.")
        return store

    def add(self, files: Sequence[Path], overwrite: bool = False) -> tuple[list[str], IndexReport]:
        """Copy articles into the corpus and update the index; returns their sources and the report."""
        corpus = self.settings.corpus
        corpus.mkdir(parents=True, exist_ok=True)
        targets = []
        for f in files:
            f = Path(f)
            if not f.is_file():
                raise InputError(f"{f} is not a file.")
            if f.suffix.lower() not in ARTICLE_TYPES:
                raise InputError(f"{f.name}: not an article type; use one of {', '.join(ARTICLE_TYPES)}.")
            target = corpus / f.name
            if target.exists() and not overwrite:
                raise InputError(f"{target} already exists: rename the file, or pass --overwrite to replace it.")
            targets.append((f, target))
        for f, target in targets:
            shutil.copyfile(f, target)
        return [t.relative_to(corpus).as_posix() for _, t in targets], self.update()

    # -- ask ---------------------------------------------------------------

    def ask(self, question: str, k: int | None = None, history: Sequence[str] = ()) -> Answer:
        """The passages that best answer `question`, with citations.

        `history` holds earlier questions of the same conversation, most
        recent last; they help a follow-up such as "when did he start?".
        """
        question = clean_question(question)
        k = k or self.settings.k
        store = self.store()
        query_vector = self.question_vector(question)
        context = follow_up_context(question, history)
        if context:
            context = follow_up_context(question, history, self._previous_answer(history))
        if context:
            # The passage should be about what the conversation is about; its best sentence should answer the question.
            readings = [(self.question_vector(context), context, query_vector), (query_vector, question, None)]
            hits = search_any(store, readings, k)
        else:
            hits = search(store, query_vector, question, k)
        terms = tokenize(question)
        idf = store.idf(tokenize(question + " " + context) if context else terms)
        results = [
            self._result(store, rank, hit, question, terms, idf, query_vector) for rank, hit in enumerate(hits, 1)
        ]
        return Answer(question, is_answered(hits), results)

    def _previous_answer(self, history: Sequence[str]) -> str:
        """The sentence shown first for the previous question, if it was answered: what "he" or "it" refers to.

        The previous question is asked again, with at most FOLLOW_UP_DEPTH questions before it, so a
        follow-up costs a few more model calls, not one per turn of the conversation.
        """
        earlier = [h for h in history if isinstance(h, str) and h.strip()][-FOLLOW_UP_DEPTH - 1 :]
        if not earlier:
            return ""
        try:
            previous = self.ask(earlier[-1], k=1, history=earlier[:-1])
        except InputError:
            return ""
        return previous.results[0].highlight if previous.answered and previous.results else ""

    def _result(
        self, store: Store, rank: int, hit: Hit, question: str, terms: list[str], idf: dict, query_vector
    ) -> Result:
        text = store.text(hit.passage)
        doc = store.document(hit.passage)
        row = store.passages[hit.passage]
        start, end = int(row["start"]), int(row["end"])
        similarities, spans = sentence_similarities(store, hit.passage, query_vector)
        hs, he = best_sentence(question, text, idf, similarities, spans, terms)
        explain = {
            "dense_rank": hit.dense_rank,
            "keyword_rank": hit.keyword_rank,
            "dense_score": round(hit.dense_score, 6),
            "sentence_score": round(hit.sentence_score, 6),
            "keyword_score": round(hit.keyword_score, 6),
            "keyword_coverage": round(hit.coverage, 6),
            "fused_score": round(hit.score, 6),
        }
        where = locate(doc.get("structure"), start, end)
        citation = Citation(doc["title"], doc["source"], doc.get("url"), start, end, *astuple(where))
        return Result(rank, text, text[hs:he], hs, he, hit.score, citation, explain)


_TERMINAL_ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|.)", re.DOTALL)


_ANAPHORA = frozenset(
    "he him his she her hers it its they them their theirs this that these those there then such former latter".split()
)


def follow_up_context(question: str, history: Sequence[str], previous_answer: str = "") -> str | None:
    """The question read after the last one (and its answer, when given), when it seems to lean on it; else None.

    A question leans on the previous one when it refers back ("he", "it",
    "that", ...) or is too short to stand alone. The previous answer's
    sentence often names what "he" or "it" is ("Who led it?" -> "Miguel
    Ojeda ... led these efforts"), which the previous question does not.

    >>> follow_up_context("When did he send his first pull request?", ["Who led Rust for Linux?"])
    'Who led Rust for Linux? When did he send his first pull request?'
    >>> follow_up_context("Which AWS OS uses Rust?", ["Who led Rust for Linux?"]) is None
    True
    """
    earlier = [h for h in history if isinstance(h, str) and h.strip()]
    if not earlier:
        return None
    words = {w.strip(".,;:!?\"'").lower() for w in question.split()}
    if not (words & _ANAPHORA) and len(tokenize(question)) > 2:
        return None
    return " ".join(" ".join((earlier[-1], previous_answer, question)).split())


def clean_question(question: str) -> str:
    """The question with terminal escapes and control characters removed and white space folded.

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
        raise InputError('the question is empty: type a question, e.g. rag ask "Who leads Rust for Linux?"')
    if not any(ch.isalnum() for ch in text):
        raise InputError(f"the question {text[:40]!r} has no words in it: ask in words.")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(text)} characters long; keep it under {MAX_QUESTION_CHARS}.")
    return text
