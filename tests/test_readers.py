"""Each reader gives the text a person sees, its title, and where headings, pages and lines start."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from rag.ingest.chunking import sentence_spans
from rag.ingest.citation import line_of, locate, section_at
from rag.ingest.readers import read

from .pdfs import make_pdf

SQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "squad"
if not SQUAD.is_dir():
    SQUAD = Path("/work/shared/data/squad")


def squad_file(kind: str, name: str) -> bytes:
    path = SQUAD / ("articles" if kind == "txt" else f"formats/{kind}") / f"{name}.{kind}"
    if not path.is_file():
        pytest.skip(f"{path} is absent: the SQuAD renderings are in shared/data/squad beside the project")
    return path.read_bytes()


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e, _ in sentence_spans(text)]


WIKI_PAGE = b"""<!DOCTYPE html><html><head><title>Normans - Wikipedia</title>
<link rel="canonical" href="https://en.wikipedia.org/wiki/Normans"></head><body>
<a class="mw-jump-link" href="#c">Jump to content</a>
<header><nav><ul><li><a href="/">Main page</a></li><li><a href="/r">Random article</a></li></ul></nav></header>
<div class="cookie-banner">We use cookies. <button>Accept</button></div>
<main><h1>Normans</h1>
<p>The <a href="/wiki/Normans">Normans</a> were the people who gave their name to <b>Normandy</b>, a region in
<a href="/wiki/France">France</a>.<sup class="reference"><a href="#cite-1">[12]</a></sup> They came from
<i>Denmark</i>, Iceland and Norway.</p>
<h2>History<span class="mw-editsection">[<a href="/edit">edit</a>]</span></h2>
<p>Rollo agreed to swear fealty to King Charles III.</p>
<ul><li>First raid in 820</li><li>Treaty in 911</li></ul>
<table><tr><th>Year</th><th>Event</th></tr><tr><td>1066</td><td>Battle of Hastings</td></tr></table>
<h2>References</h2><ol class="references"><li>Author 12. Notes on Normans.</li></ol>
<h2>Legacy</h2><p>Norman architecture survives.</p>
</main>
<div role="navigation" class="navbox">History portal</div>
<footer><p>Privacy policy</p><p>This page was last edited on 5 March 2016.</p></footer></body></html>"""


def test_html_inline_links_and_emphasis_stay_inside_their_sentence():
    r = read(".html", WIKI_PAGE, "Normans.html")
    assert "The Normans were the people who gave their name to Normandy, a region in France." in sentences(r.text)
    assert "They came from Denmark, Iceland and Norway." in sentences(r.text)


MANUAL_PAGE = b"""<html><head><title>What is rustdoc? - The rustdoc book</title></head><body><main>
<h1>What is rustdoc?</h1>
<p>The standard Rust distribution ships with a tool called <code>rustdoc</code>. Its job is to generate
documentation for Rust projects.</p>
<p>Run <kbd>rustdoc src/lib.rs</kbd> and open <q>index.html</q>; the book was updated on <time>12 May 2021</time>.</p>
<pre><code>$ cargo new docs --lib
$ cd docs</code></pre>
<p>Rustdoc takes as an argument either a crate root or a Markdown file, and produces HTML, CSS and JavaScript.</p>
</main></body></html>"""


def test_html_inline_code_quotes_and_times_stay_inside_their_sentence():
    r = read(".html", MANUAL_PAGE, "rustdoc.html")
    said = sentences(r.text)
    assert "The standard Rust distribution ships with a tool called rustdoc." in said
    assert "Run rustdoc src/lib.rs and open index.html; the book was updated on 12 May 2021." in said
    assert "\n\n$ cargo new docs --lib\n$ cd docs\n\n" in r.text  # a code block stays a block, its lines kept


def test_html_drops_navigation_edit_links_reference_markers_and_lists():
    r = read(".html", WIKI_PAGE, "Normans.html")
    for furniture in ("Jump to content", "Main page", "cookies", "[12]", "[edit]", "edit", "Notes on Normans"):
        assert furniture not in r.text
    for furniture in ("References", "History portal", "Privacy policy", "last edited"):
        assert furniture not in r.text
    assert "Norman architecture survives." in r.text  # the section after the references is kept


def test_html_headings_lists_and_tables_are_readable_and_cited():
    r = read(".html", WIKI_PAGE, "Normans.html")
    assert "History\n\nRollo agreed" in r.text
    assert "First raid in 820\nTreaty in 911" in r.text
    assert "Year | Event\nYear: 1066 | Event: Battle of Hastings" in r.text
    assert [(level, text) for _, level, text in r.headings] == [(1, "Normans"), (2, "History"), (2, "Legacy")]
    at = r.text.index("Treaty in 911")
    assert section_at([list(h) for h in r.headings], at) == ("Normans", "History")
    assert r.meta["title"] == "Normans" and r.meta["url"] == "https://en.wikipedia.org/wiki/Normans"


def test_html_table_rows_name_their_cells_by_the_header_row():
    page = b"""<html><body><main><h1>struct</h1><p>Format characters have the following meaning.</p>
<table><thead><tr><th>Format</th><th>C Type</th><th>Notes</th></tr></thead><tbody>
<tr><td>h</td><td>short</td><td>(2)</td></tr><tr><td>q</td><td>long long</td><td></td></tr></tbody></table>
<table><tr><td>layout</td><td>cells</td></tr><tr><td>with no</td><td>header</td></tr></table></main></body></html>"""
    text = read(".html", page, "struct.html").text
    assert "Format | C Type | Notes\nFormat: h | C Type: short | Notes: (2)\nFormat: q | C Type: long long\n" in text
    assert "layout | cells\nwith no | header" in text


def test_html_table_cells_an_extractor_would_blank_are_kept():
    rows = "".join(
        f"<tr><td>{name}</td><td>{speed} GB/s</td></tr>"
        for name, speed in (("apache_builds", "2.3"), ("github_events", "2.5"), ("twitter", "2.2"))
    )
    page = f"""<html><body><article><h1>JSON parsing: simdjson against the rest</h1>
<p>JSON is the ubiquitous data format on the Internet, and a lot of it needs to be parsed and validated.</p>
<p>Let us run some benchmarks on a Skylake processor with GNU GCC 8.3, one file at a time.</p>
<table><tr><th>file</th><th>simdjson</th></tr>{rows}</table>
<p>Roughly speaking, simdjson parses and validates a document at a speed of about 2 GB/s.</p>
</article></body></html>""".encode()
    assert "file: twitter | simdjson: 2.2 GB/s" in read(".html", page, "simdjson.html").text


def test_html_table_inside_a_list_keeps_its_rows():
    # An API page's member summary: a table inside list items, whose rows an extractor can lose.
    rows = "".join(
        f"<tr><td><code>static interface</code></td><th scope='row'><a href='#{n}'>Parameterized.{n}</a></th>"
        f"<td><div class='block'>Annotation for {what}.</div></td></tr>"
        for n, what in (("AfterParam", "methods run after the tests of one set of parameters"), ("Parameter", "fields"))
    )
    page = f"""<html><body><main><h1>Class Parameterized</h1><p>The custom runner Parameterized implements
parameterized tests, one instance for each set of parameters and each test method.</p>
<ul><li><ul><li><h3>Nested Class Summary</h3><table><caption>Nested Classes</caption>
<tr><th scope='col'>Modifier and Type</th><th scope='col'>Class</th><th scope='col'>Description</th></tr>
{rows}</table></li></ul></li></ul></main></body></html>""".encode()
    text = read(".html", page, "Parameterized.html").text
    assert (
        "Modifier and Type: static interface | Class: Parameterized.AfterParam | "
        "Description: Annotation for methods run after the tests of one set of parameters.\n"
    ) in text


def test_html_title_without_site_suffix_when_there_is_no_h1():
    page = b"<html><head><title>Rust in the kernel | LWN.net</title></head><body><p>Rust arrives.</p></body></html>"
    assert read(".html", page, "a.html").meta["title"] == "Rust in the kernel"


def test_squad_html_reads_as_the_article():
    r = read(".html", squad_file("html", "Normans"), "Normans.html")
    plain = squad_file("txt", "Normans").decode()
    first = plain.split("\n\n")[1]
    assert first in r.text
    assert "Jump to content" not in r.text and "Notes on Normans" not in r.text and "[5]" not in r.text
    assert r.meta["title"] == "Normans"


MARKDOWN = b"""---
title: From the front matter
author: Ada
---
[![build](https://img.shields.io/badge/build-passing-green)](https://ci.example.org)

(intro)=
# Normans

The *Normans* gave their name to [Normandy](https://en.wikipedia.org/wiki/Normandy), a
region in **France**.[^1] Run `pip install norman`
to read more.

```python
print("kept as code")
```

[^1]: Author 1. Notes.
"""


def test_markdown_renders_links_emphasis_badges_and_wrapped_lines():
    r = read(".md", MARKDOWN, "a.md")
    assert "The Normans gave their name to Normandy, a region in France." in sentences(r.text)
    assert "Run pip install norman to read more." in r.text
    assert 'print("kept as code")' in r.text
    for markup in ("https://", "shields", "*", "[", "(intro)=", "Author 1", "build"):
        assert markup not in r.text
    assert r.meta == {"title": "From the front matter", "author": "Ada"}


def test_markdown_table_rows_name_their_cells_by_the_header_row():
    table = b"# Limits\n\n| Setting | Default |\n|---|---|\n| SQLITE_MAX_LENGTH | 1000000000 |\n"
    table += b"| SQLITE_MAX_COLUMN | 2000 |\n"
    text = read(".md", table, "limits.md").text
    assert "Setting | Default\nSetting: SQLITE_MAX_LENGTH | Default: 1000000000\nSetting: SQLITE_MAX_COLUMN" in text


def test_an_html_table_written_into_markdown_is_read_row_by_row_under_its_header():
    page = b"# Budget\n\nHow the year's budget breaks down:\n\n<table>\n  <tr>\n    <th>Expense</th>\n"
    page += b"    <th>Cost</th>\n  </tr>\n  <tr>\n    <th style='font-weight: normal'>Staffing</th>\n"
    page += b"    <th style='font-weight: normal'>$1.2M</th>\n  </tr>\n</table>\n\nStaffing costs the most.\n"
    r = read(".md", page, "budget.md")
    assert "Expense | Cost\nExpense: Staffing | Cost: $1.2M\n\nStaffing costs the most." in r.text
    at = r.text.index("Expense | Cost")
    assert (at, 5) in r.lines  # cited at the line the table starts on


def test_markdown_title_is_the_first_real_heading():
    r = read(".md", MARKDOWN.split(b"---\n", 2)[2], "a.md")
    assert r.meta["title"] == "Normans"


def test_markdown_lines_point_into_the_file():
    r = read(".md", MARKDOWN, "a.md")
    source = MARKDOWN.decode().splitlines()
    for phrase in ("Normans", "region in France", "to read more", "kept as code"):
        line = line_of(r.text, tuple(r.lines), r.text.index(phrase))
        assert phrase.split()[-1] in source[line - 1], (phrase, line)


def test_plain_text_lines_shorter_than_a_wrap_are_kept_as_written():
    data = b"Title\n\nOne  line,\nhard-wrapped [1].\n"
    r = read(".txt", data, "a.txt")
    assert r.text == data.decode().strip()
    assert line_of(r.text, tuple(r.lines), r.text.index("hard")) == 4


def report_pages() -> list[str]:
    head = "Annual report - Example Org"
    body1 = (
        "Emissions from fossil-fuel plants fell. The rise of fossil-\n"
        "fuel use in transport and the manip-\n"
        "ulation of data are covered here in full.\n"
        "\n"
        "A second paragraph begins on the first page and goes\n"
        "on to the next one without a break in its"
    )
    body2 = "sentence, which ends here.\n\nThe fuel section follows, with fossil records too."
    return [f"{head}\n{body1}\nPage 1", f"{head}\n{body2}\nPage 2"]


def test_pdf_paragraphs_hyphenation_and_page_furniture():
    r = read(".pdf", make_pdf(report_pages(), title="Annual report - Example Org"), "report.pdf")
    assert "The rise of fossil-fuel use in transport and the manipulation of data are covered here in full." in (
        sentences(r.text)
    )
    assert (
        "A second paragraph begins on the first page and goes on to the next one without a break in its sentence"
        in (r.text)
    )
    for furniture in ("Page 1", "Page 2", "Example Org"):
        assert furniture not in r.text
    assert r.meta["title"] == "Annual report"


def test_pdf_running_foot_with_the_page_number_on_either_side_is_dropped():
    pages = [
        "The JSON Data Interchange Format\nJSON is a text format for the interchange of data.\n© Ecma 2013 1",
        "Whitespace is allowed before or after any token.\n2 © Ecma 2013",
        "A number is a sequence of decimal digits with no leading zero.\n© Ecma 2013 3",
        "Figures 157 60 16\nA string is a sequence of code points wrapped in quotation marks.\n4 © Ecma 2013",
        "An array is a pair of square brackets around zero or more values.\n© Ecma 2013 5",
    ]
    text = read(".pdf", make_pdf(pages), "json.pdf").text
    assert "Ecma" not in text
    assert "Figures 157 60 16" in text and "no leading zero." in text


def test_pdf_and_word_tables_of_contents_are_skipped():
    contents = "Contents\n1 Scope . . . . . . . . . . . . . . 2\n2 Conformance ............... 2\nPreface . . . . . iii"
    body = "1 Scope\nThis standard defines the text format.\n2 Conformance\nA text conforms when it follows it."
    text = read(".pdf", make_pdf([contents, body]), "standard.pdf").text
    assert ". . . ." not in text and "...." not in text and "Preface" not in text
    assert "This standard defines the text format." in text

    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    document.styles.add_style("toc 1", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("1\tScope\t2", style="toc 1")
    document.add_heading("Scope", 1)
    document.add_paragraph("This standard defines the text format.")
    out = io.BytesIO()
    document.save(out)
    assert read(".docx", out.getvalue(), "standard.docx").text == "Scope\n\nThis standard defines the text format."


def test_pdf_page_numbers_of_passages():
    r = read(".pdf", make_pdf(report_pages()), "report.pdf")
    entry = {"pages": r.pages}
    start = r.text.index("Emissions")
    assert locate(entry, start, start + 20).pages == (1,)
    across = r.text.index("A second paragraph")
    assert locate(entry, across, r.text.index("ends here") + 9).pages == (1, 2)
    fuel = r.text.index("The fuel section")
    assert locate(entry, fuel, fuel + 10).pages == (2,)


def test_squad_pdf_in_two_columns_reads_in_order():
    r = read(".pdf", squad_file("pdf", "Normans"), "Normans.pdf")
    plain = squad_file("txt", "Normans").decode()
    for paragraph in plain.split("\n\n")[1:4]:  # the first column, then the second, on page 1
        assert paragraph in r.text
    assert len(r.pages) == 7 and r.meta["title"] == "Normans"
    assert "Page 1" not in r.text and "en.wikipedia.org" not in r.text


def word_file() -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = "Normans"
    document.core_properties.author = "Wikipedia contributors"
    section = document.sections[0]
    section.header.paragraphs[0].text = "Normans — Wikipedia"
    section.footer.paragraphs[0].text = "Text is available under a licence"
    document.add_heading("Origins", level=1)
    p = document.add_paragraph("The ")
    p.add_run("Nor").bold = True
    p.add_run("mans came from ")
    p.add_run("Den").italic = True
    p.add_run("mark.")
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Year", "Event"), ("911", "Treaty")], strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_word_runs_headings_tables_and_properties():
    r = read(".docx", word_file(), "a.docx")
    assert "The Normans came from Denmark." in sentences(r.text)
    assert "Year | Event\n911 | Treaty" in r.text
    assert "Wikipedia" not in r.text and "licence" not in r.text  # header and footer
    assert [(level, text) for _, level, text in r.headings] == [(2, "Origins")]
    assert r.meta == {"title": "Normans", "author": "Wikipedia contributors"}


def test_word_table_under_a_bold_header_row_names_its_cells():
    import docx

    document = docx.Document()
    table = document.add_table(rows=3, cols=2)
    for row, cells in zip(table.rows, [("Setting", "Default"), ("Timeout", "30 s"), ("Retries", "3")], strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.paragraphs[0].add_run(text).bold = text in ("Setting", "Default")
    out = io.BytesIO()
    document.save(out)
    assert (
        "Setting | Default\nSetting: Timeout | Default: 30 s\nSetting: Retries | Default: 3"
        in read(".docx", out.getvalue(), "a.docx").text
    )


def test_squad_word_file_reads_as_the_article():
    r = read(".docx", squad_file("docx", "Normans"), "Normans.docx")
    plain = squad_file("txt", "Normans").decode()
    assert plain.split("\n\n")[2] in r.text
    assert "Text is available under" not in r.text and r.meta["title"] == "Normans"


def test_epub_chapters_become_sections(tmp_path):
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("normans")
    book.set_title("The Normans")
    book.add_author("A. Historian")
    chapters = []
    for n, (title, text) in enumerate([("Origins", "Rollo came in 911."), ("Conquest", "Hastings was in 1066.")], 1):
        chapter = epub.EpubHtml(title=title, file_name=f"ch{n}.xhtml", lang="en")
        chapter.content = f"<html><body><h1>{title}</h1><p>{text} It <em>mattered</em>.</p></body></html>"
        book.add_item(chapter)
        chapters.append(chapter)
    book.toc = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = chapters
    path = tmp_path / "normans.epub"
    epub.write_epub(str(path), book)
    r = read(".epub", path.read_bytes(), "normans.epub")
    assert "Rollo came in 911. It mattered." in r.text
    at = r.text.index("Hastings")
    assert section_at([list(h) for h in r.headings], at) == ("Conquest",)
    assert r.meta["title"] == "The Normans" and r.meta["author"] == "A. Historian"
