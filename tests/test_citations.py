"""Answers cite the headings, pages and lines of the file; `rag show` prints what a citation names;
a change of reader rebuilds the index and says why."""

from __future__ import annotations

import json
from functools import partial

from click.testing import CliRunner

from rag.cli import main
from rag.engine import Engine
from rag.index.faiss.generations import live_generation
from rag.ingest.documents import READER_VERSION

from .pdfs import make_pdf

NOTES = """# Okapis

Okapis live in the
rainforest of the Congo.

## Diet

Okapis eat leaves, buds
and fruit, and they eat
clay for its salt.
"""


def add_articles(corpus):
    (corpus / "okapis.md").write_text(NOTES)
    pages = ["Quokka survey\nQuokkas smile on Rottnest Island.", "Quokka survey\nQuokkas sleep by day in thickets."]
    (corpus / "quokkas.pdf").write_bytes(make_pdf(pages, title="Quokka survey"))


def test_answers_cite_section_lines_and_pages(engine, settings):
    add_articles(settings.corpus)
    engine.update()
    diet = next(r for r in engine.ask("What do okapis eat for salt?", k=10) if r.citation.source == "okapis.md")
    assert diet.citation.section[:2] == ("Okapis", "Diet") or diet.citation.section == ("Okapis",)
    first, last = diet.citation.lines
    source_lines = NOTES.splitlines()
    assert diet.text.split()[0] in source_lines[first - 1] and diet.text.split()[-1] in source_lines[last - 1]
    sleep = next(r for r in engine.ask("When do quokkas sleep?", k=10) if "sleep" in r.text)
    assert sleep.citation.pages[-1] == 2 and sleep.citation.lines is None
    out = sleep.to_json()
    assert {"section", "pages", "lines", "where", "start", "end", "source"} <= out.keys()
    assert out["pages"] == list(sleep.citation.pages) and "page" in out["where"]


def test_rag_show_prints_the_span_a_citation_names(engine, settings, fake_embedder, monkeypatch):
    add_articles(settings.corpus)
    engine.update()
    r = engine.ask("What do okapis eat?", k=1).results[0]
    paths = ["--corpus", str(settings.corpus), "--index", str(settings.index)]
    args = ["show", r.citation.source, "--start", str(r.citation.start), "--end", str(r.citation.end), *paths]
    result = CliRunner().invoke(main, obj=partial(Engine, embedder=fake_embedder), args=args)
    assert result.exit_code == 0, result.output
    assert result.stdout == r.text + "\n"
    missing = CliRunner().invoke(main, obj=partial(Engine, embedder=fake_embedder), args=["show", "nowhere.md", *paths])
    assert missing.exit_code == 1 and "no article 'nowhere.md'" in missing.output


def test_ask_json_carries_the_citation_fields(settings, fake_embedder, monkeypatch):
    add_articles(settings.corpus)
    paths = ["--corpus", str(settings.corpus), "--index", str(settings.index)]
    result = CliRunner().invoke(
        main, obj=partial(Engine, embedder=fake_embedder), args=["ask", "--json", "Where do okapis live?", *paths]
    )
    assert result.exit_code == 0, result.output
    passage = json.loads(result.stdout.splitlines()[-1])["passages"][0]
    assert passage["source"] == "okapis.md" and passage["section"][0] == "Okapis"
    first, last = passage["lines"]
    assert 1 <= first <= last <= len(NOTES.splitlines()) and passage["where"].startswith("Okapis")


def test_an_index_from_other_readers_is_rebuilt_with_the_reason(engine, settings):
    engine.update()
    manifest = live_generation(settings.index) / "manifest.json"
    data = json.loads(manifest.read_text())
    assert data["readers"] == READER_VERSION
    data["readers"] = READER_VERSION - 1
    manifest.write_text(json.dumps(data))
    reason = f"article readers changed from version {READER_VERSION - 1} to {READER_VERSION}"
    assert engine.stale_reason() == reason
    report = engine.update()
    assert report.rebuilt == reason
    assert engine.stale_reason() is None


def test_an_index_from_before_reader_versions_is_rebuilt(engine, settings):
    engine.update()
    manifest = live_generation(settings.index) / "manifest.json"
    data = json.loads(manifest.read_text())
    del data["readers"]
    manifest.write_text(json.dumps(data))
    assert engine.update().rebuilt == f"article readers changed from version 1 to {READER_VERSION}"
