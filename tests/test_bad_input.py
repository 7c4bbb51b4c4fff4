"""Bad questions and bad settings: a short message, a non-zero exit, no traceback, nothing changed."""

import json
import math
import subprocess
import sys
from functools import partial

import pytest
from click.testing import CliRunner

from rag.answer.question import clean_question
from rag.cli import main
from rag.config import Settings
from rag.engine import Engine
from rag.errors import ConfigError, InputError

from .conftest import ROOT, refused


@pytest.fixture
def cli(settings, fake_embedder, monkeypatch):
    """`rag` as a user runs it, with the fake embedder in place of the model."""

    def invoke(*args, input=None, env=None):
        paths = ["--corpus", str(settings.corpus), "--index", str(settings.index)]
        return CliRunner().invoke(
            main, obj=partial(Engine, embedder=fake_embedder), args=[args[0], *paths, *args[1:]], input=input, env=env
        )

    return invoke


# -- questions -------------------------------------------------------------


@pytest.mark.parametrize(
    "question, message",
    [
        ("", "question is empty"),
        ("   \t  ", "question is empty"),
        ("a" * 100_000, "100000 characters long; keep it under 2000"),
        ("Who " * 25_000, "characters long"),
        ("\x01\x02\x1b[31m\x7f", "question is empty"),
        ("\x00", "question is empty"),
        ("?!? ... ¿", "has no words"),
    ],
    ids=["empty", "spaces", "100KB", "100KB-words", "control", "nul", "punctuation"],
)
def test_bad_question_is_refused_before_anything_is_loaded(cli, settings, question, message):
    refused(cli("ask", question), message)
    assert not settings.index.exists()  # refused before the index was even looked at


def test_control_characters_and_escapes_are_removed_from_a_question():
    question = "Who\x07 leads\x1b[1;31m Rust\x1b]0;title\x07 for\r\nLinux?\x00"
    assert clean_question(question) == "Who leads Rust for Linux?"


def test_stdin_bad_lines_are_reported_and_the_good_ones_answered(cli):
    lines = b"Who is Miguel Ojeda?\n\xff\xfe bad bytes\n\n???\n" + b"x" * 3000 + b"\nWhat is Bottlerocket?\n"
    result = cli("ask", "--json", "-k", "1", "-", input=lines)
    assert result.exit_code == 1 and "Traceback" not in result.output
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("question") for o in objects][:3] == ["Who is Miguel Ojeda?", None, "???"]
    assert ["error" in o for o in objects] == [False, True, True, True, False]
    assert objects[-1]["question"] == "What is Bottlerocket?" and objects[-1]["passages"]
    assert "line 2: not valid UTF-8" in result.stderr and "line 4:" in result.stderr and "line 5:" in result.stderr
    assert "3 of 5 questions could not be answered" in result.stderr


@pytest.mark.parametrize(
    "data, message",
    [(b"\xff\xfe\xfa\n", "not valid UTF-8"), (b"", "no questions on stdin"), (b"\n \n\t\n", "no questions on stdin")],
)
def test_stdin_without_a_usable_question_fails_without_loading_anything(cli, settings, data, message):
    refused(cli("ask", "-", input=data), message)
    assert not settings.index.exists()


def test_article_text_cannot_drive_the_terminal(cli, settings):
    text = "Zebra facts\n\nZebras \x1b[2J\x1b]0;pwned\x07 have stripes, \x1band \x07manes.\r\n"
    (settings.corpus / "escape.txt").write_text(text)
    result = cli("ask", "-k", "1", "zebras stripes")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout and "\r" not in result.stdout
    assert "Zebras" in result.stdout and "have stripes" in result.stdout
    as_json = json.loads(cli("ask", "--json", "-k", "1", "zebras stripes").stdout)
    # terminal codes are not the article's words (the reader drops them, as a terminal would); JSON keeps the rest
    shown = " ".join(as_json["passages"][0]["text"].split(" "))  # a dropped code may leave two spaces
    assert " ".join(shown.split(" ")).replace("  ", " ").endswith("Zebras have stripes, \x1band \x07manes.")


def run_rag(*args: str | bytes, input: bytes | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag", *args], input=input, capture_output=True, timeout=120, cwd=cwd or ROOT
    )


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["ask", "-"], b"caf\xe9 au lait?\n", b"not valid UTF-8"),
        (["ask", b"caf\xe9 au lait?"], None, b"not valid UTF-8"),
        (["ask", "q" * 100_000], None, b"keep it under 2000"),
        (["ask", "\x01\x02"], None, b"question is empty"),
        (["ask", "-k", "0", "q"], None, b"-k must be between 1 and 100"),
    ],
    ids=["stdin-latin1", "argv-latin1", "100KB", "control", "k"],
)
def test_a_real_process_exits_1_with_one_line_and_no_traceback(tmp_path, args, stdin, message):
    result = run_rag(*args, "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index"), input=stdin)
    assert result.returncode == 1
    assert message in result.stderr and b"Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2 and result.stdout == b""
    assert not (tmp_path / "index").exists()


# -- configuration ---------------------------------------------------------


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"RAG_TOP_K": "abc"}, "RAG_TOP_K='abc' is not a whole number"),
        ({"RAG_TOP_K": "0"}, "RAG_TOP_K='0' is invalid: -k must be between 1 and 100"),
        ({"RAG_TOP_K": "2.5"}, "RAG_TOP_K='2.5' is not a whole number"),
        ({"RAG_PORT": "70000"}, "RAG_PORT='70000' is invalid"),
        ({"RAG_CHUNK_SIZE": "10"}, "RAG_CHUNK_SIZE='10' is invalid: chunk size 10 is too small"),
        ({"RAG_CHUNK_OVERLAP": "-5"}, "RAG_CHUNK_OVERLAP='-5' is invalid"),
        ({"RAG_MAX_FILE_MB": "lots"}, "RAG_MAX_FILE_MB='lots' is not a number"),
        ({"RAG_MAX_FILE_MB": "0"}, "RAG_MAX_FILE_MB='0' is invalid"),
        ({"RAG_MAX_FILE_MB": "nan"}, "RAG_MAX_FILE_MB='nan' is invalid"),
    ],
)
def test_bad_environment_values_name_the_variable(environ, message):
    with pytest.raises(ConfigError) as info:
        Settings.load(environ)
    assert message in str(info.value)


def test_options_win_over_bad_environment_values_and_blank_ones_are_ignored():
    settings = Settings.load({"RAG_TOP_K": "500", "RAG_MODEL": "  ", "RAG_MAX_FILE_MB": "2.5"}, k=3)
    assert (settings.k, settings.model, settings.max_file_bytes) == (3, "all-MiniLM-L6-v2", 2_500_000)
    assert not math.isnan(settings.max_file_mb)


@pytest.mark.parametrize(
    "args, message, code",
    [
        (("ask", "-k", "0", "q"), "-k must be between 1 and 100, not 0", 1),
        (("ask", "-k", "101", "q"), "-k must be between 1 and 100, not 101", 1),
        (("ask", "-k", "five", "q"), "'five' is not a valid integer", 2),
    ],
)
def test_invalid_k(cli, args, message, code):
    refused(cli(*args), message, code)


def test_bad_environment_value_through_the_command_line(cli, settings):
    refused(cli("index", env={"RAG_TOP_K": "many"}), "RAG_TOP_K='many' is not a whole number")
    assert not settings.index.exists()


def test_missing_corpus_folder(cli, settings, tmp_path):
    for command in ("index", "ask"):
        args = [command, "--corpus", str(tmp_path / "nope")] + (["q"] if command == "ask" else [])
        result = CliRunner().invoke(main, [*args, "--index", str(settings.index)])
        refused(result, "does not exist: create it or pass --corpus DIR")
    assert not settings.index.exists()


def test_corpus_or_index_that_is_a_file(cli, settings, tmp_path):
    article = settings.corpus / "rust-in-the-linux-kernel.txt"
    result = CliRunner().invoke(main, ["index", "--corpus", str(article), "--index", str(settings.index)])
    refused(result, "is not a folder")
    result = CliRunner().invoke(main, ["index", "--corpus", str(settings.corpus), "--index", str(article)])
    refused(result, "is a file, not an index folder")


def test_question_objects_are_refused_by_the_library():
    with pytest.raises(InputError, match="must be text"):
        clean_question(b"bytes")  # type: ignore[arg-type]


@pytest.mark.slow
def test_unknown_model_is_refused_and_the_index_kept(settings, engine):
    engine.update()
    current = (settings.index / "CURRENT").read_text()
    result = CliRunner().invoke(
        main, ["ask", "--corpus", str(settings.corpus), "--index", str(settings.index), "--model", "no-such-model", "q"]
    )
    stderr = refused(result, "cannot load embedding model 'no-such-model'")
    assert "Updating the index" not in stderr  # refused before it announced any work
    assert (settings.index / "CURRENT").read_text() == current


def test_ctrl_c_exits_130_with_a_line_not_a_traceback(settings, monkeypatch):
    class Interrupted:
        def update(self, **kwargs):
            raise KeyboardInterrupt

    result = CliRunner().invoke(
        main,
        obj=lambda s: Interrupted(),
        args=["index", "--corpus", str(settings.corpus), "--index", str(settings.index)],
    )
    assert result.exit_code == 130 and "Traceback" not in result.output
    assert result.stderr == "Interrupted.\n"
