"""Reading passages for the answer phrase: the shipped extractive reader, run with ONNX Runtime.

    reader = load_reader()
    [r] = reader.read("Who led the Rust for Linux project?", ["... Miguel Ojeda, who led the project, ..."])
    r.start, r.end   # character span of "Miguel Ojeda" in the passage
    r.score          # best span's logit minus the "no answer here" logit: compares across passages

The reader is all-MiniLM-L6-v2 fine-tuned on SQuAD v1.1 train with a start/end head, trained to
point at [CLS] where a passage does not answer (training/reader.py; models/READER.md says how well it
does). Its file is int8 and checked against the SHA-256 in models/reader.json before it is used.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..index.faiss.integrity import file_sha256
from ..ingest.chunking import paragraphs

__all__ = ["Reading", "Reader", "load_reader", "READER_DIR", "MAX_ANSWER_TOKENS"]

log = logging.getLogger(__name__)

READER_DIR = Path(__file__).with_name("models")
MAX_LENGTH = 256  # tokens of question and passage together; a 600-character passage takes about 150
STRIDE = 64
MAX_ANSWER_TOKENS = 30
# The reader's logits favour a span a little longer than the answer: a small cost per token, trimming the best
# span, makes it exact more often (the reader alone on SQuAD, given the paragraph: EM +1.3 points on each half
# of the articles; docs/quality.md, "A shorter answer phrase").
LENGTH_PENALTY = 0.05


@dataclass(frozen=True)
class Reading:
    """The best answer span of one passage: character offsets in it, and its score."""

    start: int
    end: int
    score: float  # span logit (start + end) minus the no-answer logit; above 0, the reader prefers the span
    reach: tuple[int, int] | None = None  # the best-scored span, when the answer [start, end) was trimmed from it

    @property
    def around(self) -> tuple[int, int]:
        """The span the reader scored best, before trimming: what the highlight holds."""
        return self.reach or (self.start, self.end)


class Reader:
    """An ONNX extractive reader and its tokenizer."""

    def __init__(self, folder: Path = READER_DIR, threads: int | None = None) -> None:
        card = _checked_card(folder)
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.log_severity_level = 3
        model = str(folder / card["model_file"])
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(folder / card["tokenizer_file"]))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_LENGTH, stride=STRIDE, strategy="only_second")
        self.version = card["sha256"][card["model_file"]][:12]
        self.calls = self.passages_read = 0  # what it has read: the cost of reading, as benchmarks and tests see it

    def read(self, question: str, passages: list[str]) -> list[Reading]:
        """The best span of each passage (one batched model call); a passage's longer windows each compete."""
        if not passages:
            return []
        self.calls += 1
        self.passages_read += len(passages)
        encodings, owner = [], []
        starts_of = [[s for s, _ in paragraphs(p)] for p in passages]
        for i, enc in enumerate(self.tokenizer.encode_batch([(question, p) for p in passages])):
            for window in [enc, *enc.overflowing]:
                encodings.append(window)
                owner.append(i)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for r, e in enumerate(encodings):
            n = len(e.ids)
            ids[r, :n], types[r, :n], mask[r, :n] = e.ids, e.type_ids, e.attention_mask
        starts, ends = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        best: list[Reading | None] = [None] * len(passages)
        for r, e in enumerate(encodings):
            found = _best_span(starts[r], ends[r], e, starts_of[owner[r]])
            held = best[owner[r]]
            if found is not None and (held is None or found.score > held.score):
                best[owner[r]] = found
        return [b if b is not None else Reading(0, 0, -1e9) for b in best]


def _best_span(start: np.ndarray, end: np.ndarray, enc, paragraph_starts: list[int]) -> Reading | None:
    """The span of the passage with the highest start + end logit, at most MAX_ANSWER_TOKENS long and within
    one of its paragraphs (`paragraph_starts`: where each begins), trimmed to its part that scores best less
    LENGTH_PENALTY a token (the untrimmed span is kept as its `reach`). Its score is that highest logit
    against [CLS] (what the ranking models read)."""
    context = np.array([s == 1 for s in enc.sequence_ids] + [False] * (len(start) - len(enc.ids)))
    if not context.any():
        return None
    s = np.where(context, start, -np.inf)
    e = np.where(context, end, -np.inf)
    grid = s[:, None] + e[None, :]
    n = len(s)
    rows, cols = np.indices((n, n))
    offsets = enc.offsets
    paragraph = np.searchsorted(paragraph_starts, [o[0] for o in offsets] + [0] * (n - len(offsets)), side="right")
    grid[(cols < rows) | (cols - rows >= MAX_ANSWER_TOKENS) | (paragraph[rows] != paragraph[cols])] = -np.inf
    a, b = np.unravel_index(int(np.argmax(grid)), grid.shape)
    within = grid[a : b + 1, a : b + 1] - LENGTH_PENALTY * (cols - rows)[a : b + 1, a : b + 1]
    i, j = np.unravel_index(int(np.argmax(within)), within.shape)  # the best span trimmed, never moved
    reach = (int(offsets[a][0]), int(offsets[b][1]))
    answer = (int(offsets[a + i][0]), int(offsets[a + j][1]))
    return Reading(*answer, float(grid[a, b] - (start[0] + end[0])), reach if reach != answer else None)


def _checked_card(folder: Path) -> dict:
    """The reader's card, once its files' SHA-256 match it; a clear error otherwise."""
    try:
        card = json.loads((folder / "reader.json").read_text(encoding="utf-8"))
        for name, digest in card["sha256"].items():
            if file_sha256(folder / name) != digest:
                raise ConfigError(
                    f"the reader file {folder / name} is not the one shipped (its SHA-256 differs): "
                    "reinstall the package to restore it"
                )
    except (OSError, ValueError, KeyError) as exc:
        problem = f"the reader in {folder} cannot be loaded ({exc})"
        raise ConfigError(f"{problem}: reinstall the package to restore it") from None
    return card


@lru_cache(maxsize=2)
def load_reader(folder: Path = READER_DIR) -> Reader:
    """The shipped reader, loaded once per process."""
    return Reader(folder)
