"""Text -> unit-length vectors.

An embedder is a class with one job, `embed_batch`; the base class does the
batching (longest texts together, so padding is small) and the progress bar.

The bundled all-MiniLM-L6-v2 runs on ONNX Runtime from an export kept beside
the index (export.py): the same vectors as sentence-transformers, without
importing torch, so a question from the shell is answered in well under a
second. Its weights are checked against their published SHA-256 before they
are exported (bundled.py). Any other sentence-transformers name or local
path runs on sentence-transformers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..config import DEFAULT_MODEL
from ..errors import ConfigError
from .bundled import bundled_model_path, is_bundled
from .export import export_bundled, export_folder, verified_export

__all__ = ["Embedder", "OnnxEmbedder", "SentenceTransformerEmbedder", "load_embedder"]

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
UNFUSED = ["SkipLayerNormFusion", "BiasGeluFusion"]  # left out of the export (export.py); ONNX Runtime would fuse again


class Embedder:
    """Turns texts into float32 vectors of length `dim`, normalised to unit length."""

    name: str
    dim: int
    batch_size: int = 64

    @property
    def fingerprint(self) -> str:
        """What decides the vectors besides the text: the cache of computed vectors is keyed by it."""
        return self.name

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


class OnnxEmbedder(Embedder):
    """The bundled model exported to ONNX (see export.py), run by ONNX Runtime on every core.

    Texts are tokenized in windows and batched by token count, so a batch of
    short passages is large and a batch of long ones small.

    The int8 model quantizes its activations with one scale per tensor, taken
    over the whole batch, padding included: a text's vector would move with
    the company it is embedded in (by up to 0.015 in cosine, measured on the
    bundled articles). So it runs one text at a time, which makes a vector
    depend on its text alone, and is no slower: nothing is padded. One text
    is too small a job to share between cores, so each core runs texts of
    its own (ONNX Runtime lets go of the GIL while it runs).
    """

    batch_tokens = 8192  # padded tokens per batch
    window = 2048  # texts tokenized at a time

    def __init__(
        self, folder: Path, record: dict, name: str = DEFAULT_MODEL, quantized: bool = False, threads: int | None = None
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name, self.dim = name, int(record["dim"])
        self.one_at_a_time = quantized  # see above
        cores = os.cpu_count() or 1
        self.workers = cores if quantized and not threads else 1
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(record["max_length"]))
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or (1 if self.workers > 1 else cores)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # One run shared by the cores (a question) goes quicker when its threads wait for each step by
        # spinning briefly (benchmarks/README.md, "Warm"); a core running texts of its own (indexing)
        # has no one to wait for, and there spinning only takes time from the other workers.
        spin = self.workers == 1 and options.intra_op_num_threads > 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        try:
            path = folder / ("model-int8.onnx" if quantized else "model.onnx")
            # the export's own weights and the runtime that runs them: another of either may round differently
            digest = record["files"][path.name]["sha256"][:16]
            self._fingerprint = f"{name} onnx {path.name} {digest} onnxruntime {ort.__version__}"
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"], disabled_optimizers=UNFUSED
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ConfigError(f"cannot load {path} ({exc.__class__.__name__}): delete {folder}.") from None

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        if self.one_at_a_time:
            return np.concatenate(list(self._each(ids))) if ids else np.zeros((0, self.dim), np.float32)
        return self._run(ids)

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        for at in range(0, len(order), self.window):
            rows = order[at : at + self.window]
            ids = [e.ids for e in self.tokenizer.encode_batch([texts[i] for i in rows])]
            if self.one_at_a_time:
                for j, vector in enumerate(self._each(ids)):
                    out[rows[j]] = vector[0]
                    if progress:
                        progress(1)
                continue
            by_length = sorted(range(len(rows)), key=lambda j: len(ids[j]), reverse=True)
            start = 0
            while start < len(by_length):
                size = max(1, self.batch_tokens // len(ids[by_length[start]]))
                batch = by_length[start : start + size]
                out[[rows[j] for j in batch]] = self._run([ids[j] for j in batch])
                start += len(batch)
                if progress:
                    progress(len(batch))
        return out

    def _each(self, ids: list[list[int]]) -> Iterator[np.ndarray]:
        """One run per text, on every core; results in the order of `ids`."""
        if self.workers == 1:
            yield from (self._run([row]) for row in ids)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(self.workers) as pool:
            yield from pool.map(lambda row: self._run([row]), ids)

    def _run(self, ids: list[list[int]]) -> np.ndarray:
        width = max(len(row) for row in ids)
        input_ids = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for r, row in enumerate(ids):
            input_ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
        return self.session.run(None, feed)[0]


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model, run on the CPU, loaded without network access."""

    def __init__(self, name: str = DEFAULT_MODEL) -> None:
        path = bundled_model_path() if is_bundled(name) else name
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        try:
            self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises OSError, ValueError, HF errors...
            raise ConfigError(
                f"cannot load embedding model {name!r} ({exc.__class__.__name__}). Use {DEFAULT_MODEL!r} "
                "(bundled) or the path of a sentence-transformers model folder on this machine."
            ) from None
        self.name = name
        self.dim = int(self.model.get_embedding_dimension() or 0)  # a sentence-transformers model knows its own
        import sentence_transformers
        import torch

        versions = f"sentence-transformers {sentence_transformers.__version__} torch {torch.__version__}"
        self._fingerprint = f"{name} {versions}"

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=len(texts), normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)


def load_embedder(name: str = DEFAULT_MODEL, index_dir: Path | None = None, quantized: bool = False) -> Embedder:
    """The embedder for `name`, loaded once per process.

    With an index folder, the bundled model runs from its ONNX export there
    (made on first use, in child processes that need torch once); `quantized` picks its int8
    weights, about three times as fast as float32 (benchmarks/README.md), for indexing.
    """
    if index_dir is None or not is_bundled(name):
        return _sentence_transformer(name)
    return _onnx(name, index_dir, quantized)


@lru_cache(maxsize=2)
def _sentence_transformer(name: str) -> Embedder:
    return SentenceTransformerEmbedder(name)


@lru_cache(maxsize=4)
def _onnx(name: str, index_dir: Path, quantized: bool) -> Embedder:
    folder = export_folder(index_dir)
    record = verified_export(folder) or export_bundled(folder)
    return OnnxEmbedder(folder, record, name, quantized)
