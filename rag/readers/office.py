"""Word (.docx) and EPUB files -> blocks.

Word: body paragraphs and tables in order; "Title" and "Heading N" styles
become headings; headers and footers are left out (they repeat on every
page); runs that split a word are joined, as Word shows them. Title and
author come from the document's properties. EPUB: each chapter of the spine
in order, read like an HTML page, its first heading as the chapter's section.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile

from ..errors import CorpusError
from .blocks import Builder, Reading, fold
from .markup import add_blocks

__all__ = ["read_docx", "read_epub"]

log = logging.getLogger(__name__)

_HEADING_STYLE = re.compile(r"^(?:heading|überschrift|titre)\s*(\d)$", re.I)


MAX_INFLATED = 256_000_000  # bytes all members of a .docx or .epub may inflate to: a zip bomb is refused unread
MAX_MEMBERS = 10_000  # files in one .docx or .epub


def _open_zip(data: bytes, source: str, what: str) -> None:
    """Refuse what is not a zip archive, or would inflate past MAX_INFLATED (zipfile reads no more than
    each member's declared size, so the sum of those bounds what the readers get)."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise CorpusError(f"damaged or not a {what} file (not a zip archive); save it again as {what}.", source)
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise CorpusError(f"damaged {what} file ({_why(exc)}); save it again as {what}.", source) from None
    if len(members) > MAX_MEMBERS:
        raise CorpusError(f"{what} file of {len(members)} parts, over the {MAX_MEMBERS} a document may have.", source)
    if any(m.compress_size > m.file_size + m.file_size // 64 + 1024 for m in members):
        # more packed bytes than even incompressible data needs: the declared size is a lie, and reading the
        # member would inflate all of it only to find so
        raise CorpusError(f"damaged {what} file (a part's declared size is wrong); save it again as {what}.", source)
    inflated = sum(m.file_size for m in members)
    if inflated > MAX_INFLATED:
        raise CorpusError(
            f"{what} file that unpacks to {inflated / 1e6:.0f} MB, over the {MAX_INFLATED / 1e6:.0f} MB limit "
            "(a zip bomb?); not read.",
            source,
        )


def _why(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"{exc.args[0] if exc.args else 'a part'} is missing"
    return fold(str(exc))[:80] or exc.__class__.__name__


def read_docx(data: bytes, source: str) -> Reading:
    """A Word document's paragraphs, headings and tables; title and author from its properties."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    _open_zip(data, source, ".docx")
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise CorpusError(f"damaged Word file, or not one ({_why(exc)}); save it again as .docx.", source) from None
    b = Builder()
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            _table(block, b)
        else:
            _paragraph(block, b)
    props = document.core_properties
    meta = {"title": fold(props.title or ""), "author": fold(props.author or "")}
    reading = b.reading({k: v for k, v in meta.items() if v})
    if not reading.meta.get("title") and reading.headings:
        reading.meta["title"] = reading.headings[0][2]
    return reading


def _paragraph(paragraph, b: Builder) -> None:
    text = paragraph.text  # the runs' text back to back: a word split over runs comes out whole
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    match = _HEADING_STYLE.match(style.strip())
    if style.strip().lower() == "title":
        b.heading(text, 1)
    elif match:
        b.heading(text, int(match.group(1)) + 1)
    elif style.lower().startswith("list"):
        b.item(text)
    else:
        b.paragraph(text)


def _table(table, b: Builder) -> None:
    for row in table.rows:
        cells = list(dict.fromkeys(cell._tc for cell in row.cells))  # a merged cell appears once per column
        texts = [fold(" ".join(p.text for p in _cell(row, tc).paragraphs)) for tc in cells]
        if any(texts):
            b.item(" | ".join(texts))


def _cell(row, tc):
    return next(cell for cell in row.cells if cell._tc is tc)


def read_epub(data: bytes, source: str) -> Reading:
    """The chapters of an EPUB in reading order, each read as HTML; title and author from its metadata."""
    import ebooklib
    import lxml.html
    from ebooklib import epub

    _open_zip(data, source, ".epub")
    try:
        book = epub.read_epub(io.BytesIO(data), {"ignore_ncx": True})
    except (epub.EpubException, KeyError, ValueError, zipfile.BadZipFile, AttributeError) as exc:
        raise CorpusError(f"damaged EPUB file, or not one ({_why(exc)}); save it again as .epub.", source) from None
    b = Builder()
    for item_id, _ in book.spine:
        item = book.get_item_with_id(item_id)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT:
            continue
        content = item.get_content()
        if not content.strip():
            continue
        try:
            tree = lxml.html.document_fromstring(content)
        except (ValueError, lxml.etree.ParserError):
            log.info("%s: chapter %s is not readable HTML; skipped", source, item_id)
            continue
        body = tree.find("body")
        add_blocks(body if body is not None else tree, b)
    meta = {}
    for field in ("title", "creator", "date"):
        values = book.get_metadata("DC", field)
        if values and fold(str(values[0][0])):
            meta["author" if field == "creator" else field] = fold(str(values[0][0]))
    reading = b.reading(meta)
    if not reading.meta.get("title") and reading.headings:
        reading.meta["title"] = reading.headings[0][2]
    return reading
