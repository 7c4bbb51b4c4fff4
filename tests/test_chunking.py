import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.ingest.chunking import passage_spans, sentence_spans

from .conftest import CORPUS

words = st.text(alphabet=st.sampled_from("abc xyz.!?\n\n  “”’é—0123456789\t"), min_size=0, max_size=600)


@settings(max_examples=300, deadline=None)
@given(text=words, size=st.integers(50, 300), overlap_share=st.floats(0, 0.45))
def test_every_passage_is_an_exact_span_of_the_source(text, size, overlap_share):
    overlap = int(size * overlap_share)
    spans = passage_spans(text, size, overlap)
    for start, end in spans:
        assert 0 <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip()
    covered = "".join(text[s:e] for s, e, _ in sentence_spans(text))
    assert "".join(covered.split()) == "".join(text.split()), "sentences must cover all non-space text"
    assert [s for s, _ in spans] == sorted(s for s, _ in spans)


@settings(max_examples=100, deadline=None)
@given(text=words)
def test_passages_cover_every_word(text):
    spans = passage_spans(text, 80, 20)
    joined = set()
    for s, e in spans:
        joined.update(range(s, e))
    assert all(i in joined for i, ch in enumerate(text) if not ch.isspace())


def test_passages_respect_size_and_overlap_on_a_real_article():
    text = (CORPUS / "rust-in-the-linux-kernel.txt").read_text()
    spans = passage_spans(text, 600, 120)
    assert len(spans) > 10
    assert all(e - s <= 600 for s, e in spans[:-1]) and spans[-1][1] - spans[-1][0] <= 750  # the last takes the end
    overlaps = [a_end - b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False) if b_start < a_end]
    assert overlaps and all(o <= 120 for o in overlaps)


def test_long_sentence_is_cut_at_white_space():
    text = "word " * 100
    spans = passage_spans(text, 60, 0)
    assert all(e - s <= 60 for s, e in spans)
    assert all(text[s:e].split() == ["word"] * len(text[s:e].split()) for s, e in spans)


def test_a_passage_stops_at_a_paragraph_once_half_full():
    text = "First paragraph has one sentence here.\n\nSecond one is separate.\n\nA third paragraph, somewhat longer."
    assert passage_spans(text, 70, 0) == [(0, 38), (40, len(text))]


def test_the_last_lines_of_a_text_stay_with_the_passage_before_them():
    # a one-page transcript: the names after "APPEARANCES:" belong with the case they appear in
    text = (
        "IN THE SUPREME COURT OF THE UNITED STATES\n\nNORA VANCE, Petitioner v. ALAN REED, Respondent.\n\n"
        "The matter came on for oral argument before the Court on Tuesday, March 3, 2009.\n\n"
        "APPEARANCES:\n\nJOHN ROE, ESQ.; on behalf of the Respondent."
    )
    assert passage_spans(text, 200, 0) == [(0, len(text))]  # within a quarter over the size: one passage
    assert len(passage_spans(text, 150, 0)) == 2  # beyond it: cut as before


def test_a_passage_never_ends_with_a_heading_the_next_one_starts_with_it():
    from pathlib import Path

    from rag.ingest.documents import ArticleFile, read_document

    faq = "\n".join(
        f"3.{n}\tWhy does the tool skip file number {n}?\n\n"
        f"\tThe tool skips file number {n} when it holds no text of its\n"
        f"\town; it says so in one line, and reads the others.{' It logs it.' * (n * 3 % 11)}\n"
        for n in range(1, 30)
    )
    data = ("Frequently asked questions\n==========================\n\n" + faq).encode()
    doc = read_document(ArticleFile(Path("faq.txt"), "faq.txt", len(data), 0), data)
    heads = [(at, at + len(text)) for at, _, text in doc.headings]
    assert len(heads) == 30
    spans = passage_spans(doc.text, 600, 120, heads)
    for start, end in spans[:-1]:
        assert not any(start < a < end <= b for a, b in heads), doc.text[start:end]
    assert all(any(start <= a < end for start, end in spans) for a, _ in heads)  # every heading is in a passage
    assert any(doc.text[start:end].startswith("3.") for start, end in spans[1:])


def test_a_passage_starting_with_a_heading_repeats_nothing_of_the_section_before():
    text = "".join(
        f"version 1.{n}\n* Support for codec number {n}, read and written.\n* Improve the tests of release {n}\n"
        for n in range(20, 10, -1)
    )
    heads = [(m.start(), m.end()) for m in re.finditer(r"^version 1\.\d+$", text, re.M)]
    spans = passage_spans(text, 100, 60, heads)
    for start, end in spans:
        assert not re.search(r"tests of release \d+\nversion", text[start:end]), text[start:end]
    assert all(any(start == a for start, _ in spans) for a, _ in heads)  # each release starts a passage


def test_the_last_lines_of_a_section_stay_with_it_rather_than_lead_the_next():
    text = "".join(
        f"version 1.{n}\n\n* Support for codec number {n}, read and written like the others by every tool.\n\n"
        f"* Improve the tests\n\n"
        for n in range(20, 10, -1)
    )
    heads = [(m.start(), m.end()) for m in re.finditer(r"^version 1\.\d+$", text, re.M)]
    spans = passage_spans(text, 150, 60, heads)
    assert not any(text[start:end].startswith("* Improve") for start, end in spans)
    assert all(any(start == a for start, _ in spans) for a, _ in heads)
    assert max(end - start for start, end in spans) <= 150 + 150 // 4


def test_a_term_is_never_parted_from_the_description_it_introduces():
    text = "Options\n\n" + "\n".join(f"--option-{n}:\nDoes thing number {n} to every file given." for n in range(30))
    spans = passage_spans(text, 200, 60)
    assert len(spans) > 5
    for n in range(30):
        term_and_description = f"--option-{n}:\nDoes thing number {n} to every file given."
        assert any(term_and_description in text[start:end] for start, end in spans), n
    assert not any(text[start:end].startswith("Does") for start, end in spans)
