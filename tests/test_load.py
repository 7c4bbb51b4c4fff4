"""The web chat answers every question when several clients ask at once (benchmarks/load.py, small numbers).

The real app runs in a subprocess on a copy of the bundled corpus; the
clients are gradio_client threads in this process. Timings are the
benchmark's business, not this test's: it checks only that nothing failed.
"""

from __future__ import annotations

import importlib
import shutil

import pytest

from .conftest import CORPUS, ROOT, share_export

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
def load(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    return importlib.import_module("load")


def test_four_clients_asking_at_once_get_every_answer(load, tmp_path, onnx_index):
    shutil.copytree(CORPUS, tmp_path / "corpus")
    share_export(onnx_index, tmp_path / "index")  # the app indexes the corpus but need not export the model
    result = load.run_load(clients=4, questions=5, root=tmp_path)
    assert result.errors == []
    assert len(result.latencies) == 20 and result.wall > 0
    assert "| 4 | 20 | 0 |" in load.report(result)


def test_every_line_of_the_question_file_is_asked(load):
    questions = load.load_questions()
    assert len(questions) > 70  # the conversations' follow-ups count one each
    assert ("Who led the Rust for Linux project?", []) in questions
    assert ("When did he send his first pull request?", ["Who led the Rust for Linux project?"]) in questions
