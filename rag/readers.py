"""One reader per file type: bytes -> (text, metadata).

Each reader raises CorpusError with a short reason when the file has no
usable text, so the indexer can skip it and say why. Articles come from
anywhere, so a parser failing in a way we did not foresee is also turned into
a reason rather than allowed to stop the whole index.
"""

from __future__ import annotations

import io
import logging

from .errors import CorpusError

__all__ = ["read_text", "read_html", "read_pdf", "decode"]

log = logging.getLogger(__name__)

Meta = dict[str, object]


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode(data: bytes, source: str) -> str:
    """UTF-8 text (a byte-order mark is dropped), or UTF-16 with a byte-order mark; binary data is refused.

    >>> decode("é".encode("utf-16"), "a.txt")
    'é'
    """
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise CorpusError("starts like UTF-16 but is not valid UTF-16; save it as UTF-8.", source) from None
    if b"\x00" in data[:8192]:
        raise CorpusError("binary data, not text.", source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"not valid UTF-8 (byte {exc.start}); save it as UTF-8.", source) from None


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
    """Text layer of a PDF, pages separated by blank lines; title and author from its info.

    A PDF encrypted with an empty user password (it opens without one, only
    printing or copying is restricted) is read; one that needs a password is not.
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if b"%PDF-" not in data[:1024]:  # where the format allows the header to be
        raise CorpusError("not a PDF (no %PDF- header); give it the right extension.", source)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _opens_without_password(reader):
            raise CorpusError("encrypted PDF that needs a password; save an unencrypted copy.", source)
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    except CorpusError:
        raise
    except PyPdfError as exc:
        raise CorpusError(f"damaged or truncated PDF ({exc.__class__.__name__}).", source) from None
    except Exception as exc:  # pypdf meets hostile input with all kinds of exceptions
        log.debug("%s: PDF reader failed", source, exc_info=True)
        raise CorpusError(f"damaged PDF, cannot be read ({exc.__class__.__name__}).", source) from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise CorpusError("PDF has no text layer (scanned?); run OCR on it first.", source)
    meta: Meta = {"title": info.get("/Title"), "author": info.get("/Author")}
    return text, {k: v for k, v in meta.items() if v}


def _opens_without_password(reader) -> bool:
    from pypdf import PasswordType

    try:
        return reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except Exception:  # unsupported encryption, or a missing optional AES library
        log.debug("empty-password decryption failed", exc_info=True)
        return False
