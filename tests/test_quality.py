"""Retrieval on the bundled corpus with the real model."""

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Who led the Rust for Linux effort?", "Miguel Ojeda"),
        ("Which AWS container OS has Rust in it?", "Bottlerocket"),
        ("When was the first Rust for Linux pull request submitted?", "Sept. 20, 2021"),
        ("Which kernel release was Rust expected to land in?", "6.1"),
    ],
)
def test_answer_bearing_passage_is_in_the_top_3(real_engine, question, expected):
    answer = real_engine.ask(question, k=3)
    assert any(expected in r.text for r in answer.results), [r.text[:80] for r in answer.results]
