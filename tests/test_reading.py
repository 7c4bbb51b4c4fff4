"""The answer-phrase reader: its file checked on load, its span exact in the article, its recipe runnable."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import astuple
from pathlib import Path

import numpy as np
import pytest

from rag.answer.ranker import RANKER_FILE, load_ranker, reading_signals
from rag.answer.reading import READER_DIR, Reader, Reading, _best_span
from rag.answer.results import reading_sentence
from rag.engine import READ_DEPTH, READ_FIRST, Engine
from rag.errors import ConfigError
from rag.ingest.chunking import paragraphs
from rag.show import indexed_text

ROOT = Path(__file__).resolve().parent.parent


def test_a_reader_file_whose_checksum_differs_is_refused(tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(READER_DIR, folder)
    model = folder / json.loads((folder / "reader.json").read_text())["model_file"]
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="SHA-256 differs"):
        Reader(folder)


def test_a_missing_reader_says_to_reinstall(tmp_path):
    with pytest.raises(ConfigError, match="reinstall"):
        Reader(tmp_path)


def test_the_highlight_is_the_sentence_holding_the_span_or_both_when_it_crosses():
    spans = np.array([[0, 20], [21, 50], [51, 80]])
    assert reading_sentence(spans, Reading(25, 30, 1.0)) == (21, 50)
    assert reading_sentence(spans, Reading(15, 25, 1.0)) == (0, 50)
    assert reading_sentence(spans, Reading(15, 19, 1.0, reach=(15, 25))) == (0, 50)  # the answer trimmed from it


def test_a_span_in_a_heading_highlights_the_heading_and_the_sentence_after_it():
    text = "3.50.3 level property\n\nIf level is absent, it SHALL default to warning.\n\nA tool MAY say more."
    spans = np.array([[0, 21], [23, 71], [73, 93]])
    assert text[slice(*reading_sentence(spans, Reading(0, 6, 1.0), text))] == (
        "3.50.3 level property\n\nIf level is absent, it SHALL default to warning."
    )
    assert reading_sentence(spans, Reading(60, 70, 1.0), text) == (23, 71)  # a sentence stays alone
    assert reading_sentence(spans[:1], Reading(0, 6, 1.0), text[:21]) == (0, 21)  # nothing after it


def test_an_answer_span_never_crosses_a_paragraph_break():
    from tokenizers import Tokenizer

    passage = "Classic vi keeps no file open, because there is none.\n\n3.14 Why is the window size missing?"
    enc = Tokenizer.from_file(str(READER_DIR / "reader-tokenizer.json")).encode("Why?", passage)
    token = {passage[a:b]: i for i, (a, b) in enumerate(enc.offsets) if enc.sequence_ids[i] == 1}
    start, end = np.zeros(len(enc.ids)), np.zeros(len(enc.ids))
    start[token["none"]], end[token["3"]] = 9.0, 9.0  # the best-scored span runs from one paragraph into the next
    end[token["none"]], start[token["3"]] = 2.0, 1.0
    found = _best_span(start, end, enc, [s for s, _ in paragraphs(passage)])
    assert passage[found.start : found.end] == "none"


def test_of_two_spans_scored_almost_alike_the_shorter_is_the_answer_and_the_score_is_the_reader_s():
    from tokenizers import Tokenizer

    passage = "The default limit is 1000 nested levels of arrays and objects."
    enc = Tokenizer.from_file(str(READER_DIR / "reader-tokenizer.json")).encode("What is the limit?", passage)
    token = {passage[a:b]: i for i, (a, b) in enumerate(enc.offsets) if enc.sequence_ids[i] == 1}
    start, end = np.zeros(len(enc.ids)), np.zeros(len(enc.ids))
    start[token["1000"]], end[token["1000"]], end[token["levels"]] = 6.0, 5.0, 5.1  # "1000 nested levels": +0.1
    found = _best_span(start, end, enc, [0])
    assert passage[found.start : found.end] == "1000"
    assert passage[slice(*found.around)] == "1000 nested levels"  # what the highlight holds
    assert found.score == pytest.approx(6.0 + 5.1)  # the best logit against [CLS] (0), as the ranking reads it
    end[token["levels"]] = 6.0  # a whole point more: the longer span
    assert passage[slice(*astuple(_best_span(start, end, enc, [0]))[:2])] == "1000 nested levels"


def test_reading_signals_put_each_passage_against_the_best_read_and_the_first_ranked():
    assert reading_signals([3.0, 5.0], [2.5, 1.0]).tolist() == [[1.0, 3.0, -2.0, 0.0], [0.5, 5.0, 0.0, -1.5]]


def test_a_ranker_fitted_on_other_signals_is_refused(tmp_path):
    data = json.loads(RANKER_FILE.read_text())
    data["passages"]["names"].append("a_new_signal")
    path = tmp_path / "ranker.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="refit"):
        load_ranker(path)


@pytest.mark.slow
def test_the_answer_phrase_names_the_person_and_its_span_is_exact(real_engine):
    answer = real_engine.ask("Who led the Rust for Linux project?")
    assert answer.answered and answer.phrase is not None
    assert answer.phrase.text == "Miguel Ojeda"
    first = answer.results[answer.phrase.rank - 1]
    assert first.text[answer.phrase.start : answer.phrase.end] == "Miguel Ojeda"
    article, _ = indexed_text(real_engine.settings, first.citation.source)  # what `rag show` prints
    assert article[answer.phrase.article_start : answer.phrase.article_end] == "Miguel Ojeda"
    assert "Miguel Ojeda" in first.highlight
    as_json = answer.to_json()["answer"]
    assert as_json["text"] == "Miguel Ojeda" and as_json["source"] == first.citation.source


@pytest.mark.slow
def test_a_sure_first_passage_ends_the_reading_and_an_unsure_one_reads_on(real_engine):
    counting = Reader()  # its own, counting only what this engine reads
    engine = Engine(real_engine.settings, embedder=real_engine.embedder, reader=counting)
    engine.ask("Who led the Rust for Linux project?")
    assert counting.passages_read == READ_FIRST
    counting.passages_read = 0
    engine.ask("What is the boiling point of tungsten?")
    assert counting.passages_read == READ_DEPTH


@pytest.mark.slow
def test_the_training_recipe_runs_end_to_end_on_a_few_examples(tmp_path):
    paragraph = (
        "The Normans were a people who in the 10th and 11th centuries gave their name to Normandy, a region in France."
    )
    qas = [
        {"question": q, "id": str(i), "answers": [{"text": a, "answer_start": paragraph.index(a)}]}
        for i, (q, a) in enumerate(
            [("In what country is Normandy?", "France"), ("When did the Normans live?", "10th and 11th centuries")] * 12
        )
    ]
    other = "Rollo was a Viking leader who made a treaty with the king of West Francia in the year 911."
    data = {
        "data": [
            {"title": "Normans", "paragraphs": [{"context": paragraph, "qas": qas}, {"context": other, "qas": []}]}
        ]
    }
    (tmp_path / "train.json").write_text(json.dumps(data))
    run, out = tmp_path / "run", tmp_path / "out"
    recipe = [sys.executable, str(ROOT / "training" / "reader.py")]
    common = ["--run", str(run)]
    train = [*recipe, "train", *common, "--data", str(tmp_path / "train.json"), "--questions", "24", "--batch", "8"]
    subprocess.run([*train, "--save-every", "1", "--threads", "1"], check=True, capture_output=True, timeout=600)
    assert (run / "done.json").exists() and "finished at step 3 of 3" in (run / "train.log").read_text()
    again = subprocess.run(train, check=True, capture_output=True, text=True, timeout=600)
    assert "resumed at step 3 of 3" in again.stdout
    subprocess.run([*recipe, "export", *common, "--to", str(out)], check=True, capture_output=True, timeout=600)
    card = json.loads((out / "reader.json").read_text())
    assert card["steps"] == 3 and card["data_sha256"]
    [reading] = Reader(out).read("In what country is Normandy?", [paragraph])
    assert 0 <= reading.start <= reading.end <= len(paragraph)
    # A second stage goes on from the first run's weights with the next questions of the same draw.
    later = tmp_path / "later"
    more = [*recipe, "train", "--run", str(later), "--data", str(tmp_path / "train.json"), "--batch", "8"]
    more += ["--start-from", str(run), "--skip", "16", "--questions", "8", "--threads", "1"]
    went_on = subprocess.run(more, check=True, capture_output=True, text=True, timeout=600)
    assert f"starting from the weights of {run}" in went_on.stdout
    subprocess.run([*recipe, "export", "--run", str(later), "--to", str(out)], check=True, timeout=600)
    card = json.loads((out / "reader.json").read_text())
    assert [stage["steps"] for stage in card["stages"]] == [3, 1] and card["questions_seen"] == 32
    # The two stages' weights averaged make a run of their own, exported with every stage on its card.
    mean = tmp_path / "mean"
    averaging = [*recipe, "average", "--run", str(mean), "--of", str(run), str(later)]
    subprocess.run(averaging, check=True, capture_output=True, timeout=600)
    subprocess.run([*recipe, "export", "--run", str(mean), "--to", str(out)], check=True, timeout=600)
    card = json.loads((out / "reader.json").read_text())
    assert [stage["steps"] for stage in card["stages"]] == [3, 1, 0] and card["questions_seen"] == 32
    assert card["stages"][-1]["settings"]["average_of"] == ["run", "later"]
    assert Reader(out).read("In what country is Normandy?", [paragraph])
    # An exported reader read back into a run (its float checkpoints gone) exports to the same reader.
    back, again_out = tmp_path / "back", tmp_path / "again"
    subprocess.run([*recipe, "recover", "--from", str(out), "--run", str(back)], check=True, timeout=600)
    subprocess.run([*recipe, "export", "--run", str(back), "--to", str(again_out)], check=True, timeout=600)
    assert json.loads((again_out / "reader.json").read_text())["stages"] == card["stages"]
    question, passages = "When did the Normans live?", [paragraph, other]
    before, after = Reader(out).read(question, passages), Reader(again_out).read(question, passages)
    assert [(r.start, r.end) for r in after] == [(r.start, r.end) for r in before]
    assert [r.score for r in after] == pytest.approx([r.score for r in before], abs=0.05)
