"""HTML pages -> the article a person reads: main content only, with its headings.

The page is cleaned first (navigation, headers and footers of the site,
sidebars, edit links, reference markers such as [12], reference lists and
cookie banners go), then trafilatura picks the main content, which is turned
into blocks (markup.py). Title, author, date and address come from the page's
metadata; the title loses its site suffix ("Normans - Wikipedia" -> "Normans").
The choice of extractor was measured: docs/formats.md.
"""

from __future__ import annotations

import copy
import logging
import re

from ...errors import CorpusError
from .blocks import Builder, Reading, fold, is_back_matter, with_byline
from .markup import HEADING_LEVELS, add_blocks, merge_terms
from .text import decode

__all__ = ["read_html", "clean_tree", "parse_html", "page_meta", "site_title", "EXTRACTORS"]

log = logging.getLogger(__name__)

# Parts of class and id names that mark page furniture rather than the article.
_FURNITURE = frozenset(
    "nav navbar navbox navigation menu breadcrumb breadcrumbs sidebar cookie cookies consent gdpr banner advert "
    "advertisement ads share sharing social toc catlinks editsection reflist references hatnote printfooter noprint "
    "jump sitesub skip subscribe newsletter related navheader navfooter".split()
)
_FURNITURE_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "menu", "dialog"})
_FURNITURE_TAGS = frozenset({"nav", "aside", "form", "button", "script", "style", "noscript", "template", "svg"})
_MARKER = re.compile(r"^\s*\[(?:\d{1,4}|[a-z]|citation needed|note \d+|edit)\]\s*$", re.I)
_NAME_PART = re.compile(r"[\s_-]+")
_TITLE_SEPARATORS = re.compile(r"\s+[-|–—:·•]\s+")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def read_html(data: bytes, source: str, extractor: str = "trafilatura") -> Reading:
    """Main text of an HTML page in blocks; title, author, date and url as metadata."""
    html = decode(data, source, markup=True)
    tree = parse_html(html, source)
    meta = page_meta(tree)
    clean_tree(tree)
    byline = _byline(tree)
    merge_terms(tree)
    extracted = EXTRACTORS[extractor](tree)
    if extracted is not None and extractor != "page":
        _restore_tables(extracted, tree)
    reading = _blocks(extracted, meta)
    if extractor != "page":
        whole = _blocks(tree, meta)
        if len(reading.text.split("\n\n")) < 2 or _lost_headings(reading, whole) or _broken_table(extracted):
            # A page too small for the extractor comes back as one run of text (or none), some pages come
            # back without their headings, and some with a table's cells out of their rows (run together):
            # the cleaned page itself is then the better reading.
            reading = whole if len(whole.text) >= len(reading.text) else reading
    if not reading.text.strip():  # all of it was named like furniture: the page less its <nav>, <aside>, ...
        tree = parse_html(html, source)
        clean_tree(tree, by_name=False)
        reading = _blocks(_page(tree), meta)
    reading.meta["title"] = site_title(meta.get("title"), reading.headings)
    return with_byline(reading, byline) if byline else reading


def _byline(tree) -> str | None:
    """The article's by-line as the page shows it ("By Ann Lee, Senior Editor"): the first short element
    marked as one (class, id, rel or itemprop "byline" or "author") that names someone."""
    for el in tree.iter():
        if not isinstance(el.tag, str) or el.tag in ("meta", "link", "script", "style"):
            continue
        names = " ".join(el.get(k) or "" for k in ("class", "id", "rel", "itemprop")).lower()
        if not any(part in ("byline", "author") for part in _NAME_PART.split(names)):
            continue
        text = fold(el.text_content())
        if 2 <= len(text.split()) <= 30 and any(c.isupper() for c in text):
            return text if text.lower().startswith("by ") else f"By {text}"
    return None


def _lost_headings(extracted: Reading, whole: Reading) -> bool:
    """Whether the extractor kept most of the page's text but dropped most of its headings (DocBook's
    headings, inside layout <div>s, are dropped so)."""
    return (
        len(whole.headings) >= 3
        and len(extracted.headings) < len(whole.headings) / 2
        and len(extracted.text) >= 0.7 * len(whole.text)
    )


def _restore_tables(extracted, page) -> None:
    """Put the page's own tables back in place of the extractor's copies, in place: an extractor blanks
    cells it takes for page furniture (a cell reading "twitter" in a benchmark's table of files). Each
    extracted table is matched to the page's table sharing most of its cells' texts."""
    originals = [(table, _cell_texts(table)) for table in page.iter("table")]
    for table in list(extracted.iter("table")):
        got = _cell_texts(table)
        if not got or table.getparent() is None:
            continue
        best, texts = max(originals, key=lambda o: len(got & o[1]), default=(None, set()))
        if best is not None and len(got & texts) >= len(got) / 2:
            restored = copy.deepcopy(best)
            restored.tail = table.tail
            table.getparent().replace(table, restored)


def _cell_texts(table) -> set[str]:
    return {text for cell in table.iter("td", "th") if (text := fold(cell.text_content()))}


def _broken_table(root) -> bool:
    """Whether the extractor left a table cell outside any row (it does so with tables inside list items)."""
    return root is not None and any(
        not any(a.tag == "tr" for a in cell.iterancestors()) for cell in root.iter("td", "th")
    )


def _blocks(root, meta: dict) -> Reading:
    b = Builder()
    if root is not None:
        add_blocks(root, b)
    return b.reading(dict(meta))


def parse_html(html: str, source: str):
    import lxml.html
    from lxml.etree import ParserError

    html = _XML_DECLARATION.sub("", html, count=1)  # lxml refuses a declared encoding in decoded text
    try:
        return lxml.html.document_fromstring(html)
    except (ParserError, ValueError) as exc:
        raise CorpusError(f"not readable as HTML ({exc}).", source) from None


def page_meta(tree) -> dict:
    """Title, author, date and url from <title>, <meta> tags and the canonical link."""
    meta: dict = {}
    title = tree.find(".//title")
    if title is not None and fold(title.text_content()):
        meta["title"] = fold(title.text_content())
    for tag in tree.iter("meta"):
        key = (tag.get("name") or tag.get("property") or "").lower()
        value = fold(tag.get("content") or "")
        for name, keys in _META.items():
            if value and key in keys:
                meta.setdefault(name, value)
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            meta["url"] = link.get("href")
    return meta


_META = {
    "title": ("og:title", "twitter:title", "dc.title"),
    "author": ("author", "article:author", "dc.creator"),
    "date": ("date", "article:published_time", "dc.date", "pubdate"),
    "url": ("og:url",),
}


def site_title(title: str | None, headings: list[tuple[int, int, str]]) -> str | None:
    """The title a person would give: the page's first <h1> when <title> holds it, else <title> less
    its site suffix.

    >>> site_title("Normans - Wikipedia", [])
    'Normans'
    >>> site_title("Spider-Man | Marvel", [(0, 1, "Spider-Man")])
    'Spider-Man'
    """
    h1 = next((text for _, level, text in headings if level == 1), None)
    if h1 and (not title or h1.lower() in title.lower()):
        return h1
    if not title:
        return headings[0][2] if headings else None
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) > 1 and len(parts[-1].split()) <= 4:
        return " - ".join(parts[:-1]) if len(parts) > 2 else parts[0]
    return title


def clean_tree(tree, by_name: bool = True) -> None:
    """Drop page furniture in place: site navigation, edit links, reference markers and lists, back matter.

    An element is furniture by its tag or role, or by a class or id name such as "sidebar", unless it holds
    the article: the page's body, its <main> or <article>, its <h1>, or most of its text (a layout class
    such as "two-col-sidebar-right" on the element around everything is not a sidebar).
    """
    total = len(tree.text_content()) if by_name else -1
    doomed = [el for el in tree.iter() if isinstance(el.tag, str) and _is_furniture(el, total)]
    doomed += _back_matter(tree)
    for el in doomed:
        _drop(el)


def _is_furniture(el, total: int = 0) -> bool:
    tag = el.tag.lower()
    if tag in _FURNITURE_TAGS or (el.get("role") or "").lower() in _FURNITURE_ROLES:
        return True
    if tag in ("header", "footer"):  # a site's header or footer; an article's own header holds its title
        return not any(a.tag in ("article", "main") for a in el.iterancestors())
    if tag == "sup" and _MARKER.match(el.text_content()):
        return True
    names = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
    if total < 0 or not any(part in _FURNITURE for part in _NAME_PART.split(names) if part):
        return False
    return not _holds_article(el, tag, total)


def _holds_article(el, tag: str, total: int) -> bool:
    if tag in ("html", "body", "main", "article"):
        return True
    if el.find(".//main") is not None or el.find(".//article") is not None or el.find(".//h1") is not None:
        return True
    return total > 0 and len(el.text_content()) > total / 2


def _back_matter(tree) -> list:
    """Sections such as References or External links: the heading and what follows it up to the next heading
    of the same or a higher level."""
    out = []
    for el in tree.iter(*HEADING_LEVELS):
        if not is_back_matter(el.text_content()):
            continue
        level = HEADING_LEVELS[el.tag]
        start = el.getparent() if "mw-heading" in (el.getparent().get("class") or "") else el
        out.append(start)
        for sibling in start.itersiblings():
            if isinstance(sibling.tag, str) and _heading_level(sibling) <= level:
                break
            out.append(sibling)
    return out


def _heading_level(el) -> int:
    levels = [HEADING_LEVELS[h.tag] for h in el.iter(*HEADING_LEVELS)]
    return min(levels) if levels else 99


def _drop(el) -> None:
    """Remove an element but keep the text that follows it (its tail)."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


# Phrase elements that trafilatura would break out of their sentence or drop (links and emphasis it keeps inline,
# and their links are a sign of navigation it reads).
_INLINE = ("code", "kbd", "samp", "tt", "var", "q", "time", "data")


def _trafilatura(tree):
    import lxml.html
    import trafilatura

    # trafilatura makes some phrase elements blocks (inline <code> a <pre>, <q> a paragraph), which splits
    # the sentence around them ("a tool called", "rustdoc", ". Its job is..."), and drops others (<time>):
    # they are handed over as the words they hold. Code blocks keep theirs.
    for el in list(tree.iter(*_INLINE)):
        if el.getparent() is not None and not any(a.tag == "pre" for a in el.iterancestors()):
            el.drop_tag()
    html = trafilatura.extract(
        lxml.html.tostring(tree, encoding="unicode"),
        output_format="html",
        include_comments=False,
        include_tables=True,
        include_links=False,
        include_images=False,
        favor_recall=True,
        deduplicate=False,
    )
    return lxml.html.document_fromstring(html) if html else None


def _readability(tree):
    import lxml.html
    from readability import Document

    html = Document(lxml.html.tostring(tree, encoding="unicode")).summary(html_partial=True)
    return lxml.html.fragment_fromstring(html, create_parent="div") if html else None


def _page(tree):
    body = tree.find("body")
    return body if body is not None else tree


EXTRACTORS = {"trafilatura": _trafilatura, "readability": _readability, "page": _page}
