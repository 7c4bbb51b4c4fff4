"""Shared fixtures: a deterministic fake embedder, a small corpus, the real model."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.index.embedding import Embedder
from rag.index.keyword import tokenize

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


class FakeEmbedder(Embedder):
    """Hashed bag of stemmed words: deterministic, instant, and similar texts get similar vectors.

    Counts what it embeds, so tests can check that unchanged passages are not embedded again.
    """

    name = "fake-hash-64"
    dim = 64

    def __init__(self) -> None:
        self.embedded = 0

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in tokenize(text) or ["<empty>"]:
                h = int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "little")
                out[row, h % self.dim] += 1.0 if h & 1 << 31 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A copy of the bundled corpus that a test may change."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def settings(tmp_path: Path, corpus: Path) -> Settings:
    return Settings(corpus=corpus, index=tmp_path / "index")


@pytest.fixture
def engine(settings: Settings, fake_embedder: FakeEmbedder) -> Engine:
    return Engine(settings, embedder=fake_embedder)


@pytest.fixture(scope="session")
def real_embedder():
    from rag.index.embedding import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def real_engine(tmp_path_factory, real_embedder) -> Engine:
    """The bundled corpus indexed with the real model, shared by the quality tests."""
    root = tmp_path_factory.mktemp("real")
    shutil.copytree(CORPUS, root / "corpus")
    eng = Engine(Settings(corpus=root / "corpus", index=root / "index"), embedder=real_embedder)
    eng.update()
    return eng


@pytest.fixture(scope="session")
def onnx_index(tmp_path_factory) -> Path:
    """An index folder holding only the bundled model's ONNX export, made once per session."""
    from rag.index.export import export_bundled, export_folder

    index = tmp_path_factory.mktemp("onnx") / "index"
    export_bundled(export_folder(index))
    return index


def share_export(onnx_index: Path, index: Path) -> None:
    """Hard-link the session's ONNX export into `index`, as if `rag index` had exported it there."""
    from rag.index.export import export_folder

    source, target = export_folder(onnx_index), export_folder(index)
    target.mkdir(parents=True)
    for f in source.iterdir():
        os.link(f, target / f.name)
