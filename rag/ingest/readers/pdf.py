"""PDF -> paragraphs in reading order, with the page each one is on.

pypdfium2 gives the text layer in reading order (columns one after the
other) with each character's box and font size. From those, lines are
rebuilt into paragraphs: a paragraph ends at a wider gap, at a short line
ending a sentence, or at a heading (a larger font). Running heads and feet
(lines repeated at the top or bottom of most pages) and page numbers are
dropped. A word hyphenated at a line end is joined again ("manip-" "ulation"
-> "manipulation") unless the document shows it is a compound ("fossil-fuel").
pypdf was measured against pypdfium2 (docs/formats.md): slower, and it
cannot tell a line-end hyphen from the text.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass

from ...errors import CorpusError
from .blocks import Reading, fold, is_contents_entry
from .html import site_title

__all__ = ["read_pdf", "Line", "dehyphenate"]

log = logging.getLogger(__name__)

_HYPHENS = "\ufffe\u00ad\x02-"  # pdfium marks a hyphen it found at a line end with U+FFFE
_BREAK = re.compile(r"\r\n|\n|(?<=\ufffe)")
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?[-–—(\[]?\s*#+\s*[-–—)\]]?(?:\s*(?:of|/)\s*#+)?$", re.I)
_MARKER = re.compile(r"(?<=[\w.,;:)\"'”])\[\d{1,3}\]")  # a citation marker glued to its word: "centuries.[46]"
_SENTENCE_END = re.compile(r"[.!?:;][\"'”’)\]]*$")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


@dataclass
class Line:
    text: str
    page: int
    top: float
    left: float
    right: float
    size: float  # font size of the line's first letter


def read_pdf(data: bytes, source: str) -> Reading:
    """Text of a PDF in paragraphs; title (less any site suffix) and author from its info.

    A PDF encrypted with an empty user password (it opens without one, only
    printing or copying is restricted) is read; one that needs a password is not.
    """
    import pypdfium2 as pdfium

    if b"%PDF-" not in data[:1024]:  # where the format allows the header to be
        raise CorpusError("not a PDF (no %PDF- header); give it the right extension.", source)
    try:
        doc = pdfium.PdfDocument(data)
        try:
            info = doc.get_metadata_dict(skip_empty=True)
            pages = [_lines(doc[i], i) for i in range(len(doc))]
        finally:
            doc.close()
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise CorpusError("encrypted PDF that needs a password; save an unencrypted copy.", source) from None
        why = re.search(r"PDFium: ([^)]+)", str(exc))
        detail = why.group(1).lower() if why else fold(str(exc))[:80]
        raise CorpusError(f"damaged or truncated PDF ({detail}).", source) from None
    lines = _drop_furniture(pages)
    if not any(line.text.strip() for line in lines):
        raise CorpusError("PDF has no text layer (scanned?); run OCR on it first.", source)
    reading = _paragraphs(lines)
    meta = {"title": info.get("Title"), "author": info.get("Author")}
    reading.meta = {k: fold(v) for k, v in meta.items() if v and fold(v)}
    reading.meta["title"] = site_title(reading.meta.get("title"), reading.headings)
    return reading


def _lines(page, number: int) -> list[Line]:
    """The page's text lines, in the order the text layer gives them."""
    import pypdfium2.raw as raw

    tp = page.get_textpage()
    try:
        trim = _trim_box(page)
        text = tp.get_text_range()
        exact = len(text) == tp.count_chars()  # one character index per character: boxes can be looked up
        out: list[Line] = []
        at = 0
        for piece in _BREAK.split(text):
            start, at = at, at + len(piece) + (0 if piece.endswith("\ufffe") else 2)
            stripped = piece.strip()
            if not stripped:
                continue
            first = start + len(piece) - len(piece.lstrip())
            last = start + len(piece.rstrip()) - 1
            if exact:
                left, _, _, top = tp.get_charbox(first)
                right = tp.get_charbox(last)[2]
                size = raw.FPDFText_GetFontSize(tp.raw, first)
            else:
                left, top, right, size = 0.0, -len(out) * 12.0, 0.0, 10.0
            if exact and trim and _outside(trim, left, top, right):
                continue  # a printer's mark or slug ("book.indd 12 3/4/15 10:12 AM"), cut off with the margin
            out.append(Line(stripped, number, top, left, right, size))
        return _without_line_numbers(out)
    finally:
        tp.close()
        page.close()


def _trim_box(page) -> tuple[float, float, float, float] | None:
    """The page as it is cut after printing (left, bottom, right, top), when it is smaller than the sheet."""
    try:
        trim, media = page.get_trimbox(), page.get_mediabox()
    except Exception:  # a page without usable boxes is read whole
        return None
    return tuple(trim) if tuple(trim) != tuple(media) and trim[2] > trim[0] and trim[3] > trim[1] else None


def _outside(trim: tuple[float, ...], left: float, top: float, right: float) -> bool:
    x0, y0, x1, y1 = trim
    return right < x0 or left > x1 or top < y0 or top > y1 + 2


def _without_line_numbers(lines: list[Line]) -> list[Line]:
    """The page's lines less a margin of line numbers (1, 2, 3, ... down the side of a transcript or a
    draft): five or more numbers in a row, counting up by one, aligned on their right edge."""
    numbers = [i for i, line in enumerate(lines) if line.text.isdigit() and len(line.text) <= 4]
    margin: set[int] = set()
    run: list[int] = []
    for i in numbers:
        if run and int(lines[i].text) == int(lines[run[-1]].text) + 1 and abs(lines[i].right - lines[run[0]].right) < 3:
            run.append(i)
            continue
        margin.update(run if len(run) >= 5 else [])
        run = [i]
    margin.update(run if len(run) >= 5 else [])
    return [line for i, line in enumerate(lines) if i not in margin]


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", fold(text).lower())


def _running_key(key: str) -> str:
    """A line's `_key` as it repeats from page to page: less the page number before or after it
    ("4 © Ecma 2013" and "© Ecma 2013 5" are one foot)."""
    words = re.sub(r"^(?:# )+|(?: #)+$", "", key)
    return words if _WORD.search(words) else key  # a row of figures is not a page number and its foot


def _drop_furniture(pages: list[list[Line]]) -> list[Line]:
    """All lines but running heads and feet (repeated at the top or bottom of most pages), page numbers and
    the entries of a table of contents."""
    edges: Counter[str] = Counter()
    for lines in pages:
        edges.update({_running_key(_key(line.text)) for line in lines[:2] + lines[-2:]})
    repeated = {k for k, n in edges.items() if len(pages) > 1 and n >= max(2, len(pages) / 2)}
    out = []
    for lines in pages:
        for i, line in enumerate(lines):
            if i < 2 or i >= len(lines) - 2:  # at the page's edge: a running head or foot, or a page number
                key = _key(line.text)
                if _running_key(key) in repeated or _PAGE_NUMBER.match(key):
                    continue
            if is_contents_entry(line.text):
                continue
            out.append(Line(_MARKER.sub("", line.text), line.page, line.top, line.left, line.right, line.size))
    return out


def _paragraphs(lines: list[Line]) -> Reading:
    """Join lines into paragraphs and headings; page offsets point where each page's first line landed."""
    body = _body_size(lines)
    sizes = sorted({round(line.size) for line in lines if _is_heading(line, body)}, reverse=True)
    spacing = _spacing(lines, body)
    blocks: list[tuple[int, list[Line]]] = []  # (heading level or 0, lines)
    for prev, line in zip([None, *lines], lines, strict=False):
        level = sizes.index(round(line.size)) + 1 if _is_heading(line, body) else 0
        if prev is None or _breaks(prev, line, level, blocks[-1][0], spacing, lines):
            blocks.append((level, [line]))
        else:
            blocks[-1][1].append(line)
    vocabulary = _vocabulary(lines)
    text: list[str] = []
    headings: list[tuple[int, int, str]] = []
    pages: list[int] = []
    size = 0
    for level, group in blocks:
        if text:
            text.append("\n\n")
            size += 2
        starts: list[int] = []
        joined = dehyphenate([line.text for line in group], vocabulary, starts)
        for line, offset in zip(group, starts, strict=True):
            while len(pages) <= line.page:
                pages.append(size + offset)
        if level:
            headings.append((size, level, fold(joined)))
        text.append(joined)
        size += len(joined)
    return Reading("".join(text), {}, headings, pages)


def _body_size(lines: list[Line]) -> float:
    counts: Counter[float] = Counter()
    for line in lines:
        counts[round(line.size)] += len(line.text)
    return counts.most_common(1)[0][0] if counts else 10.0


def _is_heading(line: Line, body: float) -> bool:
    return line.size >= body * 1.15 and len(line.text) < 150 and not _SENTENCE_END.search(line.text)


def _spacing(lines: list[Line], body: float) -> float:
    """The usual distance from one body line to the next in a column."""
    steps = [
        a.top - b.top
        for a, b in zip(lines, lines[1:], strict=False)
        if a.page == b.page and 0 < a.top - b.top < 4 * body and round(a.size) == round(b.size) == round(body)
    ]
    steps.sort()
    return steps[len(steps) // 2] if steps else body * 1.2


def _breaks(prev: Line, line: Line, level: int, prev_level: int, spacing: float, lines: list[Line]) -> bool:
    if level or prev_level:  # a heading wrapped over two lines stays one heading
        return not (level == prev_level and line.page == prev.page and 0 < prev.top - line.top < 2 * line.size)
    step = prev.top - line.top
    if prev.text.endswith(tuple(_HYPHENS)):
        return False
    same_column = line.page == prev.page and 0 < step < 4 * spacing and abs(line.left - prev.left) < 4 * spacing
    ends_sentence = bool(_SENTENCE_END.search(prev.text))
    if same_column and step > 1.3 * spacing:
        return True
    return ends_sentence and _short(prev, lines)


def _short(line: Line, lines: list[Line]) -> bool:
    """Whether the line stops well before the right edge of its column (the last line of a paragraph)."""
    edge = max((o.right for o in lines if o.page == line.page and abs(o.left - line.left) < 30), default=line.right)
    width = edge - line.left
    return width > 0 and line.right < edge - 0.12 * width


def _vocabulary(lines: list[Line]) -> set[str]:
    """Words of the document not broken at a line end, lower case: evidence for joining hyphenated halves."""
    words: set[str] = set()
    for line in lines:
        text = line.text.rstrip(_HYPHENS)
        body = text.split(maxsplit=1)[-1] if " " in text else ""  # the first word may be a line-end's second half
        body = body.rsplit(maxsplit=1)[0] if " " in body else ""
        words.update(w.lower() for w in _WORD.findall(body))
    return words


def dehyphenate(lines: list[str], vocabulary: set[str], starts: list[int] | None = None) -> str:
    """Lines of one paragraph joined, hyphenation at line ends undone where the document supports it.

    The halves are joined when the document holds the joined word; kept with their hyphen when it holds
    the hyphenated form, when the second half begins with a capital, or when both halves are words of
    the document; joined otherwise. `starts` receives where each line begins in the result.

    >>> dehyphenate(["rising fossil-", "fuel use and data manip-", "ulation."], {"fossil", "fuel", "data"})
    'rising fossil-fuel use and data manipulation.'
    """
    out = ""
    for line in lines:
        if starts is not None:
            starts.append(len(out) + (1 if out and out[-1] != "\x00" else 0))
        if not out:
            out = line
        elif out.endswith(tuple(_HYPHENS)):
            head = out.rstrip(_HYPHENS)
            out = head + ("-" if _keep_hyphen(head, line, vocabulary) else "") + line
            if starts is not None:
                starts[-1] = len(out) - len(line)
        else:
            out += " " + line
    return out


def _keep_hyphen(head: str, tail: str, vocabulary: set[str]) -> bool:
    a = (_WORD.findall(head) or [""])[-1]
    b = (_WORD.findall(tail) or [""])[0]
    if not a or not b:
        return True
    if (a + b).lower() in vocabulary:
        return False
    first_b = b.split("-")[0]
    if f"{a}-{b}".lower() in vocabulary or b[0].isupper():
        return True
    last_a = a.split("-")[-1]
    return last_a.lower() in vocabulary and first_b.lower() in vocabulary and len(first_b) > 2
