"""Asking within chosen articles, on the FAISS folder (tests/test_milvus.py runs these again on Milvus)."""

from __future__ import annotations

import random

import pytest

from rag.answer import scope
from rag.answer.names import article_titles, titled
from rag.answer.scope import matching_documents
from rag.errors import InputError

FIRST = "Who led the Rust for Linux project?"
TORVALDS = "torvalds-on-rust-in-linux.txt"


@pytest.mark.parametrize(
    "patterns, chosen",
    [
        (["notes"], ["notes/a.md", "notes/old/b.md"]),
        (["notes/"], ["notes/a.md", "notes/old/b.md"]),
        (["notes/old"], ["notes/old/b.md"]),
        (["b.md"], ["notes/old/b.md"]),
        (["*.md"], ["notes/a.md", "notes/old/b.md"]),
        (["top.txt", "notes/a.md"], ["top.txt", "notes/a.md"]),
        (["./top.txt"], ["top.txt"]),
        (["note"], []),
    ],
)
def test_patterns_name_articles_by_path_file_name_or_folder(patterns, chosen):
    docs = [{"source": s} for s in ["top.txt", "notes/a.md", "notes/old/b.md"]]
    assert [docs[i]["source"] for i in matching_documents(docs, patterns)] == chosen


@pytest.mark.both_stores
def test_a_question_asked_within_one_article_only_cites_it(engine):
    engine.update()
    everywhere = engine.ask(FIRST, k=5)
    assert {r.citation.source for r in everywhere.results} != {TORVALDS}
    answer = engine.ask(FIRST, k=5, within=["torvalds*"])
    assert answer.results and {r.citation.source for r in answer.results} == {TORVALDS}
    assert all(c.source == TORVALDS for r in answer.results for c in r.also_in)


@pytest.mark.both_stores
@pytest.mark.parametrize("exact", [True, False])
def test_a_small_selection_still_gets_k_passages(engine, corpus, monkeypatch, exact):
    """A chosen article far down the whole corpus's ranking still fills the answer, searched exactly
    (a small selection) or through the index, searched deeper until enough of its passages come."""
    if not exact:
        monkeypatch.setattr(scope, "EXACT_PASSAGES", 0)
    (corpus / "kept").mkdir()
    words = "flour water salt yeast rye spelt crust crumb oven dawn proof knead starter levain tin dough".split()
    lines = [" ".join(random.Random(i).choices(words, k=14)).capitalize() + "." for i in range(40)]
    (corpus / "kept" / "bread.md").write_text("# Bread\n\n" + "\n\n".join(lines))
    for i in range(30):
        (corpus / f"rust-{i}.md").write_text(f"# Rust {i}\n\nRust for Linux was led by Miguel Ojeda, note {i}.")
    engine.update()
    answer = engine.ask(FIRST, k=4, within=["kept"])
    assert len(answer.results) == 4 and {r.citation.source for r in answer.results} == {"kept/bread.md"}


@pytest.mark.both_stores
def test_a_follow_up_stays_within_the_chosen_articles(engine):
    engine.update()
    answer = engine.ask("When did he send his first pull request?", k=3, history=[FIRST], within=[TORVALDS])
    assert answer.results and {r.citation.source for r in answer.results} == {TORVALDS}


@pytest.mark.both_stores
def test_a_selection_naming_no_article_says_so(engine):
    engine.update()
    with pytest.raises(InputError, match="no article matches “reports/\\*”; choose articles by their path"):
        engine.ask(FIRST, within=["reports/*"])
    assert engine.chosen([]) == sorted(engine.chosen([])) and len(engine.chosen([])) == 2
    assert engine.chosen(["torvalds*"]) == [TORVALDS]


@pytest.mark.parametrize(
    "question, source",
    [
        ("Where was the author of 'My Decade in Review' born?", "decade.md"),
        ("Where was the author of my decade in review born?", "decade.md"),  # case and quotes aside
        ("Who dies in Romeo and Juliet?", "romeo.epub"),
        ("What do the notes on Romeo and Juliet say?", "notes.md"),  # the longer title that holds the other
        ("Is Romeo and Juliet longer than My Decade in Review?", None),  # two articles named: neither
        ("What happens in chapter I?", None),  # a title of short words only
        ("What did I review this decade?", None),  # the title's words, not the title
    ],
)
def test_a_question_names_an_article_by_its_whole_title(question, source):
    docs = [
        {"source": "decade.md", "title": "My Decade in Review"},
        {"source": "romeo.epub", "title": "Romeo and Juliet"},
        {"source": "notes.md", "title": "Notes on Romeo and Juliet"},
        {"source": "war.txt", "title": "CHAPTER I"},
    ]
    assert titled(question, article_titles(docs)) == source


@pytest.mark.both_stores
def test_a_question_naming_an_article_by_its_title_is_answered_from_it(engine, corpus):
    """The title's words are in the question but tell nothing of which of the article's passages answers."""
    (corpus / "decade.md").write_text(
        "---\ntitle: My Decade in Review\n---\n\n"
        "## Looking back\n\nThis decade in review: a decade of work, a decade of review, looking back on a decade.\n\n"
        "## 2010\n\nI was born in Russia and finished school there in 2009, then moved to London.\n"
    )
    (corpus / "poets.md").write_text(
        "# Poets\n\nThe author of many books of poems was born in Lisbon, where the author lived and wrote.\n"
    )
    engine.update()
    answer = engine.ask("Where was the author of 'My Decade in Review' born?", k=3)
    assert {r.citation.source for r in answer.results} == {"decade.md"}
    assert "born in Russia" in answer.results[0].text
