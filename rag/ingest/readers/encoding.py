"""Bytes -> text in the encoding the file says it is in, or the one it is found to be in.

The order is a browser's: a byte-order mark; for markup, the encoding it
declares (`<?xml encoding=...?>`, `<meta charset>`, `http-equiv`); then UTF-8;
then detection (charset-normalizer). A file that declares its encoding is
never refused for not being UTF-8.

>>> decode_bytes("café".encode("cp1252"), "a.txt")
'café'
>>> decode_bytes(b'<?xml version="1.0" encoding="ISO-8859-1"?><p>caf\\xe9</p>', "a.xhtml", markup=True)
'<?xml version="1.0" encoding="ISO-8859-1"?><p>café</p>'
"""

from __future__ import annotations

import codecs
import logging
import re

from ...errors import CorpusError

__all__ = ["decode_bytes", "declared_encoding"]

log = logging.getLogger(__name__)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_META = re.compile(rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
# Labels a browser reads as windows-1252, a superset of them (the HTML standard's encoding table).
_AS_CP1252 = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "ascii", "us-ascii", "cp819"})


def declared_encoding(data: bytes) -> str | None:
    """The encoding markup declares in its first 4 KB: the XML declaration, else a <meta> charset.

    >>> declared_encoding(b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">')
    'windows-1252'
    """
    head = data[:4096]
    match = _XML_DECL.match(head) or _META.search(head)
    if not match:
        return None
    label = match.group(1).decode("ascii").lower()
    label = "windows-1252" if label in _AS_CP1252 else label
    try:
        return codecs.lookup(label).name if label != "windows-1252" else label
    except LookupError:
        return None


def decode_bytes(data: bytes, source: str, markup: bool = False) -> str:
    """The text of `data`; `markup` files (HTML, XML) may declare their encoding inside."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(name)
            except UnicodeDecodeError:
                what = name.upper().replace("-SIG", "")
                raise CorpusError(f"starts with a {what} mark but is not valid {what}.", source) from None
    if b"\x00" in data[:8192]:
        raise CorpusError("binary data, not text.", source)
    declared = declared_encoding(data) if markup else None
    if declared and declared not in ("utf-8", "utf_8"):
        try:
            return data.decode(declared)
        except UnicodeDecodeError:
            log.info("%s: not valid %s as declared; detecting its encoding", source, declared)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    if text.count("\ufffd") * 1000 < len(text):  # UTF-8 with a few broken bytes, not another encoding
        return text
    return _detected(data, source)


def _detected(data: bytes, source: str) -> str:
    """Text in the encoding charset-normalizer finds most likely; undecodable bytes shown as U+FFFD.

    Short texts fit many encodings equally well: when one of the best reads the bytes as windows-1252 does,
    windows-1252 is taken, as a browser would.
    """
    from charset_normalizer import from_bytes

    results = list(from_bytes(data))
    western = data.decode("cp1252", errors="replace")
    if not results:
        return western
    least = min(r.chaos for r in results)
    if any(r.chaos == least and str(r) == western for r in results):
        log.info("%s: not UTF-8; read as windows-1252", source)
        return western
    log.info("%s: not UTF-8; read as %s", source, results[0].encoding)
    return data.decode(results[0].encoding, errors="replace")
