"""Tiny hand-built PDFs for tests: one page per string, Helvetica, real text layer."""

from __future__ import annotations


def make_pdf(pages: list[str], title: str | None = None, author: str | None = None) -> bytes:
    objects: list[bytes] = []
    n_pages = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        lines = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in text.split("\n")]
        ops = "BT /F1 11 Tf 14 TL 50 750 Td " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
        stream = ops.encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    info = []
    if title:
        info.append(f"/Title ({title})")
    if author:
        info.append(f"/Author ({author})")
    objects.append(f"<< {' '.join(info)} >>".encode())
    return _serialise(objects, info=True)


def make_placed_pdf(
    pages: list[list[tuple[float, float, str]]], trim: tuple[int, int, int, int] | None = None
) -> bytes:
    """A PDF whose pages hold each (x, y, text) where given; `trim` is the box the printed sheet is cut to."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    box = f"/TrimBox [{' '.join(map(str, trim))}] " if trim else ""
    for i, placed in enumerate(pages):
        ops = " ".join(
            f"BT /F1 11 Tf 1 0 0 1 {x} {y} Tm ({text.replace('(', '[').replace(')', ']')}) Tj ET"
            for x, y, text in placed
        )
        stream = ops.encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] {box}/Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    return _serialise(objects, info=False)


def _serialise(objects: list[bytes], info: bool) -> bytes:
    """The objects numbered from 1, with their cross-reference table; `info`: the last object is /Info."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    tail = f" /Info {len(objects)} 0 R" if info else ""
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{tail} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
