"""Hybrid search with the fake embedder: identifiers, de-duplication, diversity, follow-ups, sentence vectors."""

from __future__ import annotations

import numpy as np
import pytest

from rag.answer.question import Query, follow_up_context
from rag.answer.results import best_sentence
from rag.answer.signals import PassageView
from rag.engine import Engine
from rag.index.faiss.reader import Store
from rag.index.keyword import tokenize
from rag.index.passage_vectors import split_sentences
from rag.ingest.chunking import sentence_spans

from .conftest import FakeEmbedder


@pytest.mark.parametrize(
    "text, term",
    [
        ("Rust lands in Linux 6.1 this winter.", "6.1"),
        ("Patched in CVE-2021-1234 last spring.", "cve-2021-1234"),
        ("The part number is PPR-9087, not PPR-9088.", "ppr-9087"),
        ("Version 2.0.1-rc3 is out.", "2.0.1-rc3"),
    ],
)
def test_identifiers_survive_tokenisation_whole_and_in_parts(text, term):
    terms = tokenize(text)
    assert term in terms
    assert all(part in terms for part in term.replace("-", ".").split(".") if part)


@pytest.mark.both_stores
@pytest.mark.parametrize("question, needle", [("What is PPR-9087?", "PPR-9087"), ("cve-2021-1234", "CVE-2021-1234")])
def test_identifier_questions_find_their_passage(engine, corpus, question, needle):
    (corpus / "parts.txt").write_text(
        "Parts list\n\nThe flange PPR-9087 replaces PPR-9088 on older pumps.\n\n"
        "Security note\n\nThe pump firmware was patched for CVE-2021-1234 in March; CVE-2021-1243 is unrelated."
    )
    engine.update()
    top = engine.ask(question, k=3).results[0]
    assert needle in top.text and needle in top.highlight


@pytest.mark.both_stores
def test_no_passage_is_shown_twice_and_overlaps_are_dropped(engine):
    engine.update()
    store = engine.store()
    results = engine.ask("Rust Linux kernel", k=10).results
    spans = [(r.citation.source, r.citation.start, r.citation.end) for r in results]
    for i, (src, s, e) in enumerate(spans):
        for src2, s2, e2 in spans[i + 1 :]:
            assert src != src2 or e <= s2 or e2 <= s, "overlapping passages shown"
    assert len({" ".join(r.text.split()) for r in results}) == len(results) <= len(store)


def test_passages_that_score_alike_are_ranked_by_article_name_whichever_was_indexed_first(engine, corpus):
    note = "Tapir notes\n\nThe lowland tapir browses at night along the riverbanks of the Amazon."
    (corpus / "zoo-b.md").write_text(note)
    engine.update()
    (corpus / "zoo-a.md").write_text(note)
    engine.update()
    top = engine.ask("Where does the lowland tapir browse at night?", k=3).results[0]
    assert top.citation.source == "zoo-a.md"


def test_sentence_vectors_line_up_with_passages_after_an_incremental_update(engine, corpus):
    engine.update()
    (corpus / "new.txt").write_text("New article\n\nFirst sentence here. Second one follows. A third ends it.")
    engine.update()
    store = Store.load(engine.settings.index)
    offsets = store.sentence_offsets()
    assert len(offsets) == len(store) + 1 and offsets[-1] == len(store.sentence_vectors())
    assert np.all(np.diff(offsets) >= 1)
    for i in range(len(store)):  # kept and new passages alike: one row per sentence, in order
        text = store.text(i)
        sentences, counts, spans = split_sentences([text])
        assert counts[0] in (0, len(sentence_spans(text)))
        expected = engine.embedder.embed(sentences if counts[0] else [text])
        stored = store.sentence_rows(slice(offsets[i], offsets[i + 1]))
        assert stored.shape == expected.shape and np.allclose(stored, expected, atol=0.5 / 127)
        assert store.sentence_spans()[offsets[i] : offsets[i + 1]].tolist() == spans.tolist()


def _query(question: str) -> Query:
    return Query.read(question, np.zeros(4, dtype=np.float32), lambda terms: dict.fromkeys(terms, 1.0))


def _view(text: str) -> PassageView:
    spans = np.array([(s, e) for s, e, _ in sentence_spans(text)])
    return PassageView(text, "", spans, np.zeros(len(spans), dtype=np.float32), 0.0, 0.0, None, None)


def test_highlight_is_the_sentence_that_answers_not_the_first():
    text = "Rust for Linux began in 2019. Miguel Ojeda led it. The first pull request came on Sept. 20, 2021."
    s, e = best_sentence(_query("When was the first pull request sent?"), _view(text))
    assert text[s:e] == "The first pull request came on Sept. 20, 2021."


def test_sentence_rows_and_block_are_the_int8_rows_scaled(engine):
    engine.update()
    store = engine.store()
    ids = np.array([2, 0, 2, len(store) - 1])
    block, lengths = store.sentence_block(ids)
    raw = store.sentence_vectors()
    expected = np.concatenate([raw[store.sentence_offsets()[i] : store.sentence_offsets()[i + 1]] for i in ids])
    assert block.dtype == np.float32 and lengths.sum() == len(block)
    assert block.tobytes() == (expected.astype(np.float32) * (1.0 / 127)).tobytes()
    first = store.sentence_rows(slice(0, 3))
    assert first.tobytes() == (raw[:3].astype(np.float32) * (1.0 / 127)).tobytes()


@pytest.mark.parametrize(
    "question, leans",
    [
        ("When did he send his first pull request?", True),
        ("Why?", True),
        ("What did it add?", True),
        ("Which AWS container operating system uses Rust?", False),
    ],
)
def test_follow_up_context_only_when_the_question_leans_on_the_last_one(question, leans):
    query = _query(question)
    context = follow_up_context(query, ["Who led the Rust for Linux project?"])
    assert (context is not None) == leans
    assert follow_up_context(query, []) is None


def test_a_follow_up_saying_he_or_she_is_read_with_the_name_a_who_question_was_answered_with():
    from rag.answer.question import with_referent

    assert with_referent("Where was she born?", "Who ran the lab?", "Miss Nora Vance") == "Where was Nora Vance born?"
    assert (
        with_referent("What was his first job?", "And who wrote it?", "Dan Abramov")
        == "What was Dan Abramov's first job?"
    )
    assert (
        with_referent("Who did she marry?", "Who ran it?", "Ludwig van Beethoven")
        == "Who did Ludwig van Beethoven marry?"
    )
    assert with_referent("When did it ship?", "Who wrote it?", "Dan Abramov") is None  # no "he" or "she"
    assert with_referent("When was he defeated?", "Which fort did he attack?", "Fort Duquesne") is None  # not who
    assert with_referent("Where was he born?", "Who won?", "the 1961 team") is None  # not a name


@pytest.mark.parametrize(
    ("question", "about_the_article"),
    [
        ("Who edited that specification?", True),
        ("Who wrote that post?", True),
        ("Who is the author of this book?", True),
        ("When was it first published?", True),
        ("And what date does this version carry?", True),
        ("When was the paper published?", True),
        ("Who wrote the letter?", False),  # a letter in the story, not the article
        ("When was the treaty signed?", False),
        ("Who edited the film that won?", False),
    ],
)
def test_a_follow_up_about_the_article_itself_is_told_from_one_about_its_text(question, about_the_article):
    from rag.answer.question import asks_about_the_article

    assert asks_about_the_article(question) == about_the_article


def test_a_title_page_label_gives_the_answer_to_a_question_about_the_article():
    from rag.answer.title_page import labelled

    page = "Spec 3.0\n\nChairs:\n\nNora Vance (nv@x.org), Acme\n\nEditors:\n\nAda Brandt (ab@x.org), Acme\n"
    page += "Illustrator: C. Fleming Williams\n\nRelease date: March 4, 2024 [EBook #1]"

    def value(question):
        span = labelled(question, page)
        return page[span[0] : span[1]] if span else None

    assert value("Who edited that specification?") == "Ada Brandt"  # not the chair above
    assert value("Who illustrated it?") == "C. Fleming Williams"
    assert value("When was it published?") == "March 4, 2024"
    assert value("Who wrote it?") is None  # no "Author:" label: the reader decides


def test_a_follow_up_starting_with_and_still_says_what_kind_of_answer_it_wants():
    from rag.answer.question import wanted_answer

    pattern = wanted_answer("And what date does this version carry?")
    assert pattern is not None and pattern.search("12 March 2024")
    assert wanted_answer("And who did she marry?") is wanted_answer("Who did she marry?")


def test_follow_up_context_reads_the_previous_answer_between_the_questions():
    query = _query("Who paid for his work?")
    context = follow_up_context(query, ["Who led it?"], "Miguel Ojeda led these efforts.")
    assert context == "Who led it? Miguel Ojeda led these efforts. Who paid for his work?"


@pytest.mark.both_stores
def test_ask_with_history_keeps_the_public_shape(engine):
    engine.update()
    answer = engine.ask("When did he send it?", k=2, history=["Who submitted the first pull request?"])
    assert answer.question == "When did he send it?" and len(answer.results) == 2
    assert set(answer.to_json(explain=True)["passages"][0]["explain"]) >= {"dense_rank", "keyword_rank", "fused_score"}


def test_a_follow_up_reuses_the_vector_of_the_question_before_it(settings, fake_embedder):
    first, follow_up = "Who submitted the first pull request?", "When did he send it?"
    fresh = Engine(settings, embedder=FakeEmbedder())
    fresh.update()
    expected = fresh.ask(follow_up, k=3, history=[first]).to_json(explain=True)
    engine = Engine(settings, embedder=fake_embedder)
    engine.ask(first, k=3)
    before = fake_embedder.embedded
    assert engine.ask(follow_up, k=3, history=[first]).to_json(explain=True) == expected
    assert fake_embedder.embedded - before == 2  # the follow-up and its reading in context; not the first again
    assert not engine.question_vector(first).flags.writeable  # shared between asks, so nobody may change it
