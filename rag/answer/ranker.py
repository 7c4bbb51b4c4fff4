"""The learned ranker: weights fitted on question sets (training/train_ranker.py), kept in ranker.json.

Three small logistic models over the signals of signals.py:

- passages: which leading candidate holds the answer (its score re-ranks them);
- sentences: which sentence of a passage is the answer, for the highlight;
- answered: whether the best passage answers at all, or the corpus seems not to hold the answer;
- reading: how the reader's score (reading.py) re-orders the passages it read, with their order so far.

Each is a standardised linear model, `w . (x - mean) / scale + b`, read from
a versioned JSON file; numpy alone applies it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .signals import PASSAGE_SIGNALS, SENTENCE_SIGNALS

__all__ = [
    "Linear",
    "Ranker",
    "load_ranker",
    "answer_signals",
    "reading_signals",
    "ANSWER_SIGNALS",
    "READING_SIGNALS",
    "RANKER_FILE",
    "FORMAT",
]

RANKER_FILE = Path(__file__).with_name("ranker.json")
# What answer_signals gives; the answered model reads some of them. "reading": the first passage's reader score.
ANSWER_SIGNALS = (*PASSAGE_SIGNALS, "lead", "reading")
# Per passage read: its place in the order so far (1 / rank), the reader's score, that score less the best one,
# and the ranker's score less the first passage's (how far behind the ranking put it).
READING_SIGNALS = ("order", "reading", "reading_gap", "ranker_gap")
# "lead": how far the best hit leads the next on these signals, summed.
LEAD_BY = [PASSAGE_SIGNALS.index(name) for name in ("dense", "sentence", "coverage", "match")]
NO_READING = -20.0  # the score of a passage not read, and the floor of every reader score
FORMAT = 1


@dataclass(frozen=True)
class Linear:
    """A standardised linear model over named signals."""

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    @classmethod
    def from_json(cls, data: dict) -> Linear:
        return cls(
            tuple(data["names"]),
            np.array(data["mean"], dtype=np.float64),
            np.array(data["scale"], dtype=np.float64),
            np.array(data["weights"], dtype=np.float64),
            float(data["bias"]),
        )

    def to_json(self) -> dict:
        return {
            "names": list(self.names),
            "mean": [round(float(x), 6) for x in self.mean],
            "scale": [round(float(x), 6) for x in self.scale],
            "weights": [round(float(x), 6) for x in self.weights],
            "bias": round(self.bias, 6),
        }

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        """The model's logit for each row."""
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, len(self.names))
        return ((rows - self.mean) / self.scale) @ self.weights + self.bias


@dataclass(frozen=True)
class Ranker:
    passages: Linear
    sentences: Linear
    answered_model: Linear
    threshold: float  # answered when the answered model's logit reaches it
    first_weight: float  # the first ranking's score, added to the passage model's: a prior that carries to new corpora
    reading: Linear | None = None  # absent: the reader's score does not re-order passages

    def passage_scores(self, rows: np.ndarray, first: np.ndarray) -> np.ndarray:
        return (self.passages(rows) + self.first_weight * np.asarray(first, dtype=np.float64)).astype(np.float32)

    def sentence_scores(self, rows: np.ndarray) -> np.ndarray:
        return self.sentences(rows).astype(np.float32)

    def answered(self, hits, readings=None) -> bool:
        """Whether the best of `hits` (search.Hit, best first) answers its question."""
        return self.answer_logit(hits, readings) >= self.threshold

    def answer_logit(self, hits, readings=None) -> float:
        """The answered model's logit for `hits` and the reader's scores of them (-inf when nothing to judge)."""
        if not hits or not hits[0].signals:  # not re-ranked: an empty or tiny pool
            return float("-inf")
        columns = [ANSWER_SIGNALS.index(name) for name in self.answered_model.names]
        return float(self.answered_model(answer_signals(hits, readings)[:, columns])[0])

    def reading_order(self, scores, ranked) -> list[int]:
        """The passages read (best first so far, with the reader's scores and the ranker's), in the order the
        reading model gives."""
        if self.reading is None or not len(scores):
            return list(range(len(scores)))
        logits = self.reading(reading_signals(scores, ranked))
        return np.argsort(-logits, kind="stable").tolist()


def answer_signals(hits, readings=None) -> np.ndarray:
    """What the answered model reads: the best hit's passage signals, how far they lead the next hit's, and
    the best score of `readings`, the first hit's reading (NO_READING when nothing was read)."""
    first = np.asarray(hits[0].signals, dtype=np.float64)
    second = np.asarray(hits[1].signals, dtype=np.float64) if len(hits) > 1 and hits[1].signals else first
    best = max((r.score for r in readings or ()), default=NO_READING)
    lead = float(first[LEAD_BY].sum() - second[LEAD_BY].sum())
    return np.concatenate([first, [lead, max(best, NO_READING)]])[None, :]


def reading_signals(scores, ranked) -> np.ndarray:
    """READING_SIGNALS of each passage read, from the reader's scores and the ranker's (`ranked`), in the
    order so far.

    >>> reading_signals([3.0, 5.0], [2.5, 1.0]).tolist()
    [[1.0, 3.0, -2.0, 0.0], [0.5, 5.0, 0.0, -1.5]]
    """
    scores = np.maximum(np.asarray(scores, dtype=np.float64), NO_READING)
    ranked = np.asarray(ranked, dtype=np.float64)[: len(scores)]
    order = 1.0 / np.arange(1, len(scores) + 1)
    return np.stack([order, scores, scores - scores.max(), ranked - ranked[0]], axis=1)


@lru_cache(maxsize=4)
def load_ranker(path: Path = RANKER_FILE) -> Ranker:
    """The ranker shipped with the package."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise ConfigError(f"{path}: ranker format {data.get('format')}, expected {FORMAT}; reinstall the package")
    ranker = Ranker(
        Linear.from_json(data["passages"]),
        Linear.from_json(data["sentences"]),
        Linear.from_json(data["answered"]),
        float(data["threshold"]),
        float(data["first_weight"]),
        Linear.from_json(data["reading"]) if data.get("reading") else None,
    )
    _check_names(path, ranker)
    return ranker


def _check_names(path: Path, ranker: Ranker) -> None:
    """Refuse a ranker fitted on other signals than the code computes: it would weigh the wrong columns."""
    expected = {
        "passages": (ranker.passages.names, PASSAGE_SIGNALS),
        "sentences": (ranker.sentences.names, SENTENCE_SIGNALS),
        "reading": (ranker.reading.names if ranker.reading else READING_SIGNALS, READING_SIGNALS),
    }
    for model, (names, signals) in expected.items():
        if tuple(names) != tuple(signals):
            raise ConfigError(
                f"{path}: its {model} model was fitted on the signals {list(names)}, but the code computes "
                f"{list(signals)}; refit it (training/fit_ranker.py) or reinstall the package"
            )
    unknown = set(ranker.answered_model.names) - set(ANSWER_SIGNALS)
    if unknown:
        raise ConfigError(f"{path}: its answered model reads signals the code lacks: {sorted(unknown)}; refit it")
