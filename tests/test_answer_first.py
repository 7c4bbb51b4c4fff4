"""The answer first: confidence in words, which passages are marked, repeats folded, the CLI's order."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from rag.answer.results import FOUND, LIKELY, NOT_FOUND, Answer, Citation, Phrase, Result, fold_repeats
from rag.cli import format_answer, main
from rag.engine import Engine

from .conftest import FakeEmbedder

QUESTIONS = [
    "Who led the Rust for Linux project?",
    "Which AWS container OS has Rust in it?",
    "How do I bake sourdough bread?",
    "What does Greg Kroah-Hartman think of Rust drivers?",
]


def make(rank: int, text: str, highlight: str, source: str = "a.txt", title: str = "A", answers: bool = True):
    start = text.index(highlight)
    citation = Citation(title, source, None, 100 * rank, 100 * rank + len(text), lines=(rank, rank))
    return Result(rank, text, highlight, start, start + len(highlight), 1.0 / rank, citation, answers=answers)


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_confidence_agrees_with_the_answered_decision(engine, question):
    engine.update()
    answer = engine.ask(question, k=5)
    assert answer.answered == (answer.margin is not None and answer.margin >= 0)
    assert answer.confidence == (NOT_FOUND if not answer.answered else FOUND if answer.margin >= 1.3863 else LIKELY)
    out = answer.to_json()
    assert out["confidence"] == answer.confidence and "margin" in out
    assert answer.results[0].answers is answer.answered
    if not answer.answered:
        assert not any(r.answers for r in answer.results)  # nothing is marked when nothing answers


def test_a_quote_repeated_in_another_article_is_shown_once_with_also_in():
    quote = "It will all come down to how well the interaction between the kernel core structures can be mapped."
    curly = quote.replace("It will", "“It will") + "”"
    results = [
        make(1, f"Kroah-Hartman said: {curly} Then more text follows.", curly, "one.txt", "One"),
        make(2, "Something else entirely, about bread and ovens at dawn.", "Something else entirely"),
        make(3, f'From where he sits, "{quote}" And another remark.', f'"{quote}"', "two.txt", "Two"),
        make(4, "He said no. Then the meeting ended early that day.", "He said no."),
        make(5, "Later he said no. The weather turned cold and rain fell on the town square.", "Later he said no."),
    ]
    shown = fold_repeats(results)
    assert [r.citation.source for r in shown] == ["one.txt", "a.txt", "a.txt", "a.txt"]
    assert [r.rank for r in shown] == [1, 2, 3, 4]
    assert [c.source for c in shown[0].also_in] == ["two.txt"] and not shown[1].also_in


def test_an_article_saved_three_times_is_shown_once_with_also_in_the_copies(engine, settings):
    text = (settings.corpus / "rust-in-the-linux-kernel.txt").read_text()
    (settings.corpus / "rust-copy.txt").write_text(text)
    (settings.corpus / "rust (1).txt").write_text(text)
    engine.update()
    answer = engine.ask("Who led the Rust for Linux project?", k=8)
    first = answer.results[0]
    sources = sorted([first.citation.source, *(c.source for c in first.also_in)])
    assert sources == ["rust (1).txt", "rust-copy.txt", "rust-in-the-linux-kernel.txt"]
    assert len(answer.results) == 8  # the copies folded into their original, the passages shown are eight all the same
    assert all(c.source != r.citation.source for r in answer.results for c in r.also_in)


def answered_with_phrase() -> Answer:
    r1 = make(1, "Rust came to Linux in 2022. It was a long road.", "Rust came to Linux in 2022.")
    r2 = make(2, "At first it was a hobby. Miguel Ojeda led these efforts. He wrote it.", "At first it was a hobby.")
    r3 = make(3, "Nothing to see here. Bread rises.", "Bread rises.", "b.txt", "B", answers=False)
    r3 = replace(r3, also_in=(Citation("C", "c.txt", None, 0, 5, lines=(9, 9)),))
    at = r2.text.index("Miguel Ojeda")
    phrase = Phrase("Miguel Ojeda", 2, at, at + 12, "a.txt", 200 + at, 212 + at, 0.91)
    return Answer("Who led it?", True, [r1, r2, r3], phrase=phrase, margin=2.5)


def test_the_cli_leads_with_the_phrase_its_sentence_and_citation_then_passages_then_sources():
    lines = format_answer(answered_with_phrase()).splitlines()
    assert lines[0] == "Answer found: Miguel Ojeda"
    assert lines[1] == "    »Miguel Ojeda« led these efforts."  # the sentence holding it, the phrase marked
    assert lines[2] == "    [2] A — a.txt, line 2"
    order = [lines.index(x) for x in ("Passages:", "[1] A — a.txt, line 1, characters 100-147", "Sources:")]
    assert order == sorted(order)
    text = "\n".join(lines)
    assert "»Bread rises.«" not in text and "»Rust came to Linux in 2022.«" in text  # only answers are marked
    assert "    also in: C — c.txt, line 9" in text
    assert "  [1, 2] A — a.txt" in text and "  [3] B — b.txt" in text and "  [3] C — c.txt" in text
    assert "score" not in text
    assert "(score 0.500)" in format_answer(answered_with_phrase(), explain=True)


def test_a_phrase_across_a_line_break_is_printed_on_one_line():
    r1 = make(
        1, "The chart measures 7 feet\n    1 inch across. It is old.", "The chart measures 7 feet\n    1 inch across."
    )
    at = r1.text.index("7 feet")
    phrase = Phrase(r1.text[at : at + 17], 1, at, at + 17, "a.txt", 100 + at, 117 + at, 0.9)
    lines = format_answer(Answer("How long is it?", True, [r1], phrase=phrase, margin=2.5)).splitlines()
    assert lines[0] == "Answer found: 7 feet 1 inch"
    assert lines[1] == "    The chart measures »7 feet 1 inch« across."


def test_the_cli_leads_with_the_best_sentence_without_a_phrase_and_says_when_not_answered():
    answer = replace(answered_with_phrase(), phrase=None, margin=0.4)
    lines = format_answer(answer).splitlines()
    assert lines[:2] == ["Likely: Rust came to Linux in 2022.", "    [1] A — a.txt, line 1"]
    results = [replace(r, answers=False) for r in answer.results]
    text = format_answer(replace(answer, answered=False, results=results, margin=-3.0))
    assert text.startswith("Not in these articles: the articles do not seem to answer this.") and "»" not in text


@pytest.fixture
def run(settings):
    def invoke(*args):
        paths = ["--corpus", str(settings.corpus), "--index", str(settings.index)]
        return CliRunner().invoke(main, [args[0], *paths, *args[1:]], obj=lambda s: Engine(s, embedder=FakeEmbedder()))

    return invoke


def test_ask_in_chosen_articles_and_an_empty_selection(run):
    result = run("ask", "--json", "--in", "torvalds*", "Who led the Rust for Linux project?")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert {p["source"] for p in answer["passages"]} == {"torvalds-on-rust-in-linux.txt"}
    assert answer["confidence"] in {FOUND, LIKELY, NOT_FOUND}
    result = run("ask", "--in", "reports/*", "--in", "*.pdf", "Who led it?")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: no article matches “reports/*”, “*.pdf”; choose articles by their path in the corpus, "
        "e.g. “reports/*” or “*.pdf”."
    ]
