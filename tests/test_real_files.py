"""Files as other people's tools write them: encodings, hard-wrapped text, page furniture, generator marks.

Each test builds a small file the way such a tool does and checks that it is read as a person reads it.
"""

from __future__ import annotations

import io
import zipfile

from rag.ingest.chunking import sentence_spans
from rag.ingest.citation import line_of, locate, section_at
from rag.ingest.documents import ArticleFile, read_document, scan
from rag.ingest.readers import read

from .pdfs import make_placed_pdf


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e, _ in sentence_spans(text)]


# --- opening what people open -------------------------------------------------------------------------------


def test_html_declaring_windows_1252_in_its_meta_charset_is_read_in_it():
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
        "<title>Caf\xe9s</title></head><body><p>The caf\xe9\x92s terrace opens at nine \x96 rain or shine.</p>"
        "</body></html>"
    ).encode("latin-1")
    r = read(".html", page, "cafes.html")
    assert "The café’s terrace opens at nine – rain or shine." in r.text


def test_xhtml_with_an_xml_declared_encoding_is_read_as_html(tmp_path):
    page = (
        '<?xml version="1.0" encoding="ISO-8859-1" standalone="no"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>gitignore(5)</title></head><body>'
        "<h2>Description</h2><p>Patterns are read from $GIT_DIR/info/exclude, na\xefvely or not.</p></body></html>"
    ).encode("latin-1")
    path = tmp_path / "gitignore.xhtml"
    path.write_bytes(page)
    files, skipped = scan(tmp_path)
    assert [f.source for f in files] == ["gitignore.xhtml"] and skipped == []
    doc = read_document(files[0])
    assert "Patterns are read from $GIT_DIR/info/exclude, naïvely or not." in doc.text


def test_latin_1_text_without_a_declaration_is_detected(tmp_path):
    text = "Les \xe9l\xe8ves de l'\xe9cole pr\xe9f\xe8rent la g\xe9ographie \xe0 l'histoire, dit-il en 1896.\n" * 3
    path = tmp_path / "essais.txt"
    path.write_bytes(text.encode("latin-1"))
    doc = read_document(ArticleFile(path, "essais.txt", path.stat().st_size, 0))
    assert "Les élèves de l'école préfèrent la géographie à l'histoire, dit-il en 1896." in doc.text


def test_utf8_with_a_byte_order_mark_loses_the_mark():
    assert read(".txt", "Hello, world.\n".encode("utf-8-sig"), "a.txt").text == "Hello, world."


def _epub(files: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def test_an_epub_missing_an_image_is_read_as_far_as_it_is_readable():
    container = (
        '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
        '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    opf = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="id">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Guide for Maintainers</dc:title>'
        '<dc:creator>Ann Lee</dc:creator><dc:identifier id="id">x</dc:identifier></metadata><manifest>'
        '<item id="c1" href="ch1.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="logo" href="images/logo.png" media-type="image/png"/>'
        '<item id="c2" href="ch2.xhtml" media-type="application/xhtml+xml"/>'
        '</manifest><spine><itemref idref="c1"/><itemref idref="c2"/></spine></package>'
    )
    chapter = '<html xmlns="http://www.w3.org/1999/xhtml"><body><h1>{0}</h1><p>{1}</p></body></html>'
    book = _epub(
        {
            "META-INF/container.xml": container,
            "OEBPS/content.opf": opf,
            "OEBPS/ch1.xhtml": chapter.format("Overview", 'The source format is "3.0 (quilt)" here.'),
            "OEBPS/ch2.xhtml": chapter.format("Release", "It was first built on Stretch 9.0."),
        }
    )
    r = read(".epub", book, "guide.epub")
    assert 'The source format is "3.0 (quilt)" here.' in r.text and "It was first built on Stretch 9.0." in r.text
    assert r.meta["title"] == "Guide for Maintainers" and r.meta["author"] == "Ann Lee"


def test_a_page_whose_layout_class_names_a_sidebar_is_read():
    page = b"""<html><body class="page-node panel-layout-two-col-sidebar-right-mix no-sidebars">
    <div class="panel-display panel-two-col-sidebar-right">
    <h1>Facebook is tracking me</h1><p>I don't use Facebook. I've been using email since the early 1990s.</p>
    <p>But Facebook still has a detailed profile that can be used to target me.</p></div>
    <div class="sidebar"><p>Donate now</p></div></body></html>"""
    r = read(".html", page, "post.html")
    assert "I've been using email since the early 1990s." in r.text and "Donate now" not in r.text


def test_a_by_line_stays_under_the_title():
    page = b"""<html><body><article><h1>Tracked without an account</h1>
    <div class="blog-author">By <a href="/bio/ann">Ann Lee</a>, Senior Staff Technologist</div>
    <p>I don't use the site. I have been online since the early 1990s, and I write software.</p>
    <p>Still, the site has a detailed profile of me, built from what others share.</p></article></body></html>"""
    r = read(".html", page, "post.html")
    assert r.text.startswith("Tracked without an account\n\nBy Ann Lee, Senior Staff Technologist\n\n")
    md = b"---\ntitle: Why ninety days?\nauthor: Josh Lee, Executive Director\n---\n\nWe are asked this.\n"
    assert "By Josh Lee, Executive Director" in read(".md", md, "post.md").text


# --- plain text as a person reads it ------------------------------------------------------------------------

RFC = """\



Network Working Group                                           A. Author
Request for Comments: 9999                                   Example Corp.
Category: Informational                                         May 1996


             GZIP file format specification version 4.3

Status of This Memo

   This memo provides information for the Internet community.  This memo
   does not specify an Internet standard of any kind.  Distribution of
   this memo is unlimited.

Table of Contents

   1. Introduction ................................................ 1
   2. Overall conventions ......................................... 1
   3. Security Considerations ..................................... 3

1. Introduction

   The purpose of this specification is to define a lossless compressed
   data format that is independent of CPU type, operating system, file
   system, and character set, and is suitable for interchange.

2. Overall conventions

2.1. File format

   A gzip file consists of a series of "members" (compressed data sets).
   The members simply appear one after another in the file, with no
   additional information before, between, or after them.  The header



Author                       Informational                      [Page 1]
\f
RFC 9999           GZIP File Format Specification                 May 1996


   has the fixed values ID1 = 31 (0x1f, \\037), ID2 = 139 (0x8b, \\213),
   to identify the file as being in gzip format.

2.2. Member format

   Each member has the following structure, which is laid out here as a
   picture to be read one field after another:

         +---+---+---+---+---+---+---+---+---+---+
         |ID1|ID2|CM |FLG|     MTIME     |XFL|OS |
         +---+---+---+---+---+---+---+---+---+---+



Author                       Informational                      [Page 2]
\f
RFC 9999           GZIP File Format Specification                 May 1996


3. Security Considerations

   Any data compression method involves the reduction of redundancy in
   the data.  Consequently, any corruption of the data is likely to have
   severe effects and be difficult to correct.



Author                       Informational                      [Page 3]
"""


def test_hard_wrapped_text_is_read_as_paragraphs_without_page_furniture():
    r = read(".txt", RFC.encode(), "rfc9999.txt")
    said = sentences(r.text)
    assert (
        "The header has the fixed values ID1 = 31 (0x1f, \\037), ID2 = 139 (0x8b, \\213), to identify the file "
        "as being in gzip format." in said
    )  # one sentence, across the wrap and the page break
    assert "[Page" not in r.text and "\f" not in r.text and "RFC 9999  " not in r.text
    assert "GZIP File Format Specification" not in r.text  # the running head; the title is in capitals otherwise
    assert "|ID1|ID2|CM |FLG|     MTIME     |XFL|OS |" in r.text  # a picture keeps its lines and spacing
    assert "...." not in r.text and r.text.count("Security Considerations") == 1  # the contents' entries


def test_numbered_and_outdented_plain_text_headings_are_sections_and_lines_are_cited():
    r = read(".txt", RFC.encode(), "rfc9999.txt")
    headings = [(level, text) for _, level, text in r.headings]
    assert (1, "Status of This Memo") in headings and (1, "1. Introduction") in headings
    assert (2, "2.1. File format") in headings and (2, "2.2. Member format") in headings
    at = r.text.index("to identify the file")
    assert section_at([list(h) for h in r.headings], at) == ("2. Overall conventions", "2.1. File format")
    source = RFC.split("\n")
    assert "to identify" in source[line_of(r.text, tuple(r.lines), at) - 1]


def test_gutenberg_paragraphs_are_joined_and_verse_keeps_its_lines():
    text = (
        "CHAPTER I.\n\n"
        "It was a bright cold day in April, and the clocks were striking thirteen,\n"
        "while the well-known bells of the old church rang out across the square\n"
        "and the crowds hurried home before the rain came down on the market.\n\n"
        "  By Abracadabra we signify\n"
        "      An infinite number of things.\n"
        "  'Tis the answer to What? and How? and Why?\n"
    )
    r = read(".txt", text.encode(), "book.txt")
    assert "It was a bright cold day in April, and the clocks were striking thirteen, while the well-known" in r.text
    assert "By Abracadabra we signify\n    An infinite number of things.\n'Tis the answer" in r.text
    assert [(level, t) for _, level, t in r.headings] == [(1, "CHAPTER I.")]


def test_a_plain_text_list_of_contents_without_leaders_is_dropped_and_a_table_of_numbers_kept():
    text = (
        "LIST OF ILLUSTRATIONS.\n\n"
        "Fig. 1. A potter at her wheel                 12\n"
        "     2. Kilns of the river valley,\n"
        "          seen from the north                 19\n"
        "     3. Glazes of the first period            27\n"
        "     4. The drying sheds                      31\n"
        "     5. Marks of the Hollins workshop         40\n"
        "     6. A finished jug                        44\n\n"
        "CHAPTER I.\n\n"
        "The kilns of the valley were fired twice a year, and each firing took\n"
        "three days and nights, the potters sleeping by the fire in turns.\n\n"
        "   Small bowl        2\n"
        "   Large bowl        3\n"
        "   Jug               5\n"
        "   Dinner set       12\n\n"
        "   Year        Kilns\n"
        "   1850           12\n"
        "   1860           19\n"
        "   1870           27\n"
        "   1880           31\n"
    )
    r = read(".txt", text.encode(), "pottery.txt")
    assert "potter at her wheel" not in r.text and "drying sheds" not in r.text  # the list's words are the figures'
    assert "each firing took three days" in r.text
    assert "1870           27" in r.text  # a table of figures, not of titles: kept
    assert "Dinner set" in r.text  # a short list of titles and rising numbers may be prices: kept


def test_a_project_gutenberg_book_ends_where_the_book_does_not_with_the_licence_after_it():
    book = (
        "Title: The Potter's Year\n\nAuthor: Ada Brandt\n\n"
        "*** START OF THE PROJECT GUTENBERG EBOOK THE POTTER'S YEAR ***\n\n"
        "CHAPTER I.\n\nThe kilns were fired twice a year.\n\n"
        "*** END OF THE PROJECT GUTENBERG EBOOK THE POTTER'S YEAR ***\n\n"
        "Updated editions will replace the previous one. You may copy it, give it away or re-use it\n"
        "under the terms of the Project Gutenberg License.\n\n"
        "Section 1. General Terms of Use and Redistributing Project Gutenberg works\n"
    )
    for suffix in (".txt", ".md"):
        r = read(suffix, book.encode(), f"potter{suffix}")
        assert r.text.endswith("The kilns were fired twice a year.") and "Author: Ada Brandt" in r.text
        assert all(at < len(r.text) for at, _, _ in r.headings) and all(at < len(r.text) for at, _ in r.lines)


def test_a_rendered_man_page_loses_its_terminal_codes_and_keeps_terms_with_their_descriptions():
    page = (
        "LESS(1)                                                                LESS(1)\n\n\n\n"
        "\x1b[1mNAME\x1b[0m\n       less - opposite of more\n\n"
        "\x1b[1mENVIRONMENT\x1b[0m\n"
        "       \x1b[1mTMOUT\x1b[0m\n"
        "              If set to a value greater than zero, TMOUT is treated as the\n"
        "              default timeout for the \x1b[4mread\x1b[24m builtin.  The select com-\n"
        "              mand terminates if input does not arrive after TMOUT seconds.\n\n"
        "                                   2009-07-06                         LESS(1)\n"
    )
    r = read(".txt", page.encode(), "less.1.txt")
    assert "\x1b" not in r.text and "LESS(1)" not in r.text
    assert "TMOUT: If set to a value greater than zero, TMOUT is treated as the default timeout" in r.text
    assert "The select command terminates" in r.text
    assert [text for _, _, text in r.headings] == ["NAME", "ENVIRONMENT"]


def test_setext_headings_are_sections():
    text = "Installing\n==========\n\nRun the installer.\n\nOn Linux\n--------\n\nUse the package.\n"
    r = read(".txt", text.encode(), "INSTALL.txt")
    assert [(level, t) for _, level, t in r.headings] == [(1, "Installing"), (2, "On Linux")]
    assert "===" not in r.text and "---" not in r.text


def test_an_faq_s_numbered_questions_are_sections_even_long_or_wrapped_in_two():
    faq = (
        "3.12\tWhy doesn't the tool report state for sockets?\n\n"
        "\tThe tool reports socket state for some systems, but not all of\n\tthem, since few kernels keep it.\n\n"
        "3.13\tI am editing a file with vi; why doesn't the tool find the file?\n\n"
        "\tClassic vi keeps a temporary copy and works in that file; the\n\tfile being edited is not open.\n\n"
        "3.14\tWhy doesn't the tool report window and queue sizes for my\n\tdialect?\n\n"
        "\tOnly one system's netstat reports them, so only there does the\n\ttool report them too.\n"
    )
    r = read(".txt", faq.encode(), "FAQ.txt")
    assert [text for _, _, text in r.headings] == [
        "3.12 Why doesn't the tool report state for sockets?",
        "3.13 I am editing a file with vi; why doesn't the tool find the file?",
        "3.14 Why doesn't the tool report window and queue sizes for my dialect?",
    ]
    at = r.text.index("temporary copy")
    assert section_at([list(h) for h in r.headings], at)[-1].startswith("3.13 ")
    assert "\ndialect?" not in r.text


def test_the_releases_of_a_news_file_are_sections():
    news = (
        "GNU widget NEWS -- history of user-visible changes.\n\n"
        "version 2.1 - Ada Lovelace, 2019-01-02\n\n"
        "* Support for zstd compression\n\n"
        "New option '--zstd' compresses with zstd.\n\n\n"
        "Release 2.0.1 (2018-05-04)\n\n"
        "* Improve the testsuite\n\n"
        "Version 2 of the format keeps the old one readable.\n"
    )
    r = read(".txt", news.encode(), "NEWS.txt")
    assert [t for _, _, t in r.headings] == ["version 2.1 - Ada Lovelace, 2019-01-02", "Release 2.0.1 (2018-05-04)"]
    at = r.text.index("zstd compression")
    assert section_at([list(h) for h in r.headings], at) == ("version 2.1 - Ada Lovelace, 2019-01-02",)


def test_a_release_line_after_a_page_break_is_not_joined_to_the_page_before():
    news = "".join(
        f"version 1.{n} - A. Writer, 2019-0{n % 9 + 1}-02\n\n"
        f"* Support for codec number {n}, read and written like the others.\n\n"
        f"* Improve the tests of release {n}\n\n\f\n"
        for n in range(20, 10, -1)
    )
    r = read(".txt", ("Project NEWS - User visible changes.\n\n" + news).encode(), "NEWS.txt")
    assert len(r.headings) == 10
    assert "tests of release 20\n\nversion 1.19" in r.text  # the page's last item and the next release: two paragraphs
    numbered = read(".txt", b"1. Intro\n\nText that ends with a list of\n\n* items\n\f\n2. Usage\n\nText.\n", "a.txt")
    assert "* items\n\n2. Usage" in numbered.text


def test_what_a_colon_introduces_is_not_a_heading_unless_numbered():
    text = (
        "NOTES\n\n"
        "\tThe tool cannot read path names from the kernel caches of the\n\tfollowing systems:\n\n"
        "AIX\n\n"
        "\tOnly Linux keeps full path names in the structures it holds for\n\topen files, and shows them:\n\n"
        "4.1\tConfiguration\n\n"
        "\tRun the configure script first, then build the tool from the\n\tsources with make.\n"
    )
    r = read(".txt", text.encode(), "notes.txt")
    assert [t for _, _, t in r.headings] == ["NOTES", "4.1 Configuration"]
    assert "AIX" in r.text


# --- web pages and books ------------------------------------------------------------------------------------


def test_definition_lists_read_as_term_and_description():
    page = b"""<html><body><h1>BASH</h1><p>Shell variables are used as follows.</p><dl>
    <dt><b>TMOUT</b></dt><dd>If set to a value greater than zero, <b>TMOUT</b> is treated as the default
    timeout for the read builtin.</dd>
    <dt>-v</dt><dt>--verbose</dt><dd><p>Print shell input lines as they are read.</p></dd></dl>
    <p>Other variables are set by the shell itself.</p></body></html>"""
    r = read(".html", page, "bash.html")
    assert "TMOUT: If set to a value greater than zero, TMOUT is treated as the default timeout" in r.text
    assert "-v, --verbose: Print shell input lines as they are read." in r.text


def test_headings_lose_the_permalink_signs_documentation_generators_add():
    page = """<html><body><main><h1>Corepack<a class="headerlink" href="#corepack">#</a></h1>
    <p>Corepack is a zero-runtime-dependency package acting as a bridge between projects and managers.</p>
    <h2 id="w">Workflows<a class="headerlink" href="#w" title="Permalink to this headline">¶</a></h2>
    <p>Enabling the feature is done with one command, which installs the shims.</p>
    <h2 id="d">Deploying<a class="headerlink" href="#d">\uf0c1</a></h2><p>Push the site to a branch.</p>
    <h2>The C# API</h2><p>It is documented elsewhere, with its own examples.</p></main></body></html>"""
    r = read(".html", page.encode(), "corepack.html")
    assert [t for _, _, t in r.headings] == ["Corepack", "Workflows", "Deploying", "The C# API"]


def test_mdbook_include_directives_are_not_text():
    md = b"# Hello\n\nThe program prints a greeting.\n\n```rust\n{{#include ../listings/ch01/main.rs:all}}\n```\n"
    r = read(".md", md, "hello.md")
    assert "{{#" not in r.text and "The program prints a greeting." in r.text


# --- PDF and Word -------------------------------------------------------------------------------------------


def test_pdf_line_number_margins_and_printers_marks_are_dropped():
    body = [
        "The above-entitled matter came on for oral argument",
        "before the Supreme Court of the United States at",
        "1:01 p.m., with the Chief Justice presiding over it.",
        "Counsel for the petitioner rose to speak first, and",
        "was asked about the deadline almost at once by the",
        "Court, which had read the briefs with some care.",
    ]
    placed = [(60, 700 - 26 * i, str(i + 1)) for i in range(len(body))]
    placed += [(100, 700 - 26 * i, line) for i, line in enumerate(body)]
    placed += [(10, 780, "book_text.indd   12      3/4/15   10:12 AM")]  # outside the trim box
    r = read(".pdf", make_placed_pdf([placed], trim=(36, 36, 576, 756)), "transcript.pdf")
    assert "indd" not in r.text
    assert "came on for oral argument before the Supreme Court of the United States at 1:01 p.m." in r.text
    assert not any(ch.isdigit() for ch in r.text.replace("1:01", ""))


_W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _docx(body: str, footnotes: str = "") -> bytes:
    rels = (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="word/document.xml"/></Relationships>'
    )
    doc_rels = (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'footnotes" Target="footnotes.xml"/></Relationships>'
    )
    types = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'wordprocessingml.document.main+xml"/><Override PartName="/word/footnotes.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/></Types>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("_rels/.rels", rels)
        z.writestr("word/_rels/document.xml.rels", doc_rels)
        z.writestr(
            "word/document.xml", f'<?xml version="1.0"?><w:document {_W_NS}><w:body>{body}</w:body></w:document>'
        )
        z.writestr("word/footnotes.xml", f'<?xml version="1.0"?><w:footnotes {_W_NS}>{footnotes}</w:footnotes>')
    return out.getvalue()


def test_word_text_boxes_and_footnotes_are_read_where_they_are_anchored():
    box = (
        '<w:r><mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
        '<mc:Choice Requires="wps"><w:drawing><w:txbxContent><w:p><w:r><w:t>Figure 2. The activation key, '
        "shown actual size.</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict>"
        "<w:txbxContent><w:p><w:r><w:t>Figure 2. The activation key, shown actual size.</w:t></w:r></w:p>"
        "</w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r>"
    )
    body = (
        "<w:p><w:r><w:t>Insert the key before starting the vehicle.</w:t></w:r>" + box + "</w:p>"
        '<w:p><w:r><w:t>The grid spacing is chosen automatically.</w:t></w:r><w:r><w:footnoteReference w:id="2"/>'
        "</w:r></w:p><w:p><w:r><w:t>The next chapter covers beams.</w:t></w:r></w:p>"
    )
    notes = (
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
        '<w:footnote w:id="2"><w:p><w:r><w:t>Ten dipoles per wavelength, by default.</w:t></w:r></w:p></w:footnote>'
    )
    r = read(".docx", _docx(body, notes), "manual.docx")
    assert r.text.count("Figure 2. The activation key, shown actual size.") == 1
    assert r.text.index("Insert the key") < r.text.index("Figure 2.") < r.text.index("The grid spacing")
    assert "The grid spacing is chosen automatically.\n\nTen dipoles per wavelength, by default." in r.text


# --- citations ----------------------------------------------------------------------------------------------


def test_the_citation_names_the_section_of_the_highlighted_sentence():
    entry = {"headings": [[0, 1, "Guide"], [100, 2, "Install"], [400, 2, "Configure"]]}
    assert locate(entry, 300, 700).section == ("Guide", "Install")  # where the passage starts
    assert locate(entry, 300, 700, at=450).section == ("Guide", "Configure")  # where its highlight is


def test_text_written_a_paragraph_a_line_keeps_every_character_where_the_file_has_it():
    # Offsets into such a file (a citation's, or a question set's gold spans) must stay the file's own.
    text = "A Title\n\n First paragraph starts with a space. \n\nSecond  one has  doubled spaces.\tAnd a tab.\n"
    assert read(".txt", text.encode(), "a.txt").text == text.rstrip("\n")
