"""What an update of the index did: counts, time, why it rebuilt, and the articles it skipped."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..ingest.documents import Skipped
from .passage_vectors import EmbedCounts

__all__ = ["IndexReport"]


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    passages_embedded: int = 0  # passages of new and changed articles whose vectors were computed
    passages_cached: int = 0  # ... and those taken from the vector cache (an earlier, interrupted run, say)
    sentences_embedded: int = 0  # sentences of multi-sentence passages, embedded for sentence vectors
    sentences_cached: int = 0
    passages_total: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0  # of `seconds`, spent embedding
    rebuilt: str | None = None  # why everything was rebuilt, if it was
    skipped: list[Skipped] = field(default_factory=list)
    waited: bool = False  # another process was updating the index first (not in the JSON summary)

    def to_json(self) -> dict:
        out = asdict(self)
        del out["waited"]
        out["seconds"] = round(self.seconds, 3)
        out["embed_seconds"] = round(self.embed_seconds, 3)
        out["texts_per_second"] = round(self.texts_per_second, 1)
        out["skipped"] = [asdict(s) for s in self.skipped]
        return out

    @property
    def texts_per_second(self) -> float:
        """Passages and sentences embedded per second (0 when nothing was embedded)."""
        done = self.passages_embedded + self.sentences_embedded
        return done / self.embed_seconds if done and self.embed_seconds > 0 else 0.0

    def count(self, counts: EmbedCounts) -> None:
        self.passages_embedded, self.passages_cached = counts.passages_embedded, counts.passages_cached
        self.sentences_embedded, self.sentences_cached = counts.sentences_embedded, counts.sentences_cached
        self.embed_seconds = counts.seconds

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt)
