"""The chat's HTML: article text stays text, numbers match sources, passages open onto their article."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from rag.answer.results import Answer, Citation, Phrase, Result
from rag.web.render import CorpusStatus, context_span, esc, render_answer, render_note, render_status

ARTICLE = (
    "Title line\n\nFirst paragraph talks about kernels.\n\n"
    "Miguel Ojeda led the project. He sent the first pull request in 2021.\n\n"
    "A closing paragraph follows here."
)
TRICKS = '<script>alert(1)</script> <img src=x onerror="alert(1)"> **bold** [a](javascript:alert(1)) $$x$$ `c` & |t|'


def result(
    rank: int, text: str, article: str, source: str = "a.txt", url: str | None = None, title: str = "A"
) -> Result:
    start = article.index(text)
    best = text.split(". ")[0]
    return Result(
        rank=rank,
        text=text,
        highlight=best,
        highlight_start=0,
        highlight_end=len(best),
        score=0.5 / rank,
        citation=Citation(title, source, url, start, start + len(text)),
        explain={"dense_rank": 1, "keyword_rank": None, "fused_score": 0.0325},
        answers=rank == 1,
    )


class Tags(HTMLParser):
    """Collects tags, attributes and text of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text += data


def parse(html: str) -> Tags:
    p = Tags()
    p.feed(html)
    return p


def test_esc_leaves_no_markup_and_no_markdown():
    out = esc(TRICKS)
    assert not re.search(r"[<>*`$\[\]|]", out)
    assert parse(out).tags == [] and parse(out).text == TRICKS


def test_answer_numbers_match_sources_and_every_source_is_listed():
    passage_1 = "Miguel Ojeda led the project. He sent the first pull request in 2021."
    passage_2 = "First paragraph talks about kernels."
    other = "Nothing else here. Really."
    answer = Answer(
        "Who?",
        True,
        [result(1, passage_1, ARTICLE), result(2, other, other, source="b.md"), result(3, passage_2, ARTICLE)],
    )
    html = render_answer(answer, {"a.txt": ARTICLE, "b.md": other}.get)
    cards = re.findall(r'<li class="rag-card" value="(\d+)">.*?<span class="rag-num">(\d+)</span>', html)
    assert [(a, b) for a, b in cards] == [("1", "1"), ("2", "2"), ("3", "3")]
    sources = html[html.index('class="rag-sources"') :]
    listed = re.findall(r'rag-num rag-num-sm">(\d+)<', sources)
    assert sorted(listed) == ["1", "2", "3"]
    assert sources.index("a.txt") < sources.index("b.md")  # in order of first citation
    assert "\n" not in html


def test_a_passage_opens_onto_its_article_with_the_span_and_best_sentence_marked():
    passage = "Miguel Ojeda led the project. He sent the first pull request in 2021."
    html = render_answer(Answer("Who?", True, [result(1, passage, ARTICLE)]), lambda s: ARTICLE)
    context = html[html.index('class="rag-context"') :]
    assert "First paragraph talks about kernels." in context  # the surrounding text
    assert '<mark class="rag-span rag-best">Miguel Ojeda led the project</mark>' in context
    assert '<mark class="rag-span">. He sent the first pull request in 2021.</mark>' in context
    start = ARTICLE.index(passage)
    assert f"a.txt · characters {start}–{start + len(passage)}</span>" in html and "score" not in html


def test_a_changed_article_is_said_so_rather_than_shown_at_the_wrong_place():
    passage = "Miguel Ojeda led the project. He sent the first pull request in 2021."
    html = render_answer(Answer("Who?", True, [result(1, passage, ARTICLE)]), lambda s: "Edited. " + ARTICLE)
    assert "has changed" in html and "rag-ctx-text" not in html


def test_unanswered_says_so_and_still_lists_low_confidence_passages():
    passage = "First paragraph talks about kernels."
    html = render_answer(Answer("Bread?", False, [result(1, passage, ARTICLE)]), lambda s: ARTICLE)
    assert "do not seem to answer" in html and "low confidence" in html
    assert 'class="rag-cards rag-low"' in html and passage in html


def test_unanswered_for_a_name_no_article_mentions_says_which():
    passage = "First paragraph talks about kernels."
    answer = Answer("Haskell?", False, [result(1, passage, ARTICLE)], unmentioned=("Haskell", "OCaml"))
    html = render_answer(answer, lambda s: ARTICLE)
    assert "The articles never mention “Haskell” or “OCaml”." in html and "low confidence" in html
    answer = Answer("ASVS 5.0?", False, [result(1, passage, ARTICLE)], unmentioned=("5.0",), unmentioned_in="asvs.docx")
    html = render_answer(answer, lambda s: ARTICLE)
    assert "The closest article, asvs.docx, never mentions “5.0”." in html


def test_unanswered_for_a_sentence_saying_the_opposite_says_so():
    passage = "Miguel Ojeda led the project."
    answer = Answer("Lowest court?", False, [result(1, passage, ARTICLE)], opposite=("lowest court", "highest court"))
    html = render_answer(answer, lambda s: ARTICLE)
    assert "The closest passage speaks of the “highest court”, not the “lowest court”." in html
    assert "low confidence" in html


def test_explain_shows_the_ranks():
    passage = "First paragraph talks about kernels."
    html = render_answer(Answer("q", True, [result(1, passage, ARTICLE)]), lambda s: ARTICLE, explain=True)
    assert "keyword rank — · dense rank 1 · fused score 0.0325" in html and "score 0.500" in html


def test_article_text_with_markup_stays_text_everywhere():
    article = f"{TRICKS}\n\nSecond {TRICKS}"
    passage = f"Second {TRICKS}"
    r = result(1, passage, article, url="javascript:alert(1)", title=TRICKS)
    html = render_answer(Answer("q", True, [r]), lambda s: article)
    tags = parse(html)
    assert {t for t, _ in tags.tags} <= {
        "div",
        "section",
        "ol",
        "li",
        "details",
        "summary",
        "span",
        "mark",
        "p",
        "strong",
        "ul",
        "br",
    }
    assert not any(k.startswith("on") or v and "javascript" in v for _, attrs in tags.tags for k, v in attrs.items())
    assert TRICKS in tags.text


@pytest.mark.parametrize(
    "url, linked", [("https://example.org/a", True), ("javascript:alert(1)", False), (None, False)]
)
def test_only_web_addresses_become_links(url, linked):
    passage = "First paragraph talks about kernels."
    html = render_answer(Answer("q", True, [result(1, passage, ARTICLE, url=url)]), lambda s: ARTICLE)
    assert ('href="https://example.org/a"' in html) is linked and 'href="javascript' not in html


def test_context_span_takes_whole_lines_or_cuts_at_a_word():
    text = "one two three\n" + "x " * 50 + "\nPASSAGE here\n" + "y " * 50 + "\nlast " + "z " * 60
    start = text.index("PASSAGE")
    a, b, cut_a, cut_b = context_span(text, start, start + 12, chars=110)
    assert text[a:b].startswith("x x") and text[a:b].rstrip().endswith("y") and not cut_a and not cut_b
    a, b, cut_a, cut_b = context_span(text, start, start + 12, chars=30)
    assert cut_a and cut_b and text[a - 1] == " " and text[b] == " "


def test_status_and_notes_escape_titles():
    html = render_status(CorpusStatus([("<b>T</b>", "t.md"), ("Two", "2.txt")], 7, 0.0, "all-MiniLM-L6-v2"))
    assert "2</span> articles" in html and "7</span> passages" in html and "&#60;b&#62;" in html and "<b>" not in html
    assert "<script>" not in render_note(["<script>x</script>"], "error")


def test_cards_show_section_and_pages_and_link_html_articles_to_the_sentence():
    from dataclasses import replace

    text = "Miguel Ojeda led the project. He sent the first pull request in 2021."
    r = result(1, text, ARTICLE, source="rust.html", url="https://example.org/rust")
    r = replace(r, citation=replace(r.citation, section=("Rust", "History"), pages=(3,)))
    html = render_answer(Answer("Who led it?", True, [r]), lambda s: ARTICLE)
    assert "Rust › History · page 3" in html
    assert f'href="{esc("https://example.org/rust#:~:text=Miguel%20Ojeda%20led%20the%20project")}"' in html
    pdf = replace(r, citation=replace(r.citation, source="rust.pdf"))
    assert esc("#:~:text=") not in render_answer(Answer("Who led it?", True, [pdf]), lambda s: ARTICLE)


PASSAGE = "Miguel Ojeda led the project. He sent the first pull request in 2021."
OTHER = "First paragraph talks about kernels."


def blocks(html: str) -> list[str]:
    """The answer's parts in the order shown: lead, notice, passages, sources."""
    found = {name: html.find(f'class="{name}') for name in ("rag-lead", "rag-notice", "rag-cards", "rag-sources")}
    return [name for name, at in sorted(found.items(), key=lambda kv: kv[1]) if at >= 0]


def test_the_phrase_leads_then_its_sentence_marked_then_its_citation_then_the_passages():
    r1, r2 = result(1, OTHER, ARTICLE), result(2, PASSAGE, ARTICLE, url="https://example.org/rust")
    start = PASSAGE.index("Miguel Ojeda")
    phrase = Phrase("Miguel Ojeda", 2, start, start + 12, "a.txt", r2.citation.start, r2.citation.start + 12, 0.9)
    html = render_answer(Answer("Who led it?", True, [r1, r2], phrase=phrase, margin=3.0), lambda s: ARTICLE)
    assert blocks(html) == ["rag-lead", "rag-cards", "rag-sources"]
    lead = html[: html.index('class="rag-cards')]
    assert '<p class="rag-confidence rag-conf-found">Answer found</p>' in lead
    assert '<p class="rag-phrase">Miguel Ojeda</p>' in lead
    assert '<p class="rag-sentence"><mark>Miguel Ojeda</mark> led the project</p>' in lead  # the sentence holding it
    cite = lead[lead.index('class="rag-cite"') :]
    assert '"rag-num rag-num-sm">2</span>' in cite and "a.txt" in cite and 'href="https://example.org/rust"' in cite


def test_without_a_phrase_the_best_sentence_leads_and_a_likely_answer_says_so():
    html = render_answer(Answer("Who?", True, [result(1, PASSAGE, ARTICLE)], margin=0.2), lambda s: ARTICLE)
    assert blocks(html) == ["rag-lead", "rag-cards", "rag-sources"]
    assert '<p class="rag-confidence rag-conf-likely">Likely</p>' in html
    assert '<p class="rag-phrase rag-phrase-sentence">Miguel Ojeda led the project</p>' in html


def test_not_answered_says_so_first_and_marks_no_passage():
    rs = [result(1, OTHER, ARTICLE), result(2, PASSAGE, ARTICLE)]
    rs[0] = Result(**{**rs[0].__dict__, "answers": False})
    html = render_answer(Answer("Bread?", False, rs, margin=-4.0), lambda s: ARTICLE)
    assert blocks(html) == ["rag-notice", "rag-cards", "rag-sources"]
    assert "Not in these articles." in html and "<mark>" not in html and "rag-best" not in html


def test_only_passages_that_answer_are_marked():
    rs = [result(1, PASSAGE, ARTICLE), result(2, OTHER, ARTICLE)]
    html = render_answer(Answer("Who?", True, rs, margin=3.0), lambda s: ARTICLE)
    cards = html[html.index('class="rag-cards') :].split('<li class="rag-card"')[1:]
    assert ["<mark>" in c.split("</summary>")[0] for c in cards] == [True, False]


def test_a_repeated_passage_is_shown_once_with_also_in_and_both_articles_are_sources():
    from dataclasses import replace

    r = replace(result(1, PASSAGE, ARTICLE), also_in=(Citation("Other", "b.md", None, 0, 10, lines=(3, 3)),))
    html = render_answer(Answer("Who?", True, [r], margin=3.0), lambda s: ARTICLE)
    assert html.count('<li class="rag-card"') == 1
    assert 'also in: <span class="rag-title">Other</span> <span class="rag-file">b.md</span> · line 3' in html
    sources = html[html.index('class="rag-sources"') :]
    assert "a.txt" in sources and "b.md" in sources


def test_a_pdf_passage_shows_its_page_beside_the_text():
    from dataclasses import replace

    r = result(1, PASSAGE, ARTICLE, source="rust.pdf")
    r = replace(r, citation=replace(r.citation, pages=(2,)))
    html = render_answer(Answer("Who?", True, [r]), lambda s: ARTICLE, page_images=lambda res: [(2, "/p/2.png")])
    context = html[html.index('class="rag-context') :]
    assert 'class="rag-context rag-with-page"' in html and 'class="rag-ctx-text"' in context
    assert '<img src="/p/2.png" alt="Page 2 of A, the passage marked" loading="lazy">' in context
    assert '<a href="/p/2.png" target="_blank"' in context  # the page at full size
