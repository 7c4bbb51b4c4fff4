"""A PDF passage's page as a picture, the passage's lines marked: rendered with pdfium when first cited, cached.

    path = page_image(pdf_file, page=9, passage=text, cache=index / "pages")   # a PNG, or None

The passage's text is what the reader made of the page (running heads, page numbers and line-end hyphens
gone), so it is found on the page by its words, not its characters: the page's words and the passage's
are aligned, and the page's characters from the first to the last matched word are marked, one band per
line of text. A page that cannot be rendered gives None; the text view stays.
"""

from __future__ import annotations

import hashlib
import logging
import re
from difflib import SequenceMatcher
from pathlib import Path

from ..atomic import replacing

__all__ = ["page_image", "passage_boxes", "SCALE"]

log = logging.getLogger(__name__)

SCALE = 1.5  # 108 dots per inch: a page about 900 pixels wide, sharp beside the text at desktop width
MARK = (253, 230, 138)  # the chat's highlight yellow, multiplied in so that the text keeps its colour
MIN_BLOCK = 3  # words in a row that must agree for a match to count (a lone "the" is no evidence)
_WORD = re.compile(r"\w+")


def page_image(pdf: Path, page: int, passage: str, cache: Path) -> Path | None:
    """The PNG of page `page` (1 for the first) of `pdf` with `passage` marked, rendered once and kept in `cache`."""
    try:
        st = pdf.stat()
    except OSError:
        return None
    key = hashlib.sha256(f"{pdf.resolve()}|{st.st_mtime_ns}|{st.st_size}|{page}|{passage}".encode()).hexdigest()
    target = cache / f"{key[:32]}.png"
    if target.is_file():
        return target
    try:
        image = _render(pdf, page, passage)
    except Exception as exc:  # pdfium's errors have no common type; a damaged file must not break the answer
        log.info("cannot render page %s of %s: %s", page, pdf, exc)
        return None
    if image is None:
        return None
    cache.mkdir(parents=True, exist_ok=True)
    with replacing(target) as tmp:  # whole or absent, even with two answers rendering the same page
        image.save(tmp, format="PNG", optimize=True)
    return target


def _render(pdf: Path, page: int, passage: str):
    import pypdfium2 as pdfium
    from PIL import Image, ImageChops, ImageDraw

    doc = pdfium.PdfDocument(str(pdf))
    try:
        if not 1 <= page <= len(doc):
            return None
        pg = doc[page - 1]
        height = pg.get_height()
        image = pg.render(scale=SCALE).to_pil().convert("RGB")
        boxes = passage_boxes(pg.get_textpage(), passage)
    finally:
        doc.close()
    overlay = Image.new("RGB", image.size, (255, 255, 255))
    draw = ImageDraw.Draw(overlay)
    for left, bottom, right, top in boxes:
        pad = 1.5  # points around each line's characters
        corners = (left - pad, height - top - pad, right + pad, height - bottom + pad)  # PDF y runs upwards
        draw.rectangle(tuple(v * SCALE for v in corners), fill=MARK)
    return ImageChops.multiply(image, overlay)


def passage_boxes(textpage, passage: str) -> list[tuple[float, float, float, float]]:
    """Boxes (left, bottom, right, top, in PDF points) covering the passage's text on the page, one per line."""
    n = textpage.count_chars()
    text = "".join(textpage.get_text_range(i, 1) or " " for i in range(n))  # one character per index
    page_words = [(m.group().casefold(), m.start(), m.end()) for m in _WORD.finditer(text)]
    wanted = [w.casefold() for w in _WORD.findall(passage)]
    matcher = SequenceMatcher(None, [w for w, _, _ in page_words], wanted, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size >= MIN_BLOCK]
    if not blocks:
        return []
    first, last = page_words[blocks[0].a][1], page_words[blocks[-1].a + blocks[-1].size - 1][2]
    while last < n and not text[last].isspace():  # the closing stop or quote
        last += 1
    lines: list[list[float]] = []
    for i in range(first, last):
        if text[i].isspace():
            continue
        left, bottom, right, top = textpage.get_charbox(i)
        line = lines[-1] if lines else None
        if line is not None and abs(line[1] - bottom) < 0.5 * max(top - bottom, 1.0) and left >= line[2] - 2:
            line[0], line[1] = min(line[0], left), min(line[1], bottom)
            line[2], line[3] = max(line[2], right), max(line[3], top)
        else:
            lines.append([left, bottom, right, top])
    return [(box[0], box[1], box[2], box[3]) for box in lines]
