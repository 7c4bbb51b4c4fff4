"""One reader per file type: bytes -> (text, metadata).

Each reader raises CorpusError with a short reason when the file has no
usable text, so the indexer can skip it and say why.
"""

from __future__ import annotations

import io
import logging

from .errors import CorpusError

__all__ = ["read_text", "read_html", "read_pdf", "decode"]

log = logging.getLogger(__name__)

Meta = dict[str, object]


def decode(data: bytes, source: str) -> str:
    """UTF-8 text (a byte-order mark is dropped); binary data is refused."""
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{source}: looks like binary data, not text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{source}: is not valid UTF-8 (byte {exc.start}); save it as UTF-8.") from None


def read_text(data: bytes, source: str) -> tuple[str, Meta]:
    """Plain text or markdown, with optional YAML front matter.

    >>> read_text(b"---\\ntitle: Hi\\n---\\nBody.\\n", "a.md")
    ('Body.', {'title': 'Hi'})
    """
    import frontmatter

    text = decode(data, source)
    if not text.startswith("---"):
        return text, {}
    try:
        post = frontmatter.loads(text)
    except Exception as exc:  # yaml raises many types; the article is still text
        log.warning("%s: front matter ignored (%s)", source, exc.__class__.__name__)
        return text, {}
    return post.content, dict(post.metadata)


def read_html(data: bytes, source: str) -> tuple[str, Meta]:
    """Visible text of an HTML page, one block per line; title and meta tags as metadata."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode(data, source), "html.parser")
    meta: Meta = {}
    if soup.title and soup.title.string:
        meta["title"] = soup.title.string.strip()
    for tag in soup.find_all("meta"):
        key = (tag.get("name") or tag.get("property") or "").lower()
        value = tag.get("content")
        if not value:
            continue
        for field, names in _HTML_META.items():
            if key in names:
                meta.setdefault(field, value)
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n\n".join(line for line in lines if line), meta


_HTML_META = {
    "title": ("og:title", "twitter:title", "dc.title"),
    "author": ("author", "article:author", "dc.creator"),
    "date": ("date", "article:published_time", "dc.date", "pubdate"),
    "url": ("og:url", "canonical"),
}


def read_pdf(data: bytes, source: str) -> tuple[str, Meta]:
    """Text layer of a PDF, pages separated by blank lines; title and author from its info."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise CorpusError(f"{source}: is an encrypted PDF; save an unencrypted copy.")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    except CorpusError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise CorpusError(f"{source}: is not a readable PDF ({exc.__class__.__name__}).") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise CorpusError(f"{source}: PDF has no text layer (scanned?); run OCR on it first.")
    meta: Meta = {"title": info.get("/Title"), "author": info.get("/Author")}
    return text, {k: v for k, v in meta.items() if v}
