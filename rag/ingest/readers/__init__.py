"""One reader per file type: bytes -> Reading (text, metadata, and offsets of headings, pages and lines).

    reading = read(".pdf", data, "report.pdf")
    reading.text, reading.meta["title"], reading.pages

Each reader raises CorpusError with a short reason when the file has no
usable text, so the indexer can skip it and say why. Parsers are imported
only when a file of their type is read.

READER_VERSION is recorded in the index: raise it whenever a reader gives
different text for the same file, so indexes built by the old one are rebuilt.
"""

from __future__ import annotations

from collections.abc import Callable

from .blocks import Reading, without_licence
from .html import read_html
from .markdown import read_markdown
from .office import read_docx, read_epub
from .pdf import read_pdf
from .text import decode, read_text

__all__ = [
    "READER_VERSION",
    "READERS",
    "ARTICLE_TYPES",
    "named_types",
    "Reading",
    "read",
    "decode",
    "read_text",
    "read_html",
    "read_markdown",
    "read_pdf",
    "read_docx",
    "read_epub",
]

READER_VERSION = 8  # 1: text as extracted by BeautifulSoup and pypdf; 2: rendered blocks with structure;
# 3: phrase elements of web pages (inline code, quotes, times) kept inside their sentence; code blocks unindented;
# 4: declared and detected encodings; plain text as paragraphs without page furniture; definition lists as
# "term: description"; headings without permalink signs; EPUBs with missing parts;
# 5: numbered questions of plain-text FAQs as headings, long or wrapped in two lines; what a colon
# introduces is a heading only when numbered or underlined; 6: a release line of a NEWS file ("version 1.31 - ...")
# as a heading; 7: a page that starts with a numbered, named or release heading is not joined to the page before;
# 8: HTML written into Markdown read as the HTML reader reads it (tables row by row under their header);
# a Project Gutenberg book without the licence after its end

READERS: dict[str, Callable[[bytes, str], Reading]] = {
    ".txt": read_text,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".xhtml": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
    ".epub": read_epub,
}
ARTICLE_TYPES = tuple(READERS)  # the file types read as articles; any other file in the corpus is left alone
# one type for each reader, as messages name them: .txt, .md, .html, .pdf, .docx, .epub
NAMED_TYPES = tuple({reader: suffix for suffix, reader in reversed(READERS.items())}.values())[::-1]


def named_types() -> str:
    """The article types in words, for messages: ".txt, .md, .html, .pdf, .docx or .epub"."""
    return f"{', '.join(NAMED_TYPES[:-1])} or {NAMED_TYPES[-1]}"


def read(suffix: str, data: bytes, source: str) -> Reading:
    """Read `data` with the reader for its file type (`suffix`, such as ".pdf"); unknown types as text.
    A Project Gutenberg book ends where the book does, without the licence after it."""
    return without_licence(READERS.get(suffix.lower(), read_text)(data, source))
