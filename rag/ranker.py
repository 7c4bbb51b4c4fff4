"""The learned ranker: weights fitted on question sets (benchmarks/train_ranker.py), kept in ranker.json.

Three small logistic models over the signals of signals.py:

- passages: which leading candidate holds the answer (its score re-ranks them);
- sentences: which sentence of a passage is the answer, for the highlight;
- answered: whether the best passage answers at all, or the corpus seems not to hold the answer.

Each is a standardised linear model, `w . (x - mean) / scale + b`, read from
a versioned JSON file; numpy alone applies it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .signals import PASSAGE_SIGNALS

__all__ = ["Linear", "Ranker", "load_ranker", "answer_signals", "ANSWER_SIGNALS", "RANKER_FILE", "FORMAT"]

RANKER_FILE = Path(__file__).with_name("ranker.json")
ANSWER_SIGNALS = (*PASSAGE_SIGNALS, "lead")  # what answer_signals gives; the answered model reads some of them
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

    def passage_scores(self, rows: np.ndarray, first: np.ndarray) -> np.ndarray:
        return (self.passages(rows) + self.first_weight * np.asarray(first, dtype=np.float64)).astype(np.float32)

    def sentence_scores(self, rows: np.ndarray) -> np.ndarray:
        return self.sentences(rows).astype(np.float32)

    def answered(self, hits) -> bool:
        """Whether the best of `hits` (search.Hit, best first) answers its question."""
        if not hits[0].signals:  # not re-ranked: an empty or tiny pool
            return False
        columns = [ANSWER_SIGNALS.index(name) for name in self.answered_model.names]
        return bool(self.answered_model(answer_signals(hits)[:, columns])[0] >= self.threshold)


def answer_signals(hits) -> np.ndarray:
    """What the answered model reads: the best hit's passage signals, and how far they lead the next hit's."""
    first = np.asarray(hits[0].signals, dtype=np.float64)
    second = np.asarray(hits[1].signals, dtype=np.float64) if len(hits) > 1 and hits[1].signals else first
    return np.concatenate([first, [float(first[:4].sum() - second[:4].sum())]])[None, :]


@lru_cache(maxsize=4)
def load_ranker(path: Path = RANKER_FILE) -> Ranker:
    """The ranker shipped with the package."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: ranker format {data.get('format')}, expected {FORMAT}")
    return Ranker(
        Linear.from_json(data["passages"]),
        Linear.from_json(data["sentences"]),
        Linear.from_json(data["answered"]),
        float(data["threshold"]),
        float(data["first_weight"]),
    )
