"""An HTML tree -> blocks: what a browser shows as paragraphs, headings, lists and tables.

Inline elements (links, emphasis, code, reference spans) stay inside their
sentence; block elements start a new block. Shared by the HTML and EPUB readers.
"""

from __future__ import annotations

import re

from .blocks import Builder, fold, table_row

__all__ = ["add_blocks", "merge_terms", "BLOCK_TAGS", "HEADING_LEVELS"]

HEADING_LEVELS = {f"h{n}": n for n in range(1, 7)}
BLOCK_TAGS = frozenset(
    "address article aside blockquote body center details dialog dd div dl dt fieldset figcaption figure footer "
    "form header hgroup hr html li main nav ol p pre section summary table tbody thead tfoot tr ul caption".split()
) | frozenset(HEADING_LEVELS)
_SKIP_TAGS = frozenset(
    "script style noscript template head svg math iframe object button select input textarea".split()
)
_TIGHT = frozenset({"li", "dt", "dd"})
_CELL = re.compile(r"^t[dh]$")


def add_blocks(root, b: Builder) -> None:
    """Add the blocks under the lxml element `root` to `b`, in document order."""
    merge_terms(root)
    buf: list[str] = []
    _visit(root, b, buf, tight=False)
    _flush(b, buf, tight=False)


def merge_terms(root) -> None:
    """Put each term of a definition list at the start of its description, in place, so that the two are
    read as one: <dt>TMOUT</dt><dd>If set...</dd> -> <dd>TMOUT: If set...</dd>. Terms in a row share one
    description ("-v, --verbose: ...")."""
    terms: list[str] = []
    for el in list(root.iter("dt", "dd")):
        if el.tag == "dt":
            if fold(el.text_content()):
                terms.append(fold(el.text_content()))
            el.drop_tree() if el.getnext() is not None and el.getnext().tag in ("dt", "dd") else el.drop_tag()
        elif terms:
            lead = f"{', '.join(terms)}: "
            terms = []
            first = el
            while not (first.text or "").strip() and len(first) and _tag(first[0]) in BLOCK_TAGS:
                first = first[0]
            first.text = lead + (first.text or "").lstrip()


def _tag(el) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def _flush(b: Builder, buf: list[str], tight: bool) -> None:
    text = fold("".join(buf))
    buf.clear()
    if text:
        (b.item if tight else b.paragraph)(text)


def _visit(el, b: Builder, buf: list[str], tight: bool) -> None:
    if el.text:
        buf.append(el.text)
    for child in el:
        tag = _tag(child)
        if not tag or tag in _SKIP_TAGS:
            pass
        elif tag == "br":
            _flush(b, buf, tight)
            tight = True  # lines broken with <br> stay together, like a poem or an address
        elif tag in HEADING_LEVELS:
            _flush(b, buf, tight)
            b.heading(_heading_text(child), HEADING_LEVELS[tag])
        elif tag == "pre":
            _flush(b, buf, tight)
            b.add(_code_block(child))
        elif tag == "table":
            _flush(b, buf, tight)
            _table(child, b)
        elif tag in BLOCK_TAGS:
            _flush(b, buf, tight)
            inner = tight or tag in _TIGHT
            _visit(child, b, buf, inner)
            _flush(b, buf, inner)
        else:
            _visit(child, b, buf, tight)
        if child.tail:
            buf.append(child.tail)


def _heading_text(el) -> str:
    """A heading's words, without the links to itself documentation generators add ("Usage¶", "Usage#")."""
    parts = [el.text or ""]
    for child in el:
        if not (_tag(child) == "a" and _is_permalink(child)):
            parts.append(child.text_content())
        parts.append(child.tail or "")
    return "".join(parts)


def _is_permalink(a) -> bool:
    text = fold(a.text_content())
    names = f"{a.get('class') or ''} {a.get('title') or ''}".lower()
    return (a.get("href") or "").startswith("#") and (len(text) <= 2 or "permalink" in names or "anchor" in names)


def _code_block(pre) -> str:
    """A <pre> block's lines as written, less the layout whitespace before its inner element (`<pre> <code>`)."""
    text = pre.text_content()
    if len(pre) and pre.text and not pre.text.strip():
        text = text[len(pre.text) :]
    return text.rstrip()


def _table(table, b: Builder) -> None:
    """One line per row, cells separated by " | "; a caption first. When the first row is a header (all
    <th>, or inside <thead>), the rows under it name each cell by its column (`table_row`)."""
    for caption in table.iter("caption"):
        b.paragraph(caption.text_content())
    header: list[str] | None = None
    first = True
    for row in table.iter("tr"):
        cells = [c for c in row if _CELL.match(_tag(c))]
        texts = [fold(c.text_content()) for c in cells]
        if not any(texts):
            continue
        if first and (all(_tag(c) == "th" for c in cells) or _tag(row.getparent()) == "thead"):
            header = texts
            b.item(" | ".join(texts))
        else:
            b.item(table_row(texts, header))
        first = False
