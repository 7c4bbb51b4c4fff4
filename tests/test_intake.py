"""Adding articles (`rag add`, the API, uploads): safe names, read before saving, nothing changed on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import IndexBusyError
from rag.index.faiss.generations import live_generation
from rag.ingest.intake import safe_name

from .pdfs import make_pdf

MB = 1_000_000


@pytest.mark.parametrize(
    "name, safe",
    [
        ("notes.md", "notes.md"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("/abs/path/a.txt", "a.txt"),
        ("C:\\Users\\x\\Report.PDF", "Report.pdf"),
        (".hidden.txt", "hidden.txt"),
        ("..", "article"),
        ("a b (v2)?.html", "a-b-v2.html"),
        ("Ünïcode.md", "Ünïcode.md"),
        ("x" * 300 + ".txt", "x" * 120 + ".txt"),
    ],
)
def test_safe_name(name, safe):
    assert safe_name(name) == safe


def upload(tmp_path: Path, name: str, data: bytes | str) -> Path:
    folder = tmp_path / "uploads"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def snapshot(engine) -> tuple[dict[str, bytes], str | None]:
    corpus = engine.settings.corpus
    files = {p.relative_to(corpus).as_posix(): p.read_bytes() for p in corpus.rglob("*") if p.is_file()}
    return files, live_generation(engine.settings.index).name


def test_good_files_are_added_and_indexed(engine, tmp_path):
    engine.update()
    md = upload(tmp_path, "Bread notes.md", "---\ntitle: Bread\n---\nSourdough needs a starter.\n")
    pdf = upload(tmp_path, "paper.pdf", make_pdf(["Quokkas live on Rottnest Island."]))
    report = engine.add([md, pdf], max_bytes=5 * MB)
    assert [(a.source, a.title, a.renamed) for a in report.added] == [
        ("Bread-notes.md", "Bread", True),
        ("paper.pdf", "paper", False),
    ]
    assert report.rejected == [] and report.index.added == 2
    assert (engine.settings.corpus / "Bread-notes.md").read_text().endswith("starter.\n")
    assert engine.ask("Where do quokkas live?", k=1).results[0].citation.source == "paper.pdf"


def test_bad_files_are_rejected_with_a_reason_and_change_nothing(engine, tmp_path):
    engine.update()
    before = snapshot(engine)
    files = [
        upload(tmp_path, "photo.jpg", b"\xff\xd8\xff"),
        upload(tmp_path, "broken.pdf", b"%PDF-1.4 not really"),
        upload(tmp_path, "empty.txt", "   \n"),
        upload(tmp_path, "binary.txt", b"\x00\x01\x02"),
        upload(tmp_path, "big.txt", "word " * 300_000),
    ]
    report = engine.add(files, max_bytes=1 * MB)
    assert report.added == [] and report.index is None
    reasons = {r.name: r.reason for r in report.rejected}
    assert "only .txt" in reasons["photo.jpg"]
    assert "damaged or truncated PDF" in reasons["broken.pdf"]
    assert "no text" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "1.5 MB; the limit is 1 MB" in reasons["big.txt"]
    assert snapshot(engine) == before


def test_a_name_already_taken_is_never_overwritten(engine, tmp_path):
    engine.update()
    original = (engine.settings.corpus / "torvalds-on-rust-in-linux.txt").read_bytes()
    same_name = upload(tmp_path, "torvalds-on-rust-in-linux.txt", "A different article about bread.\n")
    report = engine.add([same_name], max_bytes=MB)
    assert report.added[0].source == "torvalds-on-rust-in-linux-2.txt" and report.added[0].renamed
    assert (engine.settings.corpus / "torvalds-on-rust-in-linux.txt").read_bytes() == original


def test_the_same_article_twice_is_refused(engine, tmp_path):
    engine.update()
    copy = upload(tmp_path, "copy.txt", (engine.settings.corpus / "torvalds-on-rust-in-linux.txt").read_bytes())
    report = engine.add([copy], max_bytes=MB)
    assert report.added == [] and "already in the corpus as torvalds-on-rust-in-linux.txt" in report.rejected[0].reason


def test_when_indexing_fails_the_copies_are_taken_back(engine, tmp_path, monkeypatch):
    engine.update()
    before = snapshot(engine)

    def busy(**kwargs):
        raise IndexBusyError("another process is updating the index.")

    monkeypatch.setattr(engine, "update", busy)
    with pytest.raises(IndexBusyError):
        engine.add([upload(tmp_path, "new.md", "# New\n\nSomething new.\n")], max_bytes=MB)
    assert snapshot(engine) == before
