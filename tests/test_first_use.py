"""What a new user meets first: a missing or empty corpus, a wrong path, a command given too little."""

from __future__ import annotations

import json
import re
from functools import partial
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.config import Settings
from rag.engine import Engine

from .conftest import ROOT, refused

REFERENCE = ROOT / "docs" / "cli.md"


def documented_keys(output: str) -> set[str]:
    """The JSON keys docs/cli.md lists for `output` (the first cell of a row of its --json table)."""
    for line in REFERENCE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] == output:
            return set(re.findall(r'"(\w+)"', cells[1]))
    raise AssertionError(f"docs/cli.md has no row for {output}")


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if anything loads a model: these mistakes must be caught before that."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr("rag.engine.load_embedder", refuse)


@pytest.fixture
def fake_engine(fake_embedder):
    """For `run(..., engine=fake_engine)`: the commands' engines, with the fake embedder."""
    return partial(Engine, embedder=fake_embedder)


def run(folder: Path, *args: str, input: str | None = None, engine=None):
    paths = ["--corpus", str(folder / "corpus"), "--index", str(folder / "index")]
    return CliRunner().invoke(main, [args[0], *paths, *args[1:]], input=input, obj=engine)


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.mark.parametrize("command", [("ask", "who"), ("chat",), ("eval", "questions.jsonl"), ("index",)])
def test_no_corpus_folder_is_reported_before_anything_is_loaded_or_written(tmp_path, no_model, command):
    (tmp_path / "questions.jsonl").write_text('{"question": "Who?", "answers": ["x"]}\n')
    before = files_under(tmp_path)
    args = [a if a != "questions.jsonl" else str(tmp_path / a) for a in command]
    refused(run(tmp_path, *args, input="who\n"), "does not exist: create it or pass --corpus DIR")
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("command", [("ask", "who"), ("chat",)])
def test_an_empty_corpus_says_how_to_add_articles_and_writes_nothing(tmp_path, no_model, command):
    (tmp_path / "corpus").mkdir()
    stderr = refused(run(tmp_path, *command, input="who\n"), "there are no articles in")
    assert "rag add FILE" in stderr and ".md" in stderr
    assert files_under(tmp_path) == ["corpus"]


def test_a_corpus_whose_files_all_fail_to_read_is_refused_not_answered_empty(tmp_path, fake_engine):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "blank.txt").write_text("   \n")
    stderr = refused(run(tmp_path, "ask", "who", engine=fake_engine), "there are no articles in")
    assert "1 other file(s) could not be used" in stderr


@pytest.mark.parametrize(
    "command",
    [("ask", "who"), ("chat",), ("index",), ("add", "ARTICLE"), ("eval", "QUESTIONS")],
)
def test_an_index_path_that_is_a_file_gets_the_same_message_everywhere(settings, tmp_path, no_model, command):
    index_file = tmp_path / "idxfile"
    index_file.write_text("not an index")
    article = tmp_path / "new.md"
    article.write_text("A new article.")
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "Who?", "answers": ["x"]}\n')
    swap = {"ARTICLE": str(article), "QUESTIONS": str(questions)}
    args = [command[0], "--corpus", str(settings.corpus), "--index", str(index_file)]
    result = CliRunner().invoke(main, [*args, *(swap.get(a, a) for a in command[1:])], input="who\n")
    refused(result, f"{index_file} is a file, not an index folder: pass a folder with --index DIR.")
    assert index_file.read_text() == "not an index" and not (settings.corpus / "new.md").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "nothing to score: give a question FILE"),
        (("q.jsonl", "--beir", "b"), "not both"),
        (("--beir", "nowhere"), "does not exist: --beir takes a BEIR data set folder"),
        (("--beir", "corpus"), "is not a BEIR data set: no corpus.jsonl or queries.jsonl in it"),
        (("--beir", "beir", "--split", "dev"), "has no qrels/dev.tsv (it has test: pass --split test)"),
        (("beir",), "is a BEIR data set folder: score it with rag eval --beir"),
    ],
    ids=["nothing", "both", "missing", "not-beir", "split", "beir-as-file"],
)
def test_eval_says_what_was_wrong_with_what_it_was_given(tmp_path, no_model, monkeypatch, args, message):
    (tmp_path / "corpus").mkdir()
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        (beir / name).write_text("")
    monkeypatch.chdir(tmp_path)
    before = files_under(tmp_path)
    refused(CliRunner().invoke(main, ["eval", *args]), message)
    assert files_under(tmp_path) == before


def test_eval_help_says_what_a_beir_folder_is():
    out = CliRunner().invoke(main, ["eval", "--help"]).output
    assert "corpus.jsonl" in out and "queries.jsonl" in out and "qrels/" in out and "SciFact" in out


def test_add_names_a_missing_file_as_missing(settings, tmp_path, no_model):
    result = CliRunner().invoke(main, ["add", "--corpus", str(settings.corpus), str(tmp_path / "nothere.md")])
    refused(result, "nothere.md: does not exist")


def test_several_quoted_questions_are_answered_in_turn(settings, fake_engine):
    q1, q2 = "Who led the Rust for Linux project?", "Which AWS container OS has Rust in it?"
    result = run(settings.corpus.parent, "ask", "--json", "-k", "1", q1, q2, engine=fake_engine)
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["question"] for a in answers] == [q1, q2]
    human = run(settings.corpus.parent, "ask", "-k", "1", q1, q2, engine=fake_engine).stdout
    assert human.startswith(f"? {q1}\n") and f"\n? {q2}\n" in human


def test_unquoted_words_are_one_question_and_a_mix_is_refused(settings, fake_engine):
    result = run(
        settings.corpus.parent, "ask", "--json", "-k", "1", "Who", "led", "Rust", "for", "Linux?", engine=fake_engine
    )
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["question"] for line in result.stdout.splitlines()] == ["Who led Rust for Linux?"]
    refused(
        run(settings.corpus.parent, "ask", "Who led it?", "Rust", engine=fake_engine),
        "put each question in its own quotes",
    )
    assert "each quoted question answered in turn" in CliRunner().invoke(main, ["ask", "--help"]).output


def test_the_empty_question_example_comes_from_the_corpus(settings, fake_engine):
    (settings.corpus / ".questions").write_text("\nWhat is a sourdough starter?\nWho bakes?\n")
    refused(run(settings.corpus.parent, "ask", "  ", engine=fake_engine), 'e.g. rag ask "What is a sourdough starter?"')
    (settings.corpus / ".questions").unlink()
    assert run(settings.corpus.parent, "index", engine=fake_engine).exit_code == 0
    stderr = refused(run(settings.corpus.parent, "ask", "", engine=fake_engine), "question is empty")
    assert "What is “Rust in the Linux Kernel” about?" in stderr or "Linus Torvalds" in stderr


def test_index_json_has_the_documented_keys(settings, fake_engine):
    (settings.corpus / "blank.txt").write_text(" ")
    summary = json.loads(run(settings.corpus.parent, "index", "--json", engine=fake_engine).stdout)
    assert set(summary) == documented_keys("`rag index --json`")
    assert summary["sentences_embedded"] > 0
    assert set(summary["skipped"][0]) == documented_keys('each of `"skipped"`')


def test_ask_json_has_the_documented_keys(settings, fake_engine):
    answer = json.loads(run(settings.corpus.parent, "ask", "--json", "Who led it?", engine=fake_engine).stdout)
    assert set(answer) == documented_keys("`rag ask --json`, `rag chat --json`")
    assert set(answer["passages"][0]) == documented_keys('each of `"passages"`')
    turn = json.loads(run(settings.corpus.parent, "chat", "--json", input="Who led it?\n", engine=fake_engine).stdout)
    assert set(turn) == set(answer)


def test_eval_json_has_the_documented_keys(settings, fake_engine):
    result = run(settings.corpus.parent, "eval", "--json", str(ROOT / "eval" / "questions.jsonl"), engine=fake_engine)
    assert set(json.loads(result.stdout)) == documented_keys("`rag eval --json`")


def test_beir_json_has_the_documented_keys(tmp_path, fake_embedder):
    from rag.evaluate.beir import run_beir

    beir = tmp_path / "tiny"
    (beir / "qrels").mkdir(parents=True)
    docs = [{"_id": "d1", "title": "Bread", "text": "Sourdough is flour and water."}, {"_id": "d2", "text": "Tea."}]
    (beir / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (beir / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "What is sourdough?"}) + "\n")
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    report = run_beir(beir, tmp_path / "work", Settings(), embedder=fake_embedder)
    assert set(report.to_json()) == documented_keys("`rag eval --beir DIR --json`")


def test_web_chat_on_an_empty_corpus_says_how_to_add_articles(tmp_path, fake_embedder):
    from rag.web.chat import WebChat

    (tmp_path / "corpus").mkdir()
    engine = Engine(Settings(corpus=tmp_path / "corpus", index=tmp_path / "index"), embedder=fake_embedder)
    engine.update()
    web = WebChat(engine)
    assert not web.has_articles() and web.examples() == []
    assert "No articles yet" in web.first_screen()["placeholder"]
    chat, _ = web.answer("Who led it?", [], [], 5, False)
    assert "There are no articles yet" in chat[-1]["content"] and "Add articles" in chat[-1]["content"]
    import gradio as gr

    with pytest.raises(gr.Error, match="There are no articles yet"):
        web.ask("Who led it?")


def test_web_empty_question_example_comes_from_the_corpus(engine):
    import gradio as gr

    from rag.web.chat import WebChat

    engine.update()
    web = WebChat(engine)
    first = (engine.settings.corpus / ".questions").read_text().splitlines()[0]
    with pytest.raises(gr.Error, match=re.escape(f"the question is empty: type a question, e.g. “{first}”")):
        web.ask("   ")
    assert web.has_articles() and web.first_screen()["examples"][0]["text"] == first


def test_version_is_the_installed_package_version():
    result = CliRunner().invoke(main, ["--version"], prog_name="rag")
    assert result.exit_code == 0 and result.stdout == f"rag, version {version('rag')}\n"
