"""The one entry point the CLI and the web app share.

engine = Engine(Settings.load())
engine.update()                       # -> IndexReport
engine.ask("Who led Rust for Linux?") # -> Answer
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from .answer.names import article_terms, article_titles, titled, unmentioned, unwritten, versions
from .answer.question import Query, asks_about_the_article, clean_question, follow_up_context, with_referent
from .answer.ranker import load_ranker
from .answer.reading import Reader, Reading, load_reader
from .answer.results import Answer, answer_from
from .answer.scope import Within, within_source
from .answer.scope import within as scoped
from .answer.search import CANDIDATES, Hit, search, search_any
from .answer.title_page import labelled
from .config import Settings
from .errors import CorpusError, IndexStateError, InputError, RagError
from .index.backends import Backend, open_backend
from .index.changes import stale_reason
from .index.embedding import Embedder, load_embedder
from .index.indexer import update_index
from .index.keyword import tokenize
from .index.protocols import ReadableStore
from .index.report import IndexReport
from .ingest.documents import ArticleFile, Document, scan
from .ingest.intake import AddReport, add_files
from .ingest.sandbox import read_isolated
from .messages import no_articles

__all__ = ["Engine", "EXAMPLES_FILE", "check_folders"]

log = logging.getLogger(__name__)

FOLLOW_UP_DEPTH = 2  # earlier questions used to answer the previous one again for a follow-up
SPARE = 3  # passages found beyond k, to take the place of any that repeat an earlier one's words
QUESTION_VECTORS = 1024  # recent questions' vectors kept (1.5 KB each): a follow-up asks the previous one again
EXAMPLES_FILE = ".questions"  # in the corpus folder: example questions, one per line
READ_DEPTH = 10  # leading passages the reader reads for the answer phrase and re-orders, at most
READ_FIRST = 1  # passages read first; the rest of READ_DEPTH only when none of these answers surely
PHRASE_PASSAGES = 50  # passages that best match a name of several words, searched for its words together
OPENING = 3  # first passages of an article read for a question about the article itself (who wrote it, when)
SURE = 2.0  # a reader score that ends the reading (training/fit_reading.py measures the choice)


class Engine:
    """Index a corpus and answer questions from it.

    `embedder` may be given (tests pass a fake one); otherwise the configured
    model is loaded the first time it is needed.
    """

    def __init__(
        self, settings: Settings | None = None, embedder: Embedder | None = None, reader: Reader | None | bool = True
    ) -> None:
        self.settings = settings or Settings.load()
        self._embedder = embedder
        self._reader = reader  # True: the shipped reader, loaded when first needed; None or False: no reading
        self._given = embedder  # indexes too when given; otherwise updates load the int8 model, queries float32
        self._store: ReadableStore | None = None
        # Of this store's articles: their names' terms, and the titles that may name them in a question.
        self._articles: tuple[ReadableStore, frozenset[str], dict[str, dict[str, list[str]]]] | None = None
        # Two locks, so that a question never waits for an update (an upload may take minutes to index):
        # `_lock` guards the loaded model and generation, `_updating` keeps this engine's updates in turn.
        # Only a question finding no usable index holds both (it builds one); it takes `_lock` first.
        self._lock = threading.RLock()
        self._updating = threading.RLock()
        self._warm: dict[str, np.ndarray] = {}  # vectors embedded ahead by `warm`, handed out once
        self.question_vector = lru_cache(maxsize=QUESTION_VECTORS)(self._question_vector)

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.settings.model, self.settings.index)
            return self._embedder

    def warm(self, questions: Sequence[str], batch: int = 256) -> None:
        """Embed many questions at once ahead of asking them (an evaluation asks thousands)."""
        texts = list(dict.fromkeys(clean_question(q) for q in questions))
        for first in range(0, len(texts), batch):
            chunk = texts[first : first + batch]
            for text, vector in zip(chunk, self.embedder.embed(chunk), strict=True):
                self._warm[text] = vector

    def _question_vector(self, text: str) -> np.ndarray:
        """The model's vector for a question (read-only: `question_vector` hands the same array out again)."""
        vector = self._warm.pop(text, None)
        if vector is None:
            vector = self.embedder.embed_query(text)
        vector.flags.writeable = False
        return vector

    @property
    def reader(self) -> Reader | None:
        with self._lock:
            if self._reader is True:
                self._reader = load_reader()
            return self._reader or None

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
        check_folders(self.settings)  # before the model is loaded or anything is written
        reason = self.stale_reason()
        if reason is None:
            return None
        _ = self.embedder  # an unknown model fails here, before the update is announced
        if notify:
            notify(f"Updating the index ({reason})...")
        return self.update()

    def require_articles(self) -> None:
        """Refuse to answer from a corpus folder that holds no articles, before any model is loaded."""
        check_folders(self.settings)
        files, skipped = scan(self.settings.corpus, self.settings.max_file_bytes, self.settings.follow_links)
        if not files:
            raise CorpusError(no_articles(self.settings.corpus, len(skipped)))

    def example_questions(self, n: int = 4) -> list[str]:
        """The corpus's own example questions (corpus/.questions) if it has some, else one per article title."""
        try:
            lines = (self.settings.corpus / EXAMPLES_FILE).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        questions = [" ".join(q.split()) for q in lines if q.strip()]
        if not questions:
            try:
                manifest = open_backend(self.settings).read_manifest()
            except RagError:
                manifest = None
            docs = manifest.documents if manifest else []
            questions = [f"What is “{d['title']}” about?" for d in docs[:n]]
        return questions[:n]

    def store(self) -> ReadableStore:
        """The live index, reloaded when a newer generation has been written."""
        with self._lock:
            backend = open_backend(self.settings)
            try:
                live = self._store is not None and backend.is_live(self._store)
            except IndexStateError:
                live = False
            if not live:
                self._store = self._load_store(backend)
            assert self._store is not None  # loaded now, or live
            return self._store

    def _load_store(self, backend: Backend) -> ReadableStore:
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

    def add(
        self,
        files: Sequence[Path],
        overwrite: bool = False,
        max_bytes: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> AddReport[IndexReport]:
        """Save article files into the corpus and update the index (`rag add`, the web page's uploads).

        Each file is read first; one that cannot be used is listed in `rejected` with the reason, and the others
        are still added. A taken name gets a number unless `overwrite`. If the update fails, nothing is added.
        """
        check_folders(self.settings, corpus_needed=False)
        return add_files(
            self.settings.corpus,
            files,
            max_bytes=max_bytes or self.settings.max_file_bytes,
            indexed=self._indexed_hashes,
            overwrite=overwrite,
            update=lambda: self.update(progress=progress),
            read=self.read_article,
        )

    def read_article(self, article: ArticleFile, data: bytes) -> Document | CorpusError:
        """One article read as the indexer reads it (in a worker, within the limits); a CorpusError says why not."""
        try:
            return read_isolated(article, data, self.settings)
        except CorpusError as exc:
            return exc

    def _indexed_hashes(self) -> dict[str, str]:
        """Content hash -> source of every indexed article: adding a second copy of one is refused."""
        if not self.settings.corpus.is_dir():
            return {}
        try:
            documents = self.store().manifest.documents
        except CorpusError:  # no articles yet
            return {}
        return {d["hash"]: d["source"] for d in documents}

    # -- ask ---------------------------------------------------------------

    def ask(
        self, question: str, k: int | None = None, history: Sequence[str] = (), within: Sequence[str] = ()
    ) -> Answer:
        """The passages that best answer `question`, with citations.

        `history` holds earlier questions of the same conversation, most
        recent last; they help a follow-up such as "when did he start?".
        `within`: path globs of the articles to answer from (`["reports/*", "manual.pdf"]`); all when empty.
        A selection that names no article is refused (InputError).
        """
        question = clean_question(question)
        k = k or self.settings.k
        store = whole = self.store()
        if within:
            store = scoped(store, within)
        query = Query.read(question, self.question_vector(question), store.idf)
        context = follow_up_context(query, history)
        previous = self._previous_answer(history, within) if context else None
        read_as = question  # what the reader reads: a follow-up's "she" as the person the answer before named
        if context:
            first = previous.results[0] if previous else None
            context = follow_up_context(query, history, first.highlight if first else "")
            store = self._same_article(store, question, first.citation.source if first else None)
            if previous and previous.phrase:
                read_as = with_referent(question, previous.question, previous.phrase.text) or question
        elif not within:
            article = self._same_article(store, question, titled(question, self._titles(store)))
            if isinstance(article, Within):  # named by its title, whose words then tell no passage from another
                store = article
                title = set(tokenize(str(article.documents[0].get("title") or "")))
                terms = [t for t in query.terms if t not in title]
                if terms:  # a question that is the title alone asks of the article as a whole
                    query = replace(query, terms=terms, weights={t: w for t, w in query.weights.items() if t in terms})
        depth = max(CANDIDATES, 4 * k)  # as for k passages: the spare ones do not change the first k
        wanted = max(k + SPARE, READ_DEPTH)
        if context:
            # The passage should be about what the conversation is about; its best sentence should answer the question.
            reading = replace(Query.read(context, self.question_vector(context), store.idf), wanted=query.wanted)
            readings = [(reading, query.vector), (query, None)]
            hits = search_any(store, readings, wanted, candidates_per_retriever=depth)
        else:
            hits = search(store, query, wanted, candidates_per_retriever=depth)
        # A follow-up's own words are few ("when did he start?"): read it, but keep the conversation's order.
        hits, found = self._read(read_as, store, hits, reorder=not context)
        if context and hits and asks_about_the_article(question):
            hits, found = self._title_page_first(read_as, store, hits, found, query.wanted)
        # A follow-up to a question the articles answered stays on their subject, though its own words are few.
        missing, closest = self._unmentioned(question, whole, store, hits)
        return answer_from(
            store,
            question,
            query,
            hits,
            query.vector,
            previous is not None,
            found,
            k=k,
            unmentioned=missing,
            unmentioned_in=closest,
        )

    def _unmentioned(
        self, question: str, whole: ReadableStore, store: ReadableStore, hits: list[Hit]
    ) -> tuple[list[str], str | None]:
        """The names `question` asks about that no article mentions (and None); else the versions and numbers it
        names that the article of the first hit never mentions, and that article (they are asked of one)."""
        named = self._named_articles(whole)
        missing = unmentioned(question, lambda term: whole.mentions(term) or term in named)
        missing += unwritten(
            question,
            lambda term: bool(whole.keyword_search([term], 1)[0]),
            lambda terms: map(whole.text, whole.keyword_search(terms, PHRASE_PASSAGES)[0]),
            named,
        )
        if missing or not hits or not versions(question):  # most questions name none: no article to look up
            return missing, None
        closest = str(store.document(hits[0].passage)["source"])
        article = within_source(store, closest)
        absent = unmentioned(question, _mentioned_in(article), versions_only=True) if article else []
        return absent, closest if absent else None

    def _read(
        self, question: str, store: ReadableStore, hits: list[Hit], reorder: bool = True
    ) -> tuple[list[Hit], list[Reading | None]]:
        """The leading hits read for the answer span, and re-ordered by the reading model; the rest unread.

        READ_FIRST passages are read; when the reader finds no sure answer in them, the rest of READ_DEPTH too.
        """
        if self.reader is None or not hits:
            return hits, [None] * len(hits)
        read = hits[:READ_FIRST]
        found = self.reader.read(question, [store.text(h.passage) for h in read])
        if read_on([r.score for r in found]):
            more = hits[READ_FIRST:READ_DEPTH]
            found += self.reader.read(question, [store.text(h.passage) for h in more])
            read += more
        order = (
            load_ranker().reading_order([r.score for r in found], [h.score for h in read])
            if reorder
            else list(range(len(read)))
        )
        rest = hits[len(read) :]
        return [read[i] for i in order] + rest, [found[i] for i in order] + [None] * len(rest)

    def _title_page_first(
        self,
        question: str,
        store: ReadableStore,
        hits: list[Hit],
        found: list[Reading | None],
        wanted: re.Pattern | None,
    ) -> tuple[list[Hit], list[Reading | None]]:
        """A follow-up asking who wrote the article it is about, or when it came out, is answered by its title
        page or by-line. Of its first OPENING passages, one with the label asked about ("Editors:") comes first,
        with that label's value as its answer; else the best read comes first when the reader's answer in it is
        of the kind asked for (a name, a date) or the reader prefers it, second otherwise."""
        if self.reader is None or not isinstance(store, Within) or len(store.documents) != 1:
            return hits, found
        ids = store.opening(store.documents[0], OPENING)
        texts = [store.text(i) for i in ids]
        readings = self.reader.read(question, texts)
        labels = [labelled(question, text) for text in texts]
        kind = [
            wanted is not None and bool(wanted.search(t[r.start : r.end])) for t, r in zip(texts, readings, strict=True)
        ]
        best = max(range(len(ids)), key=lambda j: (labels[j] is not None, kind[j], readings[j].score), default=None)
        if best is None:
            return hits, found
        passage, reading, label = ids[best], readings[best], labels[best]
        if label is not None:  # the title page says it under its label
            reading = Reading(label[0], label[1], reading.score)
        if passage == hits[0].passage:
            return hits, [reading, *found[1:]] if label is not None else found
        hit = next((h for h in hits if h.passage == passage), None) or Hit(passage, hits[0].score, None, None, 0.0, 0.0)
        kept = [(h, f) for h, f in zip(hits, found, strict=True) if h.passage != passage]
        first = found[0].score if found[0] is not None else float("-inf")
        at = 0 if label is not None or kind[best] or reading.score > first else 1
        kept.insert(at, (hit, reading))
        return [h for h, _ in kept], [f for _, f in kept]

    def _named_articles(self, store: ReadableStore) -> frozenset[str]:
        """The terms of `store`'s article titles, file names and authors (names.article_terms)."""
        return self._about_articles(store)[1]

    def _titles(self, store: ReadableStore) -> dict[str, dict[str, list[str]]]:
        """The titles that may name `store`'s articles in a question (names.article_titles)."""
        return self._about_articles(store)[2]

    def _about_articles(self, store: ReadableStore) -> tuple[ReadableStore, frozenset[str], dict]:
        """`store` with its articles' name terms and titles, read from its manifest once a store."""
        if self._articles is None or self._articles[0] is not store:
            documents = store.manifest.documents
            self._articles = (store, article_terms(documents), article_titles(documents))
        return self._articles

    def chosen(self, within: Sequence[str]) -> list[str]:
        """The articles (sources) that `within` names, all when it is empty; a selection naming none is refused."""
        store = self.store()
        if not within:
            return [str(d["source"]) for d in store.manifest.documents]
        return scoped(store, within).sources

    def _previous_answer(self, history: Sequence[str], within: Sequence[str] = ()) -> Answer | None:
        """The answer to the previous question, if it was answered: its first passage's sentence, article and
        phrase say what "he" or "it" refers to, and where.

        The previous question is asked again, with at most FOLLOW_UP_DEPTH questions before it, so a
        follow-up costs a few more model calls, not one per turn of the conversation.
        """
        earlier = [h for h in history if isinstance(h, str) and h.strip()][-FOLLOW_UP_DEPTH - 1 :]
        if not earlier:
            return None
        try:
            previous = self.ask(earlier[-1], k=1, history=earlier[:-1], within=within)
        except InputError:
            return None
        return previous if previous.answered and previous.results else None

    @staticmethod
    def _same_article(store: ReadableStore, question: str, source: str | None) -> ReadableStore:
        """A follow-up is answered from the previous answer's article ("When was it published?" asks about
        that one), and a question naming an article by its title from that one ("Where was the author of 'My
        Decade in Review' born?"), unless it names something the article never mentions ("And in Python?"):
        then from all."""
        article = within_source(store, source) if source else None
        if article is None:
            return store
        if unmentioned(question, _mentioned_in(article)):
            return store
        return article


def _mentioned_in(article: Within) -> Callable[[str], bool]:
    """Whether a term is in the one article `article` offers: in its text, title, file name or author."""
    named = article_terms(article.documents)
    return lambda term: term in named or bool(article.keyword_search([term], 1)[0])


def read_on(first: Sequence[float]) -> bool:
    """Whether the passages after the first READ_FIRST are read too: none of those answers surely."""
    return max(first, default=float("-inf")) < SURE


def check_folders(settings: Settings, corpus_needed: bool = True) -> None:
    """Refuse a missing corpus folder, or an index path that is a file, before anything is loaded or written."""
    if corpus_needed and not settings.corpus.is_dir():
        scan(settings.corpus)  # raises, saying what is wrong and what to do
    if settings.index.exists() and not settings.index.is_dir():
        raise IndexStateError(f"{settings.index} is a file, not an index folder", "pass a folder with --index DIR.")
