import json
from pathlib import Path

import numpy as np
import pytest

from rag.config import CHUNKING_RULE, Settings
from rag.engine import Engine
from rag.index.faiss.reader import Store
from rag.index.schema import FORMAT_VERSION
from rag.ingest.documents import read_document, scan

from .conftest import CORPUS, FakeEmbedder


@pytest.mark.both_stores
def test_first_build_embeds_every_passage(engine, fake_embedder):
    report = engine.update()
    assert (report.added, report.updated, report.removed, report.unchanged) == (2, 0, 0, 0)
    assert report.passages_embedded == report.passages_total > 20
    assert fake_embedder.embedded == report.passages_embedded + report.sentences_embedded


def test_stored_passages_are_exact_spans_of_their_articles(engine, settings):
    engine.update()
    store = Store.load(settings.index)
    files, _ = scan(settings.corpus)
    texts = {f.source: read_document(f).text for f in files}
    for i in range(len(store)):
        doc, start, end = store.passages[i]
        source = store.manifest.documents[doc]["source"]
        assert texts[source][start:end] == store.text(i)


@pytest.mark.both_stores
def test_nothing_changed_embeds_nothing(engine, fake_embedder):
    engine.update()
    before = fake_embedder.embedded
    report = engine.update()
    assert (report.unchanged, report.passages_embedded, fake_embedder.embedded) == (2, 0, before)
    assert engine.stale_reason() is None


@pytest.mark.both_stores
def test_changing_one_article_embeds_only_its_passages(engine, settings, fake_embedder):
    first = engine.update()
    path = settings.corpus / "torvalds-on-rust-in-linux.txt"
    path.write_text(path.read_text() + "\nA new closing sentence about PPR-9087.\n")
    assert "changed" in engine.stale_reason()
    fake_embedder.embedded = 0
    report = engine.update()
    store = engine.store()
    doc = next(d for d in store.manifest.documents if d["source"] == path.name)
    assert (report.updated, report.unchanged) == (1, 1)
    assert report.passages_embedded + report.passages_cached == doc["count"]
    if settings.store is None:  # passages whose text did not change come from the cache in the index folder
        assert 0 < report.passages_embedded < doc["count"]
    else:  # an index kept in Milvus writes nothing beside the corpus, so it has no vector cache
        assert report.passages_embedded == doc["count"]
    assert fake_embedder.embedded == report.passages_embedded + report.sentences_embedded
    assert report.passages_total >= first.passages_total
    assert engine.ask("PPR-9087", k=1).results[0].citation.source == path.name


@pytest.mark.both_stores
def test_adding_and_deleting_articles(engine, settings):
    engine.update()
    (settings.corpus / "new").mkdir()
    (settings.corpus / "new" / "bread.md").write_text("# Sourdough\n\nSourdough bread needs a starter.")
    report = engine.update()
    assert (report.added, report.unchanged) == (1, 2)
    assert engine.ask("sourdough starter", k=1).results[0].citation.source == "new/bread.md"

    (settings.corpus / "rust-in-the-linux-kernel.txt").unlink()
    report = engine.update()
    assert (report.removed, report.unchanged, report.passages_embedded) == (1, 2, 0)
    sources = {d["source"] for d in engine.store().manifest.documents}
    assert sources == {"new/bread.md", "torvalds-on-rust-in-linux.txt"}
    hits = engine.ask("Miguel Ojeda Rust for Linux pull request", k=5).results
    assert all(r.citation.source != "rust-in-the-linux-kernel.txt" for r in hits)


@pytest.mark.both_stores
def test_other_model_or_chunking_rebuilds_everything_and_says_why(engine, settings, fake_embedder):
    engine.update()

    class OtherModel(FakeEmbedder):
        name = "other-model"

    report = Engine(settings, embedder=OtherModel()).update()
    assert "model changed" in report.rebuilt and report.unchanged == 0 and report.added == 2
    report = Engine(settings.with_(chunk_size=300), embedder=OtherModel()).update()
    assert "chunking changed" in report.rebuilt
    report = Engine(settings.with_(chunk_size=300), embedder=OtherModel()).update(full=True)
    assert report.rebuilt == "full rebuild requested"


def test_manifest_records_format_model_chunking_and_hashes(engine, settings):
    engine.update()
    gen = settings.index / (settings.index / "CURRENT").read_text().strip()
    manifest = json.loads((gen / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION == 3
    assert manifest["model"] == {"name": "fake-hash-64", "dim": 64}
    assert manifest["chunking"] == {"size": 600, "overlap": 120, "rule": CHUNKING_RULE}
    assert all(len(d["hash"]) == 64 for d in manifest["documents"])


def test_an_index_cut_into_passages_by_an_earlier_rule_is_rebuilt(engine, settings):
    engine.update()
    gen = settings.index / (settings.index / "CURRENT").read_text().strip()
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["chunking"].pop("rule")
    (gen / "manifest.json").write_text(json.dumps(manifest))
    assert engine.update().rebuilt == "chunking changed: passages are cut by a newer rule"
    assert engine.update().rebuilt is None


def test_only_the_live_generation_is_kept(engine, settings):
    engine.update()
    (settings.corpus / "x.txt").write_text("Extra article.")
    engine.update()
    gens = sorted(p.name for p in settings.index.iterdir() if p.is_dir() and p.name != "cache")
    assert gens == [(settings.index / "CURRENT").read_text().strip()]


def test_temporary_files_a_killed_writer_left_are_removed_by_the_next_update(engine, settings):
    engine.update()
    left = [".CURRENT.0badc0de.tmp", ".skipped.json.12345678.tmp"]
    kept = ["notes.txt", ".CURRENT.notahex0.tmp"]  # not ours: left alone
    for name in left + kept:
        (settings.index / name).write_text("half")
    (settings.corpus / "x.txt").write_text("Extra article.")
    engine.update()
    names = {p.name for p in settings.index.iterdir()}
    assert not names & set(left)
    assert set(kept) <= names


def test_ask_builds_a_missing_index_first(engine, settings):
    assert not settings.index.exists()
    assert engine.stale_reason() == "no index yet"
    answer = engine.ensure_current()
    assert answer.added == 2


@pytest.mark.both_stores
@pytest.mark.parametrize("question", ["", "   ", "\x00\x01"])
def test_empty_questions_are_refused(engine, question):
    from rag.errors import InputError

    engine.update()
    with pytest.raises(InputError, match="empty"):
        engine.ask(question)


def test_a_sentence_shared_by_two_passages_is_embedded_once(fake_embedder):
    from rag.index.passage_vectors import embed_passages
    from rag.index.quantize import quantize

    shared = "The kernel accepted Rust code in version 6.1 of Linux."
    texts = [
        f"Rust began at Mozilla as a side project. {shared}",
        f"{shared} Drivers will come first, and other parts of the kernel later.",
    ]
    vectors, sentence_vectors, offsets, spans, counts = embed_passages(fake_embedder, texts)
    extra = counts.sentences_embedded
    assert extra == 3  # four sentences, one of them twice
    assert fake_embedder.embedded == len(texts) + extra
    first, second = texts[0].index(shared), 0
    rows = {(p, int(spans[r][0])): r for p in range(2) for r in range(offsets[p], offsets[p + 1])}
    np.testing.assert_array_equal(sentence_vectors[rows[0, first]], sentence_vectors[rows[1, second]])
    assert vectors.shape == (2, fake_embedder.dim)
    # sentence vectors are int8 from the start, as the index keeps them
    assert sentence_vectors.dtype == np.int8
    np.testing.assert_array_equal(sentence_vectors[rows[1, second]], quantize(fake_embedder.embed_batch([shared]))[0])


def test_an_update_writes_the_generation_a_full_rebuild_writes(tmp_path):
    """Kept articles are copied in runs of rows; what comes out must be what rebuilding writes."""
    corpus = paragraph_articles(tmp_path / "corpus", 8)
    updated = Engine(Settings(corpus=corpus, index=tmp_path / "updated"), embedder=FakeEmbedder())
    updated.update()
    (corpus / "03.txt").write_text((corpus / "03.txt").read_text() + "\nAn added line about PPR-9087.\n")
    (corpus / "05.txt").unlink()
    (corpus / "06b.txt").write_text("Inserted\n\nAn article that sorts between two kept ones.\n")
    updated.update()
    rebuilt = Engine(Settings(corpus=corpus, index=tmp_path / "rebuilt"), embedder=FakeEmbedder())
    rebuilt.update()
    assert_same_generation(updated.store(), rebuilt.store())


def paragraph_articles(corpus: Path, n: int, shared: bool = False) -> Path:
    """`n` articles of two paragraphs of the bundled articles each (if `shared`, and one paragraph all hold)."""
    corpus.mkdir()
    paragraphs = [p for f in sorted(CORPUS.glob("*.txt")) for p in f.read_text().split("\n\n") if len(p) > 200]
    for i, text in enumerate(paragraphs[:n]):
        tail = f"\n\n{paragraphs[0]}" if shared else ""
        (corpus / f"{i:02d}.txt").write_text(f"Article {i}\n\n{text}\n\n{paragraphs[-1 - i]}{tail}\n")
    return corpus


def assert_same_generation(a: Store, b: Store) -> None:
    """Byte for byte the same passages, texts, vectors and keyword index."""
    assert a.manifest.documents == b.manifest.documents
    assert a.passages.tobytes() == b.passages.tobytes()
    assert [a.text(i) for i in range(len(a))] == [b.text(i) for i in range(len(b))]
    for name in ("vectors", "sentence_vectors", "sentence_offsets", "sentence_spans"):
        assert getattr(a, name)().tobytes() == getattr(b, name)().tobytes(), name
    assert a.keyword.terms == b.keyword.terms
    for name in ("data", "indices", "indptr", "tokens", "offsets"):
        assert getattr(a.keyword, name).tobytes() == getattr(b.keyword, name).tobytes(), name


def test_a_folder_embedded_and_written_a_few_passages_at_a_time_gives_the_same_index(tmp_path, monkeypatch):
    """Large folders are embedded a slice of articles at a time and copied into the generation a step of
    rows at a time; with both tiny, the index is byte for byte the one a single slice gives."""
    import rag.index.faiss.writer
    import rag.index.passage_vectors

    corpus = paragraph_articles(tmp_path / "corpus", 12, shared=True)
    whole = Engine(Settings(corpus=corpus, index=tmp_path / "whole"), embedder=FakeEmbedder())
    whole_report = whole.update()

    monkeypatch.setattr(rag.index.passage_vectors, "SLICE", 3)
    monkeypatch.setattr(rag.index.faiss.writer, "STEP", 2)
    seen: list[tuple[int, int]] = []
    sliced = Engine(Settings(corpus=corpus, index=tmp_path / "sliced"), embedder=FakeEmbedder())
    report = sliced.update(progress=lambda done, total: seen.append((done, total)))
    assert_same_generation(whole.store(), sliced.store())
    # a paragraph repeated in every article is embedded in the first slice and found in the cache by the others
    assert report.passages_embedded + report.passages_cached == whole_report.passages_embedded
    assert sliced._given.embedded == whole._given.embedded
    # one bar over every slice: from 0 to its total, never backwards
    assert seen[0] == (0, seen[0][1]) and seen[-1][0] == seen[-1][1]
    assert all(x[0] <= y[0] and x[1] == y[1] for x, y in zip(seen, seen[1:], strict=False))
    assert not list((tmp_path / "sliced").glob(".tmp-*"))  # the staging folder is gone

    (corpus / "04.txt").write_text((corpus / "04.txt").read_text() + "\nAn added line about PPR-9087.\n")
    (corpus / "07.txt").unlink()
    for engine in (whole, sliced):
        engine.update()
    assert_same_generation(whole.store(), sliced.store())
