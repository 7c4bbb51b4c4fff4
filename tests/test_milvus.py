"""Milvus' own tests: what the FAISS folder's tests check by looking inside the folder, checked in Milvus.

Tests that only go through the Engine are marked `both_stores` where they are
and run on both (conftest.py); here `settings` points at Milvus Lite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.config import CHUNKING_RULE
from rag.engine import Engine
from rag.errors import IndexStateError
from rag.index.backends import open_backend
from rag.index.keyword import tokenize
from rag.index.passage_vectors import split_sentences
from rag.index.schema import FORMAT_VERSION
from rag.ingest.documents import read_document, scan

from .conftest import ROOT, FakeEmbedder

pytestmark = pytest.mark.slow


@pytest.fixture
def store_kind() -> str:
    return "milvus"


def all_passages(store) -> list[dict]:
    fields = ["doc", "start", "end", "text"]
    return store.client.query(store.collection, filter="doc > 0", output_fields=fields, limit=10000)


def test_stored_passages_and_sentences_are_exact_after_an_update(engine, settings):
    engine.update()
    path = settings.corpus / "torvalds-on-rust-in-linux.txt"
    path.write_text(path.read_text() + "\nA new closing sentence about PPR-9087.\n")
    (settings.corpus / "new.txt").write_text("New article\n\nFirst sentence here. Second one follows. A third ends it.")
    (settings.corpus / "rust-in-the-linux-kernel.txt").unlink()
    engine.update()
    store = engine.store()
    files, _ = scan(settings.corpus)
    texts = {f.source: read_document(f).text for f in files}
    rows = all_passages(store)
    assert len(rows) == len(store) > 5  # the changed and the deleted article left no passages behind
    for row in rows:
        source = store.document(row["id"])["source"]
        assert texts[source][row["start"] : row["end"]] == row["text"] == store.text(row["id"])
        sentences, counts, spans = split_sentences([row["text"]])
        stored, stored_spans = store.sentences(row["id"])
        expected = engine.embedder.embed(sentences if counts[0] else [row["text"]])
        assert stored.shape == expected.shape and np.allclose(stored, expected, atol=0.5 / 127)
        assert stored_spans.tolist() == spans.tolist()


def test_manifest_records_format_model_chunking_and_hashes(engine, settings):
    engine.update()
    backend = open_backend(settings)
    header = backend.header()
    assert header["format_version"] == FORMAT_VERSION and header["passages"] == len(engine.store())
    assert header["model"] == {"name": "fake-hash-64", "dim": 64}
    assert header["chunking"] == {"size": 600, "overlap": 120, "rule": CHUNKING_RULE}
    assert all(len(d["hash"]) == 64 for d in backend.read_manifest().documents)


def test_a_full_rebuild_replaces_the_collections(engine, settings):
    engine.update()
    backend = open_backend(settings)
    before = engine.store().collection
    engine.update(full=True)
    prefix = f"{backend.location.name}_"
    names = sorted(n for n in backend.client.list_collections() if n.startswith(prefix))
    store = engine.store()
    assert names == sorted([f"{prefix}meta", store.collection, store.terms]) and before not in names


def test_ask_builds_a_missing_index_first(engine, settings):
    assert open_backend(settings).read_manifest() is None
    assert engine.stale_reason() == "no index yet"
    assert engine.ensure_current().added == 2
    assert not settings.index.exists()  # nothing is written beside the corpus


def test_a_reader_keeps_its_generation_and_an_interrupted_update_leaves_no_trace(engine, settings, monkeypatch):
    engine.update()
    reader = Engine(settings, embedder=engine.embedder)
    before = reader.ask("Bottlerocket containers", k=3).to_json()
    (settings.corpus / "bread.md").write_text("# Sourdough\n\nSourdough bread needs a starter of flour and water.")
    (settings.corpus / "rust-in-the-linux-kernel.txt").unlink()
    backend = open_backend(settings)
    client = backend.client
    real_upsert = client.upsert

    def crash_on_commit(collection, rows, **kwargs):
        if any(r.get("key") == "manifest" for r in rows):
            raise KeyboardInterrupt  # the process dies between inserting passages and committing
        return real_upsert(collection, rows, **kwargs)

    monkeypatch.setattr(client, "upsert", crash_on_commit)
    with pytest.raises(KeyboardInterrupt):
        engine.update()
    monkeypatch.undo()
    # Milvus Lite merges segments, its BM25 statistics with them: the cut-short update's rows may count in the
    # keyword scores until the next update deletes them, so scores may move a little; what is shown may not.
    assert reader.ask("Bottlerocket containers", k=3).to_json() == approx_json(before, 0.01)
    assert all(r.citation.source != "bread.md" for r in reader.ask("sourdough starter", k=5).results)

    report = engine.update()
    assert (report.added, report.removed) == (1, 1)
    store = reader.store()
    assert {d["source"] for d in store.manifest.documents} == {"bread.md", "torvalds-on-rust-in-linux.txt"}
    assert len(all_passages(store)) == len(store)
    assert reader.ask("sourdough starter", k=1).results[0].citation.source == "bread.md"


def approx_json(value, tolerance: float = 1e-5):
    """`value` with every number compared to `tolerance`."""
    if isinstance(value, float):
        return pytest.approx(value, abs=tolerance)
    if isinstance(value, dict):
        return {k: approx_json(v, tolerance) for k, v in value.items()}
    if isinstance(value, list):
        return [approx_json(v, tolerance) for v in value]
    return value


QUESTIONS = ["Who led the Rust for Linux effort?", "Bottlerocket", "kernel 6.1 release", "memory safety", "sourdough"]


def test_both_backends_give_the_same_answers(settings, fake_embedder):
    faiss = Engine(settings.with_(store=None), embedder=fake_embedder)
    milvus = Engine(settings, embedder=fake_embedder)

    def same(exact: bool):
        faiss.update(), milvus.update()
        for question in QUESTIONS:
            expected = faiss.ask(question, k=5).to_json(explain=True)
            got = milvus.ask(question, k=5).to_json(explain=True)
            if exact:  # inner products in float32, each in its own order: the last digit, and ties, may differ
                assert unranked(got) == approx_json(unranked(expected)), question
            else:  # Milvus Lite's BM25 statistics are per segment, and an update adds a segment: scores drift a little
                assert passages(got) == passages(expected), question
            assert phrase(got) == phrase(expected), question
        terms = tokenize(" ".join(QUESTIONS) + " rust linux kernel never-seen")
        assert milvus.store().idf(terms) == pytest.approx(faiss.store().idf(terms))
        for term in ("rust", "ojeda", "ojedo", "torvald", "6.1", "6.2", "savehist", "sourdough", "sourdugh"):
            assert milvus.store().mentions(term) == faiss.store().mentions(term), term

    same(exact=True)
    (settings.corpus / "bread.md").write_text("# Sourdough\n\nSourdough bread needs a starter. Rust is not needed.")
    same(exact=False)
    path = settings.corpus / "torvalds-on-rust-in-linux.txt"
    path.write_text(path.read_text().replace("Rust", "Rust language"))
    (settings.corpus / "rust-in-the-linux-kernel.txt").unlink()
    same(exact=False)
    faiss.update(full=True), milvus.update(full=True)
    same(exact=True)


def unranked(answer: dict) -> dict:
    """The answer without each retriever's ranks, which passages of equal score may swap."""
    for p in answer["passages"]:
        p["explain"] = {k: v for k, v in p["explain"].items() if not k.endswith("_rank")}
    return answer


def phrase(answer: dict) -> tuple | None:
    """The answer phrase: its text and where it is; the reader runs on the same passages either way."""
    found = answer["answer"]
    return None if found is None else (found["text"], found["source"], found["start"], found["end"])


def passages(answer: dict) -> list[tuple]:
    return [(p["source"], p["start"], p["end"], p["highlight"]) for p in answer["passages"]]


def test_lost_passages_collection_is_reported_and_rebuilt(engine, settings):
    engine.update()
    backend = open_backend(settings)
    backend.client.drop_collection(engine.store().collection)
    with pytest.raises(IndexStateError, match="rag index --full"):
        backend.load()
    assert engine.update().passages_total == len(Engine(settings, embedder=FakeEmbedder()).store())


def test_cli_indexes_and_answers_from_milvus(settings):
    paths = ["--corpus", str(settings.corpus), "--index", str(settings.index), "--store", settings.store]
    first = CliRunner().invoke(main, ["index", *paths, "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["added"] == 2
    result = CliRunner().invoke(main, ["ask", *paths, "--json", "-k", "3", "Who led the Rust for Linux effort?"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert any("Miguel Ojeda" in p["text"] for p in answer["passages"])
    assert not (settings.index / "CURRENT").exists()  # the folder holds only the model's ONNX export


def test_a_milvus_lite_file_in_use_gets_a_short_message(settings, engine, tmp_path):
    engine.update()  # this process now serves the file
    result = subprocess.run(
        [sys.executable, "-m", "rag", "index", "--corpus", str(settings.corpus), "--store", settings.store],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 1
    assert "open in another process" in result.stderr and "Traceback" not in result.stderr


def test_a_beir_set_gets_collections_of_its_own(beir_dir, tmp_path, settings, fake_embedder):
    from rag.evaluate.beir import run_beir

    report = run_beir(beir_dir, tmp_path / "work", settings, embedder=fake_embedder)
    assert report.documents == 3 and report.ndcg_at_10 > 0.5
    assert open_backend(settings).read_manifest() is None  # the configured index is untouched
    location = settings.location
    assert open_backend(settings.with_(store=replace(location, name=f"{location.name}_beir_tiny").url())).load()
