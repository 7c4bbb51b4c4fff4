from pathlib import Path

import pytest

from rag.errors import CorpusError
from rag.ingest.documents import ArticleFile, in_corpus, read_document, scan

from .pdfs import make_pdf


def article(tmp_path: Path, name: str, data: bytes | str) -> ArticleFile:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    st = path.stat()
    return ArticleFile(path, name, st.st_size, st.st_mtime_ns)


@pytest.mark.parametrize(
    "name, data, title, text_has, meta",
    [
        ("plain.txt", "Kernel news\n\nRust arrives in 6.1.", "Kernel news", "Rust arrives in 6.1.", {}),
        (
            "front.md",
            "---\ntitle: From front matter\nauthor: Ada\ndate: 2022-09-20\n"
            "url: https://example.org/a\n---\n# Heading\n\nBody.",
            "From front matter",
            "Body.",
            {"author": "Ada", "date": "2022-09-20", "url": "https://example.org/a"},
        ),
        (
            "page.html",
            "<html><head><title>HTML title</title><meta name='author' content='Bo'>"
            "<script>alert(1)</script></head><body><h1>Head</h1><p>Para one.</p><p>Para two.</p></body></html>",
            "HTML title",
            "Para one.\n\nPara two.",
            {"author": "Bo"},
        ),
        ("sub/dir/noname.htm", "<p>Only text.</p>", "noname", "Only text.", {}),
    ],
)
def test_each_text_type_gives_text_and_metadata(tmp_path, name, data, title, text_has, meta):
    doc = read_document(article(tmp_path, name, data))
    assert doc.title == title
    assert text_has in doc.text
    assert "alert" not in doc.text
    for key, value in meta.items():
        assert getattr(doc, key) == value


def test_pdf_text_and_info(tmp_path):
    data = make_pdf(["Rust for Linux began in 2019.", "Second page text."], title="A PDF", author="Cy")
    doc = read_document(article(tmp_path, "paper.pdf", data))
    assert doc.title == "A PDF" and doc.author == "Cy"
    assert "Rust for Linux began in 2019." in doc.text and "Second page text." in doc.text


def test_pdf_without_info_is_titled_by_its_file_name(tmp_path):
    doc = read_document(article(tmp_path, "notes.pdf", make_pdf(["Some words."])))
    assert doc.title == "notes"


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("binary.txt", b"\x00\x01\x02garbage", "binary"),
        ("empty.md", b"", "no text"),
        ("scripts.html", b"<script>var a = 1;</script>", "no text"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "PDF"),
    ],
)
def test_unusable_files_raise_a_clear_corpus_error(tmp_path, name, data, reason):
    with pytest.raises(CorpusError, match=reason):
        read_document(article(tmp_path, name, data))


def test_scan_skips_hidden_and_other_types_and_walks_sub_folders(tmp_path, caplog):
    caplog.set_level("INFO")
    for name in ["a.txt", "sub/b.md", ".hidden.txt", ".git/c.txt", "image.png"]:
        article(tmp_path, name, "text")
    files, skipped = scan(tmp_path)
    assert [f.source for f in files] == ["a.txt", "sub/b.md"]
    assert [s.source for s in skipped] == ["image.png"]
    logged = [r.getMessage() for r in caplog.records]
    assert (
        len(logged) == 3 and [".git" in logged[0], ".hidden.txt" in logged[1], "image.png" in logged[2]] == [True] * 3
    )


def test_missing_corpus_folder_says_what_to_do(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        scan(tmp_path / "nope")


def test_a_source_naming_a_file_outside_the_corpus_is_not_found_in_it(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "notes").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("not an article")
    (corpus / "notes" / "a.txt").write_text("an article")
    assert in_corpus(corpus, "notes/a.txt") == (corpus / "notes" / "a.txt").resolve()
    assert in_corpus(corpus, "../secret.txt") is None
    assert in_corpus(corpus, str(tmp_path / "secret.txt")) is None
