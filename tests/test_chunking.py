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
    assert all(e - s <= 600 for s, e in spans)
    overlaps = [a_end - b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False) if b_start < a_end]
    assert overlaps and all(o <= 120 for o in overlaps)


def test_long_sentence_is_cut_at_white_space():
    text = "word " * 100
    spans = passage_spans(text, 60, 0)
    assert all(e - s <= 60 for s, e in spans)
    assert all(text[s:e].split() == ["word"] * len(text[s:e].split()) for s, e in spans)


def test_a_passage_stops_at_a_paragraph_once_half_full():
    text = "First paragraph has one sentence here.\n\nSecond one is separate."
    assert passage_spans(text, 70, 0) == [(0, 38), (40, len(text))]
