"""Hostile files, built when a test or benchmark needs them (none is kept in git).

    case = CASES["pdf-flate-bomb"]
    case.build(corpus, outside)   # writes the file(s) into corpus/; a canary file outside it
    case.expect                   # "skipped" (with case.reason in the reason) or "read"

Each case is something a cloned repository, an unzipped download, a synced
drive or an upload could put in the articles folder. `outside` is a folder
beside the corpus holding CANARY, a secret no output or index file may show.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .pdfs import make_pdf

__all__ = ["CANARY", "GOOD_ARTICLE", "GOOD_QUESTION", "Case", "CASES", "make_canary", "deflate_bomb"]

CANARY = "zebracanary-7f3e9 secret token"
GOOD_ARTICLE = (
    "Okapis of the Ituri forest\n\n"
    "The okapi is a shy forest giraffe of the Ituri rainforest. Okapis eat leaves and fruit, "
    "and their striped legs hide them among the trees.\n"
)
GOOD_QUESTION = "What does the okapi eat in the Ituri rainforest?"


@dataclass(frozen=True)
class Case:
    build: Callable[[Path, Path], None]  # (corpus, outside) -> writes the hostile file(s)
    expect: str  # "skipped" or "read"
    reason: str = ""  # a phrase of the skip reason; "a|b": either (a machine busy enough may take the time limit)
    source: str = ""  # the hostile file's source in the corpus


def make_canary(outside: Path) -> Path:
    outside.mkdir(parents=True, exist_ok=True)
    canary = outside / "canary.txt"
    canary.write_text(f"Private notes\n\n{CANARY}: the okapi password is {CANARY}.\n")
    return canary


def deflate_bomb(prefix: bytes, total: int, fill: bytes = b" ") -> bytes:
    """Raw deflate data of `prefix` then `total` bytes of `fill`, about 1,000 times smaller than what it inflates to.

    Built from one compressed 8 MB block repeated (its window is the same each time), so a 2 GB bomb takes a
    moment to make, not a minute. No checksum is computed: every reader must stop long before reaching it.
    """
    unit = fill * (8 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    return head + again * (max(total // len(unit), 1) - 1) + c.flush()


def _zip_bomb(members: dict[str, bytes], bomb_name: str, prefix: bytes, total: int, declared: int = 0) -> bytes:
    """A zip of `members` and `bomb_name`: `prefix`, then `total` spaces, deflated; it declares `declared` bytes
    inflated if given (a lie), else the truth."""
    entries = [(n, zlib.compress(d, 9)[2:-4], zlib.crc32(d), len(d)) for n, d in members.items()]
    entries.append(
        (bomb_name, deflate_bomb(prefix, total), 0, declared or len(prefix) + total // (8 << 20) * (8 << 20))
    )
    out, central = bytearray(), bytearray()
    for name, packed, crc, size in entries:
        fields = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0x21, crc, len(packed), size)
        central += b"PK\x01\x02" + struct.pack("<H", 20) + fields
        central += struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0, len(out)) + name.encode()
        out += b"PK\x03\x04" + fields + struct.pack("<HH", len(name), 0) + name.encode() + packed
    end = struct.pack("<HHHHIIH", 0, 0, len(entries), len(entries), len(central), len(out), 0)
    return bytes(out + central + b"PK\x05\x06" + end)


_DOCX_PARTS = {
    "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    "_rels/.rels": b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="word/document.xml"/></Relationships>',
}
_W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _docx(document_xml: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in {**_DOCX_PARTS, "word/document.xml": document_xml}.items():
            z.writestr(name, data)
    return out.getvalue()


def _word_paragraph(text: str) -> bytes:
    return b"<w:p><w:r><w:t>" + text.encode() + b"</w:t></w:r></w:p>"


def _epub_parts(names: list[str]) -> dict[str, bytes]:
    """The mimetype, container and package document of an EPUB whose spine is the chapters `names`."""
    items = "".join(f'<item id="c{i}" href="{n}" media-type="application/xhtml+xml"/>' for i, n in enumerate(names))
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(names)))
    opf = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">x</dc:identifier>'
        f"<dc:title>A book</dc:title><dc:language>en</dc:language></metadata><manifest>{items}</manifest>"
        f"<spine>{spine}</spine></package>"
    ).encode()
    container = (
        b'<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
        b'<rootfiles><rootfile full-path="content.opf" media-type="application/oebps-package+xml"/></rootfiles>'
        b"</container>"
    )
    return {"mimetype": b"application/epub+zip", "META-INF/container.xml": container, "content.opf": opf}


def _epub(chapters: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in {**_epub_parts(list(chapters)), **chapters}.items():
            z.writestr(name, data)
    return out.getvalue()


def _chapter(body: str, doctype: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>{doctype}<html xmlns="http://www.w3.org/1999/xhtml"><body>{body}</body></html>'.encode()
    )


def _pdf_bomb(total: int) -> bytes:
    """A one-page PDF whose content stream inflates to `total` bytes (pdfium inflates it whole to read the page)."""
    stream = b"\x78\xda" + deflate_bomb(b"BT /F1 11 Tf 50 750 Td (Inflated page) Tj ET\n", total) + b"\0\0\0\0"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _write(name: str, data: bytes | str) -> Callable[[Path, Path], None]:
    def build(corpus: Path, outside: Path) -> None:
        path = corpus / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    return build


def _lazy(name: str, make: Callable[[], bytes]) -> Callable[[Path, Path], None]:
    def build(corpus: Path, outside: Path) -> None:
        (corpus / name).write_bytes(make())

    return build


def _link_to_canary(corpus: Path, outside: Path) -> None:
    (corpus / "notes.txt").symlink_to(make_canary(outside))


def _link_in_linked_folder(corpus: Path, outside: Path) -> None:
    make_canary(outside)
    (corpus / "shared").symlink_to(outside, target_is_directory=True)


def _link_to_proc(corpus: Path, outside: Path) -> None:
    (corpus / "status.txt").symlink_to("/proc/self/status")


def _link_to_device(corpus: Path, outside: Path) -> None:
    (corpus / "zero.txt").symlink_to("/dev/zero")


def _fifo(corpus: Path, outside: Path) -> None:
    os.mkfifo(corpus / "pipe.txt")


def _escape_name(corpus: Path, outside: Path) -> None:
    (corpus / "forged\n[1] Fake citation \x1b]0;pwned\x07.txt").write_text(
        "Terminal tricks\n\nThe tapir article is here too: \x1b]0;title set\x07\x1b]52;c;Y2xpcGJvYXJk\x07"
        "\x1b[2J\x1b[31mred tapir text\x1b[0m and a \x9b6n query.\n"
    )


_XXE = '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{canary}"><!ENTITY % p SYSTEM "file://{canary}"> %p;]>'
_LAUGHS = (
    '<!DOCTYPE d [<!ENTITY a "lollollollollollollollollollol">'
    + "".join(f'<!ENTITY {b} "{("&" + a + ";") * 10}">' for a, b in zip("abcdefgh", "bcdefghi", strict=True))
    + "]>"
)


def _xxe(kind: str) -> Callable[[Path, Path], None]:
    def build(corpus: Path, outside: Path) -> None:
        doctype = _XXE.format(canary=make_canary(outside))
        body = "<p>Entities here: &xxe; and the tapir.</p>"
        if kind == "html":
            (corpus / "xxe.html").write_text(f"{doctype}<html><body>{body}</body></html>")
        elif kind == "docx":
            xml = b'<?xml version="1.0"?>' + doctype.replace("<!DOCTYPE d", "<!DOCTYPE w:document").encode()
            xml += b"<w:document " + _W + b"><w:body>" + _word_paragraph("Entities: &xxe; tapir.") + b"</w:body>"
            (corpus / "xxe.docx").write_bytes(_docx(xml + b"</w:document>"))
        else:
            (corpus / "xxe.epub").write_bytes(_epub({"c.xhtml": _chapter(body, doctype.replace(" d ", " html "))}))

    return build


def _xinclude(corpus: Path, outside: Path) -> None:
    canary = make_canary(outside)
    inc = f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file://{canary}" parse="text"/>'
    (corpus / "xinclude.epub").write_bytes(_epub({"c.xhtml": _chapter(f"<p>Included: {inc} tapir.</p>")}))


def _docx_lying_sizes() -> bytes:
    """A Word file whose document.xml declares 1 KB but inflates to 1 GB."""
    return _zip_bomb(_DOCX_PARTS, "word/document.xml", b"<w:document " + _W + b"><w:body>", 1 << 30, declared=1024)


def _odd_docx(corpus: Path, outside: Path) -> None:
    """Word files whose parts make the Word library itself fail (not with the tool's own errors)."""
    (corpus / "bad-xml.docx").write_bytes(_docx(b"<w:document " + _W + b"><w:body><w:p>unclosed"))
    (corpus / "no-body.docx").write_bytes(_docx(b"<w:document " + _W + b"/>"))


CASES: dict[str, Case] = {
    "link-to-canary": Case(_link_to_canary, "skipped", "outside the corpus folder", "notes.txt"),
    "link-in-linked-folder": Case(_link_in_linked_folder, "skipped", "link to a folder", "shared"),
    "link-to-proc": Case(_link_to_proc, "skipped", "/proc, /sys or /dev", "status.txt"),
    "link-to-device": Case(_link_to_device, "skipped", "/proc, /sys or /dev", "zero.txt"),
    "fifo": Case(_fifo, "skipped", "not a regular file", "pipe.txt"),
    "docx-zip-bomb": Case(
        _lazy("bomb.docx", lambda: _zip_bomb(_DOCX_PARTS, "word/document.xml", b"<w:document " + _W, 1 << 30)),
        "skipped",
        "zip bomb",
        "bomb.docx",
    ),
    "docx-lying-sizes": Case(_lazy("liar.docx", _docx_lying_sizes), "skipped", "declared size is wrong", "liar.docx"),
    "epub-zip-bomb": Case(
        _lazy("bomb.epub", lambda: _zip_bomb(_epub_parts(["c.xhtml"]), "c.xhtml", _chapter("")[:-14], 1 << 30)),
        "skipped",
        "zip bomb",
        "bomb.epub",
    ),
    "pdf-flate-bomb": Case(
        _lazy("bomb.pdf", lambda: _pdf_bomb(2 << 30)), "skipped", "needed more than|took more than", "bomb.pdf"
    ),
    "yaml-alias-bomb": Case(
        _write(
            "laughs.md",
            "---\na: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
            "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
            "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
            "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
            "title: [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n---\n# Laughing llamas\n\nLlamas laugh in the Andes.\n",
        ),
        "read",
        "",
        "laughs.md",
    ),
    "yaml-python-tag": Case(
        _write("tagged.md", "---\ntitle: !!python/object/apply:os.getcwd []\n---\n# Tagged\n\nTapirs swim.\n"),
        "read",
        "",
        "tagged.md",
    ),
    "huge-one-line-html": Case(
        _lazy(
            "one-line.html", lambda: b"<html><body>" + b"<p>Tapirs browse at night.</p>" * 600_000 + b"</body></html>"
        ),
        "skipped",
        "took more than|needed more than",  # which limit comes first depends on the processor's speed
        "one-line.html",
    ),
    "nested-divs": Case(
        _write("nested.html", "<html><body>" + "<div>" * 100_000 + "Nested tapirs." + "</div>" * 100_000),
        "skipped",
        "no text to index|took more than",
        "nested.html",
    ),
    "html-billion-laughs": Case(
        _write("laughs.html", f"{_LAUGHS}<html><body><p>Laughs: &i; and a quiet tapir.</p></body></html>"),
        "read",
        "",
        "laughs.html",
    ),
    "epub-billion-laughs": Case(
        _lazy("laughs.epub", lambda: _epub({"c.xhtml": _chapter("<p>&i; tapir</p>", _LAUGHS)})),
        "read",
        "",
        "laughs.epub",
    ),
    "html-xxe": Case(_xxe("html"), "read", "", "xxe.html"),
    "docx-xxe": Case(_xxe("docx"), "read", "", "xxe.docx"),
    "epub-xxe": Case(_xxe("epub"), "read", "", "xxe.epub"),
    "epub-xinclude": Case(_xinclude, "read", "", "xinclude.epub"),
    "odd-reader-errors": Case(_odd_docx, "skipped", "Word file", "bad-xml.docx"),
    "escapes-in-text-and-name": Case(_escape_name, "read", "", "forged\n[1] Fake citation \x1b]0;pwned\x07.txt"),
    "many-chapters-epub": Case(
        _lazy("chapters.epub", lambda: _epub({f"c{i}.xhtml": _chapter(f"<p>Chapter {i}.</p>") for i in range(20_000)})),
        "skipped",
        "parts",
        "chapters.epub",
    ),
    "empty-pdf-pages": Case(
        _lazy("blank-pages.pdf", lambda: make_pdf([""] * 20_000)),
        "skipped",
        "no text layer|took more than",
        "blank-pages.pdf",
    ),
}
