"""The same articles as text, HTML, Markdown, PDF and Word: how well each is read and answered.

    python benchmarks/formats.py                      # 1,500 answerable SQuAD questions, every format
    python benchmarks/formats.py --limit 200          # a quick run
    python benchmarks/formats.py --html-extractors trafilatura,readability,page

Each format of /work/shared/data/squad (articles/*.txt and formats/{html,md,pdf,docx}) is indexed in its
own folder under benchmarks/.cache/formats/ with the Engine, and asked the answerable questions. A hit is
a passage of the article with the question's file stem that contains an answer string (spacing and quotes
made uniform, rag/evaluate/questions.py). Printed per format: hit@1, hit@5, highlight@1 (the first passage's
highlighted sentence holds the answer), the share of the plain text's words the reader gives back and the
share of words it adds, and reading seconds per MB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import CACHE  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.engine import Engine  # noqa: E402
from rag.evaluate.questions import holds_answer  # noqa: E402
from rag.ingest import readers  # noqa: E402

SQUAD = Path(os.environ.get("SQUAD", "/work/shared/data/squad"))
FORMATS = {"txt": "articles", "html": "formats/html", "md": "formats/md", "pdf": "formats/pdf", "docx": "formats/docx"}
_WORDS = re.compile(r"\w+")


def questions(limit: int) -> list[dict]:
    with (SQUAD / "questions.jsonl").open() as f:
        rows = [json.loads(line) for line in f]
    return [q for q in rows if q["kind"] == "answerable"][:limit]


def ask_all(engine: Engine, qs: list[dict]) -> dict[str, float]:
    hit1 = hit5 = light = 0
    for q in qs:
        stem = Path(q["source"]).stem
        results = engine.ask(q["question"]).results
        right = [Path(r.citation.source).stem == stem and holds_answer(r.text, q["answers"]) for r in results]
        hit1 += bool(right[:1] and right[0])
        hit5 += any(right[:5])
        light += bool(right[:1] and right[0] and holds_answer(results[0].highlight, q["answers"]))
    n = len(qs) or 1
    return {"hit@1": hit1 / n, "hit@5": hit5 / n, "highlight@1": light / n}


def reading(folder: Path) -> tuple[float, float, float]:
    """(seconds per MB, share of the plain articles' words given back, share of words added)."""
    seconds = size = 0.0
    kept = wanted = added = given = 0
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        t0 = time.perf_counter()
        text = readers.read(path.suffix, data, path.name).text
        seconds += time.perf_counter() - t0
        size += len(data)
        plain = Counter(_WORDS.findall((SQUAD / "articles" / f"{path.stem}.txt").read_text().lower()))
        got = Counter(_WORDS.findall(text.lower()))
        common = sum((plain & got).values())
        kept, wanted = kept + common, wanted + sum(plain.values())
        added, given = added + sum(got.values()) - common, given + sum(got.values())
    return seconds / (size / 1e6), kept / max(wanted, 1), added / max(given, 1)


def run(name: str, folder: Path, qs: list[dict], cache: Path) -> dict:
    settings = Settings(corpus=folder, index=cache / name)
    engine = Engine(settings)
    report = engine.update()
    if report.skipped:
        print(f"{name}: skipped {[(s.source, s.reason) for s in report.skipped]}", file=sys.stderr)
    per_mb, recall, noise = reading(folder)
    return {"format": name, **ask_all(engine, qs), "words kept": recall, "words added": noise, "s/MB": per_mb}


def pdf_libraries(folder: Path) -> list[dict]:
    """Raw text layers of the PDFs by pypdf and pypdfium2: speed, and line-end hyphens left in the text."""
    import pypdfium2 as pdfium
    from pypdf import PdfReader

    def by_pypdf(data: bytes) -> str:
        import io

        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)

    def by_pdfium(data: bytes) -> str:
        doc = pdfium.PdfDocument(data)
        try:
            return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
        finally:
            doc.close()

    rows = []
    for name, extract in (("pypdf", by_pypdf), ("pypdfium2", by_pdfium)):
        seconds = size = marked = unmarked = 0
        for path in sorted(folder.glob("*.pdf")):
            data = path.read_bytes()
            t0 = time.perf_counter()
            text = extract(data)
            seconds += time.perf_counter() - t0
            size += len(data)
            marked += text.count("\ufffe")  # pdfium's mark for a hyphen it found at a line end
            unmarked += len(re.findall(r"\w-\r?\n\w", text))
        rows.append({"library": name, "s/MB": seconds / (size / 1e6), "marked": marked, "unmarked": unmarked})
    return rows


def table(rows: list[dict]) -> str:
    keys = list(rows[0])
    out = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        out.append("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()) + " |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=1500, help="answerable questions to ask (default 1500)")
    ap.add_argument("--formats", default=",".join(FORMATS), help="formats to run, comma separated")
    ap.add_argument("--html-extractors", default="", help="also index the HTML with each of these extractors")
    ap.add_argument("--cache", type=Path, default=CACHE / "formats")
    args = ap.parse_args()
    if not (SQUAD / "questions.jsonl").exists():
        sys.exit(f"no SQuAD data in {SQUAD}: set SQUAD to the folder holding questions.jsonl")
    qs = questions(args.limit)
    print(f"{len(qs)} answerable questions; load {os.getloadavg()[0]:.2f}")
    rows = [run(name, SQUAD / FORMATS[name], qs, args.cache) for name in args.formats.split(",") if name]
    print(table(rows))
    extractors = [e for e in args.html_extractors.split(",") if e]
    if extractors:
        compared = []
        for extractor in extractors:
            readers.READERS[".html"] = readers.READERS[".htm"] = partial(readers.read_html, extractor=extractor)
            compared.append({**run(f"html-{extractor}", SQUAD / FORMATS["html"], qs, args.cache)})
        readers.READERS[".html"] = readers.READERS[".htm"] = readers.read_html
        print(table(compared))
    if "pdf" in args.formats:
        print(table(pdf_libraries(SQUAD / FORMATS["pdf"])))
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
