"""Retrieval on the bundled corpus with the real model."""

import json

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.evaluate.questions import load_questions, run_eval

from .conftest import PASSAGE_KEYS, ROOT

pytestmark = pytest.mark.slow

QUESTIONS = ROOT / "eval" / "questions.jsonl"


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Who led the Rust for Linux effort?", "Miguel Ojeda"),
        ("Which AWS container OS has Rust in it?", "Bottlerocket"),
        ("When was the first Rust for Linux pull request submitted?", "Sept. 20, 2021"),
        ("Which kernel release was Rust expected to land in?", "6.1"),
    ],
)
@pytest.mark.both_stores
def test_answer_bearing_passage_is_in_the_top_3(real_engine, question, expected):
    answer = real_engine.ask(question, k=3)
    assert any(expected in r.text for r in answer.results), [r.text[:80] for r in answer.results]


def test_own_question_set_is_large_enough():
    conversations = load_questions(QUESTIONS)
    turns = [t for c in conversations for t in c]
    assert len(turns) >= 60
    assert sum(1 for t in turns if not t.answerable) >= 10
    assert sum(1 for c in conversations if len(c) > 1) >= 5


@pytest.mark.both_stores
def test_own_question_set_quality(real_engine):
    """The levels measured when the fusion and thresholds were chosen (docs/quality.md, "Figures")."""
    r = run_eval(real_engine, load_questions(QUESTIONS))
    assert r.hit_at_1 >= 0.82 and r.hit_at_5 >= 0.94 and r.mrr >= 0.87, r.to_json()
    assert r.highlight_accuracy >= 0.85, r.to_json()
    # at most 3 % of the answerable questions refused (2 of 67), the bound the abstention is held to
    assert r.false_refusals <= 2 and r.abstention_recall >= 0.7, r.to_json()


@pytest.mark.both_stores
def test_follow_up_finds_the_date_of_his_first_pull_request(real_engine):
    first = real_engine.ask("Who led the Rust for Linux project?", k=3)
    assert "Miguel Ojeda" in first.results[0].text
    answer = real_engine.ask("When did he send his first pull request?", k=3, history=[first.question])
    assert answer.answered
    assert "Sept. 20, 2021" in answer.results[0].highlight


@pytest.mark.both_stores
def test_a_follow_up_is_answered_from_the_article_of_the_answer_before_it(real_engine):
    first = real_engine.ask("Who led the Rust for Linux project?")
    source = first.results[0].citation.source
    answer = real_engine.ask("When did he start?", history=[first.question])
    assert {r.citation.source for r in answer.results} == {source}
    # unless it names someone that article never mentions: then every article is searched
    other = real_engine.ask("And what did Nelson Elhage think of it?", history=[first.question])
    assert "torvalds-on-rust-in-linux.txt" in {r.citation.source for r in other.results}


LAB = """The weather lab at the institute bought its first computer in 1958, and a series of young \
mathematicians were hired one after another to feed it the equations. In the paper's acknowledgments, the \
director wrote: "Special thanks are due to Miss Nora Vance for handling the many numerical computations."

Nora Vance was born in Bristol in 1934 and came to the lab in 1961. Her colleague there, Ruth Calder, was born \
in Leeds in 1931.
"""


def test_a_follow_up_saying_she_is_read_with_the_name_the_previous_answer_gave(tmp_path, real_embedder):
    from rag.config import Settings
    from rag.engine import Engine

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "lab-history.txt").write_text(LAB, encoding="utf-8")
    engine = Engine(Settings(corpus=tmp_path / "corpus", index=tmp_path / "index"), embedder=real_embedder)
    engine.update()
    first = engine.ask("Who handled the numerical computations that the director thanked?", k=3)
    assert first.phrase is not None and "Nora Vance" in first.phrase.text
    answer = engine.ask("Where was she born?", k=3, history=[first.question])
    assert answer.phrase is not None and answer.phrase.text == "Bristol"  # "she" read alone: Ruth Calder's Leeds


COURTS = """Freedonia's courts

The Grand Tribunal of Freedonia is the highest court able to interpret the republic's law. Its nine judges \
sit in the capital and hear appeals from the provincial courts, which try most civil and criminal cases.
"""


def test_a_question_asking_the_opposite_of_what_the_article_says_is_not_answered(tmp_path, real_embedder):
    from rag.config import Settings
    from rag.engine import Engine

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "courts.txt").write_text(COURTS, encoding="utf-8")
    engine = Engine(Settings(corpus=tmp_path / "corpus", index=tmp_path / "index"), embedder=real_embedder)
    engine.update()
    assert engine.ask("What is the highest court in Freedonia?").answered
    answer = engine.ask("What is the lowest court in Freedonia?")
    assert not answer.answered and answer.results  # the closest passages are still shown
    assert answer.to_json()["opposite"] == {"asked": "lowest court", "said": "highest court"}
    assert not any(r.answers for r in answer.results)


NEWS = """Quillpack NEWS - user visible changes

version 3.2 - Ada Brandt, 2024-06-02

* Faster listing of large archives.

* Fix a crash when extracting sparse files.
Bug introduced with the addition of sparse file support in 2.9.

version 3.1 - Ada Brandt, 2024-01-15

* Support for brotli compression

New option '--brotli' makes quillpack compress with brotli.

* Archives can now be signed with the new '--sign' option.

version 3.0 - Ada Brandt, 2023-09-30

* Drop support for the old archive format.
"""


def test_a_question_asking_which_release_is_answered_by_the_release_heading(tmp_path, real_embedder):
    from rag.config import Settings
    from rag.engine import Engine

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "NEWS.txt").write_text(NEWS, encoding="utf-8")
    engine = Engine(Settings(corpus=tmp_path / "corpus", index=tmp_path / "index"), embedder=real_embedder)
    engine.update()
    answer = engine.ask("Which quillpack release added brotli compression?")
    assert answer.phrase is not None and answer.phrase.text == "3.1"  # the heading's, though no line names it
    assert NEWS[answer.phrase.start : answer.phrase.end] == "3.1"
    assert "brotli" in answer.results[0].highlight
    # a line that names its own release answers for itself
    answer = engine.ask("Which release introduced sparse file support?")
    assert answer.phrase is not None and answer.phrase.text == "2.9"


SPEC = """Quillpack Archive Format Version 3.0

Committee Specification

12 March 2024

Editors:

Ada Brandt, Quillworks

Tobias Lind, Quillworks

1 Introduction

This specification defines the Quillpack archive format. An archive made to this specification holds files, \
their names and their times. A reader of this specification should know how files are stored on a disk.

2 File names

A Quillpack archive file should have the extension .qpk. A tool that writes an archive under another name \
should warn its user, since other tools of this specification look for that extension.

3 Members

Each member of an archive starts with a header of 512 bytes. The header holds the member's name, its size and \
the time it was last changed. The data of the member follows its header, padded to a multiple of 512 bytes.

4 Compression

An archive may be compressed as a whole. This specification names three methods: none, deflate and brotli. \
A tool that reads archives made to this specification must read all three.

5 Signatures

An archive may end with a signature over all of its members. The signature names the key that made it, and \
this specification leaves the choice of algorithm to the tools that use it.

6 Editing archives

A tool that edited an archive made to this specification writes a new header for each member it changed. \
Members edited in place keep their place in the archive; this specification does not say who may edit them.

7 Dates

Every date this specification carries in a header is written as year, month and day. A version of a tool \
that wrote an archive records its own version and the date it wrote the archive.
"""


@pytest.mark.both_stores
def test_a_follow_up_asking_who_edited_the_article_is_answered_from_its_title_page(settings, real_embedder):
    from rag.engine import Engine

    (settings.corpus / "quillpack-spec.txt").write_text(SPEC, encoding="utf-8")
    engine = Engine(settings, embedder=real_embedder)
    engine.update()
    history = ["What file extension should a Quillpack archive have?"]
    assert engine.ask(history[0]).results[0].citation.source == "quillpack-spec.txt"
    answer = engine.ask("Who edited that specification?", history=history)
    first = answer.results[0]
    assert first.citation.source == "quillpack-spec.txt" and "Ada Brandt" in first.text  # the title page
    assert answer.phrase is not None and answer.phrase.text == "Ada Brandt"  # the value of its "Editors:" label
    assert SPEC[answer.phrase.article_start : answer.phrase.article_end] == "Ada Brandt"
    answer = engine.ask("And what date does this version carry?", history=history)
    assert "12 March 2024" in answer.results[0].text


@pytest.mark.both_stores
def test_off_topic_question_is_not_answered(real_engine):
    answer = real_engine.ask("What is the capital city of Australia?")
    assert not answer.answered and answer.results  # closest passages are still shown


def test_chat_reads_turns_from_stdin_and_prints_ask_json(real_engine):
    settings = real_engine.settings
    paths = ["--corpus", str(settings.corpus), "--index", str(settings.index)]
    turns = "Who led the Rust for Linux project?\nWhen did he send his first pull request?\n"
    result = CliRunner().invoke(main, ["chat", *paths, "--json", "-k", "3"], input=turns)
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["question"] for o in objects] == turns.splitlines()
    for o in objects:
        assert set(o) == {
            "question",
            "answered",
            "confidence",
            "margin",
            "unmentioned",
            "unmentioned_in",
            "opposite",
            "answer",
            "passages",
        }
        assert set(o["passages"][0]) == PASSAGE_KEYS
    assert "Sept. 20, 2021" in objects[1]["passages"][0]["highlight"]


def test_chat_human_output_and_explain(real_engine):
    settings = real_engine.settings
    paths = ["--corpus", str(settings.corpus), "--index", str(settings.index)]
    result = CliRunner().invoke(main, ["chat", *paths, "--explain", "-k", "1"], input="Who is Miguel Ojeda?\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("? Who is Miguel Ojeda?\n\n")
    assert out.split("\n")[2].split(":")[0] in {"Answer found", "Likely"}  # the answer first
    assert "\nPassages:\n[1] " in out and "(score " in out and out.index("Passages:") < out.index("Sources:")
    assert "keyword_rank=" in result.stdout and "dense_rank=" in result.stdout and "fused_score=" in result.stdout


def test_eval_command_prints_the_metrics(real_engine):
    settings = real_engine.settings
    paths = ["--corpus", str(settings.corpus), "--index", str(settings.index)]
    result = CliRunner().invoke(main, ["eval", *paths, str(QUESTIONS), "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    for key in ["hit_at_1", "hit_at_3", "hit_at_5", "mrr", "highlight_accuracy", "abstention_precision"]:
        assert 0 <= metrics[key] <= 1
    assert metrics["questions"] >= 60
