"""Word (.docx) and EPUB files -> blocks.

Word: body paragraphs and tables in order; "Title" and "Heading N" styles
become headings; headers and footers are left out (they repeat on every
page), and so is a table of contents ("TOC" styles); runs that split a word
are joined, as Word shows them. Title and author come from the document's
properties. EPUB: each chapter of the spine in order, read like an HTML
page, its first heading as the chapter's section.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile

from ...errors import CorpusError
from .blocks import Builder, Reading, fold, table_row
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
    notes = _notes(document)
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            _table(block, b)
        else:
            _paragraph(block, b)
            _boxes_and_notes(block._p, b, notes)
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
    if style.strip().lower().startswith("toc"):  # a table of contents: its entries repeat the headings
        return
    if style.strip().lower() == "title":
        b.heading(text, 1)
    elif match:
        b.heading(text, int(match.group(1)) + 1)
    elif style.lower().startswith("list"):
        b.item(text)
    else:
        b.paragraph(text)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"


def _text_of(p) -> str:
    """A <w:p>'s own text (not that of text boxes anchored in it), tabs and breaks as spaces."""
    parts = []
    for el in p.iter(f"{_W}t", f"{_W}tab", f"{_W}br"):
        if _in_box(el, p):
            continue
        parts.append(el.text or "" if el.tag == f"{_W}t" else " ")
    return "".join(parts)


def _in_box(el, p) -> bool:
    """Whether `el` is in a text box anchored inside the paragraph `p`."""
    for parent in el.iterancestors():
        if parent is p:
            return False
        if parent.tag == f"{_W}txbxContent":
            return True
    return False


def _notes(document) -> dict[str, list[str]]:
    """Footnotes and endnotes by id: the paragraphs of each."""
    from lxml import etree

    notes: dict[str, list[str]] = {}
    for rel in document.part.rels.values():
        if rel.is_external or not rel.reltype.endswith(("/footnotes", "/endnotes")):
            continue
        try:
            root = etree.fromstring(rel.target_part.blob)
        except etree.XMLSyntaxError:
            continue
        for note in root:
            kind = "f" if note.tag == f"{_W}footnote" else "e"
            if note.get(f"{_W}type") in (None, "normal"):
                notes[kind + (note.get(f"{_W}id") or "")] = [fold(_text_of(p)) for p in note.iter(f"{_W}p")]
    return notes


def _boxes_and_notes(p, b: Builder, notes: dict[str, list[str]]) -> None:
    """After a paragraph: the text of the text boxes anchored in it, then the notes it refers to, each
    as its own paragraph, as a reader meets them on the page."""
    for box in p.iter(f"{_W}txbxContent"):
        if any(a.tag == _FALLBACK for a in box.iterancestors()):
            continue  # the same box again, for older versions of Word
        for inner in box.iter(f"{_W}p"):
            b.paragraph(_text_of(inner))
    for ref in p.iter(f"{_W}footnoteReference", f"{_W}endnoteReference"):
        kind = "f" if ref.tag == f"{_W}footnoteReference" else "e"
        for text in notes.pop(kind + (ref.get(f"{_W}id") or ""), []):
            b.paragraph(text)


def _table(table, b: Builder) -> None:
    """One line per row. A first row marked to repeat as the header on each page, or set all in bold,
    names the cells of the rows under it (`table_row`)."""
    header: list[str] | None = None
    for i, row in enumerate(table.rows):
        cells = list(dict.fromkeys(cell._tc for cell in row.cells))  # a merged cell appears once per column
        texts = [fold(" ".join(p.text for p in _cell(row, tc).paragraphs)) for tc in cells]
        if not any(texts):
            continue
        if i == 0 and _is_header(row, cells):
            header = texts
            b.item(" | ".join(texts))
        else:
            b.item(table_row(texts, header))


def _is_header(row, cells) -> bool:
    if row._tr.xpath("./w:trPr/w:tblHeader"):
        return True
    runs = [r for tc in cells for p in _cell(row, tc).paragraphs for r in p.runs if r.text.strip()]
    return bool(runs) and all(r.bold for r in runs)


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
        # ebooklib refuses a book with any part missing (an image, say): read what is there by hand
        log.info("%s: %s; reading the chapters that are there", source, _why(exc))
        chapters, meta = _epub_by_hand(data, source, exc)
    else:
        chapters = _chapters(book, ebooklib.ITEM_DOCUMENT)
        meta = {}
        for field in ("title", "creator", "date"):
            values = book.get_metadata("DC", field)
            if values and fold(str(values[0][0])):
                meta["author" if field == "creator" else field] = fold(str(values[0][0]))
    b = Builder()
    for name, content in chapters:
        if not content.strip():
            continue
        try:
            tree = lxml.html.document_fromstring(content)
        except (ValueError, lxml.etree.ParserError):
            log.info("%s: chapter %s is not readable HTML; skipped", source, name)
            continue
        body = tree.find("body")
        add_blocks(body if body is not None else tree, b)
    reading = b.reading(meta)
    if not reading.meta.get("title") and reading.headings:
        reading.meta["title"] = reading.headings[0][2]
    return reading


def _chapters(book, document_type):
    for item_id, _ in book.spine:
        item = book.get_item_with_id(item_id)
        if item is not None and item.get_type() == document_type:
            yield item_id, item.get_content()


_OPF = "{http://www.idpf.org/2007/opf}"
_DC = "{http://purl.org/dc/elements/1.1/}"


def _epub_by_hand(data: bytes, source: str, exc: Exception):
    """(chapters in spine order as (name, bytes), metadata) straight from the zip; missing parts are passed
    over. Raises CorpusError when not even the book's table of parts (its OPF file) can be read."""
    import posixpath

    from lxml import etree

    damaged = CorpusError(f"damaged EPUB file, or not one ({_why(exc)}); save it again as .epub.", source)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        container = etree.fromstring(archive.read("META-INF/container.xml"))
        opf_path = next(el.get("full-path") for el in container.iter() if str(el.tag).endswith("rootfile"))
        opf = etree.fromstring(archive.read(opf_path))
    except (KeyError, StopIteration, etree.XMLSyntaxError, zipfile.BadZipFile, ValueError, TypeError):
        raise damaged from None
    folder = posixpath.dirname(opf_path)
    hrefs = {el.get("id"): el.get("href") for el in opf.iter(f"{_OPF}item")}
    names = set(archive.namelist())
    chapters = []
    for ref in opf.iter(f"{_OPF}itemref"):
        href = hrefs.get(ref.get("idref"))
        if not href:
            continue
        path = posixpath.normpath(posixpath.join(folder, href.split("#")[0]))
        if path in names:
            chapters.append((path, archive.read(path)))
        else:
            log.info("%s: chapter %s is missing; skipped", source, path)
    meta = {}
    for field, key in (("title", "title"), ("creator", "author"), ("date", "date")):
        el = opf.find(f".//{_DC}{field}")
        if el is not None and fold(el.text or ""):
            meta[key] = fold(el.text or "")
    return chapters, meta
