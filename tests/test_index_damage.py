"""A damaged, foreign or missing index is detected, explained and rebuilt from the corpus."""

import json
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import rag.index.faiss.integrity
from rag.cli import main
from rag.engine import Engine
from rag.errors import IndexStateError
from rag.index.faiss.generations import live_generation
from rag.index.faiss.integrity import verify
from rag.index.faiss.reader import Store
from rag.index.schema import FORMAT_VERSION

from .conftest import ROOT, FakeEmbedder

QUESTION = "Who submitted the first Rust for Linux pull request?"
FILES = [
    "vectors.npy",
    "dense.faiss",
    "passages.npy",
    "texts.bin",
    "offsets.npy",
    "sentence_vectors.npy",
    "keyword/terms.json",
    "keyword/data.npy",
]


def damage(gen: Path, how: str, name: str) -> None:
    path = gen / name
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "flip":  # same size, a few bytes changed near the end, where the data is
        at = len(data) - 40
        path.write_bytes(data[:at] + bytes(b ^ 0xFF for b in data[at : at + 8]) + data[at + 8 :])
    elif how == "delete":
        path.unlink()


def answer_sources(engine: Engine) -> list[tuple[str, int, int]]:
    return [(r.citation.source, r.citation.start, r.citation.end) for r in engine.ask(QUESTION, k=3).results]


@pytest.fixture
def built(engine, settings):
    """An index built once, and the answer it gives."""
    engine.update()
    return live_generation(settings.index), answer_sources(engine)


@pytest.mark.parametrize("how", ["truncate", "empty", "flip", "delete"])
@pytest.mark.parametrize("name", FILES)
def test_damaged_file_is_detected_and_rebuilt_on_the_next_question(built, settings, fake_embedder, caplog, how, name):
    gen, expected = built
    damage(gen, how, name)
    with pytest.raises(IndexStateError, match=r"damaged|inconsistent") as info:
        Store.load(settings.index)
    assert "rag index --full" in str(info.value)  # says what to do

    fresh = Engine(settings, embedder=fake_embedder)  # a new process, as `rag ask` would be
    assert answer_sources(fresh) == expected
    logged = [r.getMessage() for r in caplog.records]
    assert any("rebuilding the whole index" in m and name.split("/")[0] in m for m in logged)
    store = Store.load(settings.index)
    assert store.path != gen and not gen.exists()
    verify(store.path, store.manifest.files, full=True)


@pytest.fixture
def graph_index(tmp_path, monkeypatch):
    """A synthetic generation large enough (for this test) to get HNSW graphs, three of them."""
    import rag.index.faiss.dense
    from rag.index.faiss.writer import write_store
    from rag.index.schema import PASSAGE_DTYPE, Manifest

    monkeypatch.setattr(rag.index.faiss.dense, "EXACT_LIMIT", 1000)
    monkeypatch.setattr(rag.index.faiss.dense, "SHARD", 400)
    n, dim = 1000, 32  # under 1 MiB, so every load hashes it
    vectors = np.random.default_rng(0).standard_normal((n, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    docs = [{"source": "a.txt", "hash": "0" * 64, "title": "a", "size": 1, "mtime_ns": 1, "first": 0, "count": n}]
    rows = np.array([(0, i, i + 1) for i in range(n)], dtype=PASSAGE_DTYPE)
    manifest = Manifest("synthetic", dim, {"size": 600, "overlap": 120}, docs, n, 0.0)
    gen = write_store(tmp_path / "index", manifest, rows, [f"passage {i}" for i in range(n)], vectors)
    assert json.loads((gen / "dense.json").read_text()) | {"kind": "hnsw", "shards": [334, 334, 332]}
    store = Store.load(tmp_path / "index")
    assert store.dense.ntotal == n and store.dense_search(vectors[999], 1)[0] == [999]
    return gen


@pytest.mark.parametrize("how", ["truncate", "flip", "delete"])
@pytest.mark.parametrize("name", ["dense.faiss", "dense.2.faiss", "dense.json"])
def test_damaged_graph_index_is_detected(graph_index, how, name):
    damage(graph_index, how, name)
    with pytest.raises(IndexStateError, match=rf"is damaged \({name} "):
        Store.load(graph_index.parent)


@pytest.mark.parametrize("how", ["truncate", "empty", "garbage", "other-keys"])
def test_damaged_manifest_is_explained_and_rebuilt_by_index(built, settings, engine, how):
    gen, expected = built
    manifest = gen / "manifest.json"
    text = manifest.read_text()
    broken = {
        "truncate": text[: len(text) // 2],
        "empty": "",
        "garbage": "\x00" * 99,
        "other-keys": json.dumps({"format_version": FORMAT_VERSION}),
    }
    manifest.write_text(broken[how])
    problem = f"index {str(settings.index)!r} is damaged (its manifest.json cannot be read)"
    assert engine.stale_reason() == problem
    report = engine.update()
    assert "manifest.json cannot be read" in report.rebuilt and report.added == 2
    assert answer_sources(engine) == expected


@pytest.mark.parametrize(
    "current, problem",
    [
        ("gen-that-is-gone", "gen-that-is-gone, named by CURRENT, is missing"),
        ("", "CURRENT holds ''"),
        ("../x", "not a folder name"),
    ],
)
def test_current_naming_a_missing_or_odd_folder(built, settings, fake_embedder, current, problem):
    _, expected = built
    (settings.index / "CURRENT").write_text(current)
    fresh = Engine(settings, embedder=fake_embedder)
    assert problem in fresh.stale_reason()
    assert problem in fresh.ensure_current().rebuilt
    assert answer_sources(fresh) == expected


def test_newer_format_is_explained_and_rebuilt(built, settings, engine):
    gen, expected = built
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["format_version"] = 99
    (gen / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexStateError) as info:
        Store.load(settings.index)
    assert f"written by a newer version of rag (format 99; this one reads format {FORMAT_VERSION})" in str(info.value)
    assert "upgrade rag, or run `rag index --full`" in str(info.value)
    report = engine.update()
    assert "newer version" in report.rebuilt
    assert answer_sources(engine) == expected


def test_older_format_is_explained_and_rebuilt(built, settings, engine):
    gen, expected = built
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION - 1
    (gen / "manifest.json").write_text(json.dumps(manifest))
    older = f"written by an older version of rag (format {FORMAT_VERSION - 1}; this one reads format {FORMAT_VERSION})"
    assert older in engine.stale_reason()
    assert older in engine.update().rebuilt
    assert answer_sources(engine) == expected


def test_index_of_another_model_is_rebuilt_saying_why(built, settings):
    class OtherModel(FakeEmbedder):
        name = "other-model"

    other = Engine(settings, embedder=OtherModel())
    assert other.stale_reason() == "model changed from fake-hash-64 to other-model"
    assert other.ensure_current().rebuilt == "model changed from fake-hash-64 to other-model"
    assert Store.load(settings.index).manifest.model == "other-model"


def test_missing_index_folder_is_built(built, settings, engine):
    import shutil

    _, expected = built
    shutil.rmtree(settings.index)
    fresh = Engine(settings, embedder=FakeEmbedder())
    assert answer_sources(fresh) == expected


def test_damage_in_a_large_file_is_caught_before_anything_is_copied_from_it(built, settings, engine, monkeypatch):
    """Big files are only size-checked per question; `rag index` hashes them before reusing their contents."""
    gen, _ = built
    monkeypatch.setattr(rag.index.faiss.integrity, "QUICK_HASH_LIMIT", 0)  # as if every file were large
    damage(gen, "flip", "vectors.npy")
    assert Store.load(settings.index) is not None  # too costly to notice per question...
    (settings.corpus / "new.txt").write_text("Capybaras are the largest rodents.")
    report = engine.update()  # ...but noticed before the vectors are carried into the next generation
    assert report.rebuilt == f"index {str(settings.index)!r} is damaged (vectors.npy no longer matches its checksum)"
    assert report.added == 3 and report.passages_embedded + report.passages_cached == report.passages_total
    assert report.passages_embedded == 1  # the new article: the others' vectors come from the cache, not the damage
    clean = Engine(settings.with_(index=settings.index.parent / "clean"), embedder=FakeEmbedder())
    clean.update()
    assert np.array_equal(Store.load(settings.index).vectors(), Store.load(clean.settings.index).vectors())


def test_write_failure_leaves_the_previous_index_and_says_so(built, settings, engine, monkeypatch):
    gen, expected = built

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("rag.index.faiss.reader.np.save", disk_full)
    (settings.corpus / "new.txt").write_text("Wombats make cube-shaped droppings.")
    with pytest.raises(IndexStateError, match="No space left on device.*previous index is unchanged"):
        engine.update()
    assert live_generation(settings.index) == gen
    assert [p.name for p in settings.index.iterdir() if p.is_dir() and p.name != "cache"] == [gen.name]
    assert answer_sources(engine) == expected


def test_ask_on_a_damaged_index_through_the_command_line(built, settings, fake_embedder, monkeypatch, caplog):
    gen, _ = built
    damage(gen, "truncate", "texts.bin")
    paths = ["--corpus", str(settings.corpus), "--index", str(settings.index)]
    result = CliRunner().invoke(
        main, obj=partial(Engine, embedder=fake_embedder), args=["ask", *paths, "--json", QUESTION]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["passages"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]  # stderr, outside pytest
    assert len(warnings) == 1 and "rebuilding the whole index" in warnings[0] and "texts.bin is" in warnings[0]


def test_damage_that_cannot_be_repaired_is_a_message_not_a_traceback(built, settings, fake_embedder, tmp_path):
    gen, _ = built
    damage(gen, "delete", "texts.bin")
    paths = ["--corpus", str(tmp_path / "no-corpus"), "--index", str(settings.index)]
    result = CliRunner().invoke(main, ["ask", *paths, QUESTION])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "corpus folder" in result.stderr and "does not exist" in result.stderr


@pytest.mark.slow
def test_real_rag_ask_on_a_truncated_index_rebuilds_and_answers(tmp_path):
    import shutil

    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    rag = [sys.executable, "-m", "rag"]
    subprocess.run([*rag, "index"], cwd=tmp_path, check=True, capture_output=True, timeout=600)
    damage(live_generation(tmp_path / "index"), "truncate", "vectors.npy")
    result = subprocess.run(
        [*rag, "ask", "--json", QUESTION], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "vectors.npy is" in result.stderr
    assert any("Ojeda" in p["text"] for p in json.loads(result.stdout)["passages"])
