"""Quality metrics on small fixed inputs, and `rag eval` end to end with the fake embedder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.answer.results import Answer, Citation, Result
from rag.cli import main
from rag.errors import InputError
from rag.evaluate.beir import load_beir, ndcg_at_k, recall_at_k, run_beir
from rag.evaluate.questions import Turn, TurnResult, holds_answer, judge, load_questions, summarise


def _answer(question: str, texts: list[tuple[str, str]], answered: bool = True) -> Answer:
    results = [
        Result(rank, text, hl, text.find(hl), text.find(hl) + len(hl), 1.0 / rank, Citation("t", "s.txt", None, 0, 1))
        for rank, (text, hl) in enumerate(texts, 1)
    ]
    return Answer(question, answered, results)


def _result(rank, answerable=True, highlight=True, answered=True) -> TurnResult:
    return TurnResult("q", answerable, rank, highlight, answered)


def test_judge_finds_the_first_passage_holding_an_answer_ignoring_case_quotes_and_spaces():
    answer = _answer(
        "When?",
        [("Nothing here.", "Nothing here."), ("Ojeda\u2019s PR came on Sept.  20, 2021. Then more.", "Then more.")],
    )
    result = judge(Turn("When?", ("ojeda's pr came on sept. 20, 2021",)), answer)
    assert (result.rank, result.highlight_hit, result.answered) == (2, False, True)


def test_summary_of_fixed_results():
    results = [
        _result(1),
        _result(2, highlight=False),
        _result(5),
        _result(None, highlight=False, answered=False),  # missed and refused
        _result(None, answerable=False, answered=False),  # rightly refused
        _result(None, answerable=False, answered=True),  # wrongly answered
    ]
    r = summarise(results)
    assert (r.answerable, r.unanswerable) == (4, 2)
    assert (r.hit_at_1, r.hit_at_3, r.hit_at_5) == (0.25, 0.5, 0.75)
    assert r.mrr == pytest.approx((1 + 1 / 2 + 1 / 5) / 4)
    assert r.highlight_accuracy == pytest.approx(2 / 3)  # of the three found in the top 5
    assert (r.abstention_precision, r.abstention_recall, r.false_refusals) == (0.5, 0.5, 1)


def test_holds_answer_needs_the_whole_string():
    assert holds_answer("Linux 6.1 ships Rust", ["6.1"]) and not holds_answer("Linux 6.10", ["6.2"])


def test_question_file_with_conversations(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    lines = [
        {"question": "Who leads it?", "answers": ["Ojeda"]},
        {"question": "Capital of France?", "answers": []},
        [{"question": "Who leads it?", "answers": ["Ojeda"]}, {"question": "When did he start?", "answers": ["2019"]}],
        {"turns": [{"question": "A?", "answers": ["a"]}, {"question": "B?", "answers": ["b"]}]},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    conversations = load_questions(path)
    assert [len(c) for c in conversations] == [1, 1, 2, 2]
    assert conversations[2][1] == Turn("When did he start?", ("2019",), ("Who leads it?",))
    assert not conversations[1][0].answerable


@pytest.mark.parametrize("content", ["not json", '{"answers": ["x"]}', "[]", '{"question": "q", "answers": "x"}', ""])
def test_bad_question_file_says_which_line(tmp_path: Path, content: str):
    path = tmp_path / "q.jsonl"
    path.write_text(content)
    with pytest.raises(InputError):
        load_questions(path)


def test_ndcg_and_recall_on_fixed_rankings():
    gains = {"a": 2, "b": 1}
    assert ndcg_at_k(["a", "b", "c"], gains) == pytest.approx(1.0)
    ideal = 2 + 1 / 1.5849625
    assert ndcg_at_k(["c", "b", "a"], gains) == pytest.approx((1 / 1.5849625 + 2 / 2) / ideal)
    assert ndcg_at_k(["x"] * 10 + ["a"], gains) == 0.0  # past the cut-off
    assert recall_at_k(["b", "x"], gains, k=2) == 0.5 and recall_at_k([], gains) == 0.0


@pytest.mark.both_stores
def test_beir_set_is_indexed_once_and_scored(beir_dir, tmp_path, settings, fake_embedder):
    data = load_beir(beir_dir)
    assert len(data.documents) == 3 and data.qrels == {"q1": {"d2": 1}, "q2": {"d1": 2}}
    report = run_beir(beir_dir, tmp_path / "work", settings, embedder=fake_embedder)
    assert (report.queries, report.documents, report.reused) == (2, 3, False)
    assert report.ndcg_at_10 == pytest.approx(1.0) and report.recall_at_100 == 1.0
    again = run_beir(beir_dir, tmp_path / "work", settings, embedder=fake_embedder)
    assert again.reused and again.ndcg_at_10 == report.ndcg_at_10


def test_beir_folder_missing_files_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="corpus.jsonl"):
        load_beir(tmp_path)


def test_eval_command_needs_a_file_or_beir(tmp_path):
    result = CliRunner().invoke(main, ["eval", "--index", str(tmp_path / "i")])
    assert result.exit_code != 0 and "give a question FILE" in result.output
