"""The command line as a user meets it: real model, real index on disk."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from rag.cli import main

from .conftest import PASSAGE_KEYS, ROOT, share_export

pytestmark = pytest.mark.slow


@pytest.fixture
def run(settings, onnx_index):
    share_export(onnx_index, settings.index)  # export the model once per session, not once per test

    def invoke(*args, input=None):
        paths = ["--corpus", str(settings.corpus), "--index", str(settings.index)]
        result = CliRunner().invoke(main, [args[0], *paths, *args[1:]], input=input)
        return result

    return invoke


def test_index_json_summary_then_nothing_to_do(run):
    first = run("index", "--json")
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    for key in ["added", "updated", "removed", "unchanged", "passages_embedded", "passages_total", "seconds"]:
        assert key in summary
    assert summary["added"] == 2 and summary["passages_embedded"] == summary["passages_total"] > 0
    again = json.loads(run("index", "--json").stdout)
    assert (again["unchanged"], again["passages_embedded"]) == (2, 0)


def test_ask_json_contract(run, settings):
    result = run("ask", "--json", "-k", "3", "Who led the Rust for Linux effort?")
    assert result.exit_code == 0, result.output
    assert "Updating the index" in result.stderr
    obj = json.loads(result.stdout)
    assert obj["question"] == "Who led the Rust for Linux effort?" and obj["answered"] is True
    assert [p["rank"] for p in obj["passages"]] == [1, 2, 3]
    for p in obj["passages"]:
        assert set(p) == PASSAGE_KEYS
        article = (settings.corpus / p["source"]).read_text()
        assert p["text"] in article and p["highlight"] in p["text"]
        assert isinstance(p["score"], float) and p["start"] < p["end"]
    assert any("Miguel Ojeda" in p["text"] for p in obj["passages"])


def test_ask_says_which_names_no_article_mentions(run):
    plain = run("ask", "How does Rust compare with Haskell in the kernel?")
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.startswith("Not in these articles. The articles never mention “Haskell”.")
    got = run("ask", "--json", "How does Rust compare with Haskell and OCaml?")
    assert json.loads(got.stdout)["unmentioned"] == ["Haskell", "OCaml"]


def test_ask_reads_one_question_per_line_from_stdin(run):
    result = run("ask", "--json", "-", input="Who is Miguel Ojeda?\n\nWhat is Bottlerocket?\n")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["question"] for o in lines] == ["Who is Miguel Ojeda?", "What is Bottlerocket?"]


def test_human_output_numbers_cites_and_marks_the_sentence(run):
    result = run("ask", "-k", "2", "Which kernel version was Rust expected in?")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.split(":")[0] in {"Answer found", "Likely"}  # the answer first, how sure in words
    assert "\nPassages:\n[1] " in out and "\n[2] " in out and out.index("[2] ") < out.index("\nSources:\n")
    assert "characters" in out and "score" not in out and "»" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (("ask", "   "), "question is empty"),
        (("ask", "-k", "0", "q"), "-k"),
        (("add", "missing.txt"), "does not exist"),
    ],
)
def test_bad_input_gets_a_short_message_and_non_zero_exit(run, args, message):
    result = run(*args)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output


def test_add_copies_the_article_and_indexes_it(run, settings, tmp_path):
    new = tmp_path / "sourdough.md"
    new.write_text("---\ntitle: Bread\n---\nA sourdough starter is flour and water, fed daily.")
    result = run("add", str(new))
    assert result.exit_code == 0, result.output
    assert (settings.corpus / "sourdough.md").read_text() == new.read_text()
    top = json.loads(run("ask", "--json", "-k", "1", "What is a sourdough starter made of?").stdout)
    assert top["passages"][0]["title"] == "Bread"
    again = run("add", str(new))
    assert again.exit_code == 1 and "Not added: sourdough.md: already in the corpus as sourdough.md." in again.stderr
    new.write_text("---\ntitle: Rye\n---\nRye bread is dense.")
    renamed = run("add", str(new))
    assert renamed.exit_code == 0 and "Added sourdough-2.md (from sourdough.md): Rye" in renamed.stdout
    new.write_text("---\ntitle: Spelt\n---\nSpelt is an old wheat.")
    replaced = run("add", "--overwrite", str(new), str(settings.corpus / "nothere.md"))
    assert replaced.exit_code == 1 and "Added sourdough.md (replaced the old one): Spelt" in replaced.stdout
    assert "Not added: nothere.md: does not exist" in replaced.stderr
    assert (settings.corpus / "sourdough.md").read_text() == new.read_text()


def test_help_is_quick_and_imports_no_heavy_library():
    code = (
        "import sys; from rag.cli import main; "
        "heavy = {'torch', 'sentence_transformers', 'gradio', 'faiss', 'numpy'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    result = subprocess.run([sys.executable, "-m", "rag", "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "ask" in result.stdout


def test_fresh_process_answers_the_aws_question_from_both_articles(tmp_path):
    """The product's promise: a fresh checkout answers at once, citing both articles."""
    import shutil

    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    result = subprocess.run(
        [sys.executable, "-m", "rag", "ask", "--json", "Which AWS container OS has Rust in it?"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["answered"]
    sources = {p["source"] for p in answer["passages"]}
    assert sources == {"rust-in-the-linux-kernel.txt", "torvalds-on-rust-in-linux.txt"}
    assert any("Bottlerocket" in p["text"] for p in answer["passages"])


def test_ctrl_c_stops_index_watch_with_exit_code_130(settings, onnx_index):
    share_export(onnx_index, settings.index)
    paths = ["--corpus", str(settings.corpus), "--index", str(settings.index)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "index", "--watch", *paths],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # heard even if pytest runs in the background
    )  # fmt: skip
    try:
        for line in proc.stderr:
            if line.startswith("Watching "):
                break
        time.sleep(1)  # into the watch, most likely; a Ctrl-C a moment sooner must end the same way
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 130
    finally:
        proc.kill()
    assert proc.stderr.read() == "Stopped watching.\n"
    assert "2 added" in proc.stdout.read()
