"""Shared fixtures: a deterministic fake embedder, a small corpus, the real model."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.index.embedding import Embedder
from rag.index.faiss.integrity import verify
from rag.index.faiss.reader import Store
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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked `both_stores` runs twice: on the FAISS folder, and on Milvus Lite (slow)."""
    if metafunc.definition.get_closest_marker("both_stores"):
        kinds = ["faiss", pytest.param("milvus", marks=pytest.mark.slow)]
        metafunc.parametrize("store_kind", kinds, indirect=True)


@pytest.fixture
def store_kind(request: pytest.FixtureRequest) -> str:
    """Where `settings` keeps the index: "faiss" (the folder) unless a test or module asks for "milvus"."""
    return str(getattr(request, "param", "faiss"))


@pytest.fixture(scope="session")
def milvus_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Milvus Lite file for the whole session (it takes seconds to start); tests keep collections apart."""
    return tmp_path_factory.mktemp("milvus") / "rag.db"


def milvus_url(milvus_db: Path, key: str) -> str:
    """The store setting for collections of their own in `milvus_db`, named after `key`."""
    return f"milvus://{milvus_db}?collection=t{hashlib.sha1(key.encode()).hexdigest()[:12]}"


@pytest.fixture
def settings(tmp_path: Path, corpus: Path, store_kind: str, request: pytest.FixtureRequest) -> Settings:
    if store_kind == "milvus":
        store = milvus_url(request.getfixturevalue("milvus_db"), request.node.nodeid)
        return Settings(corpus=corpus, index=tmp_path / "index", store=store)
    return Settings(corpus=corpus, index=tmp_path / "index")


@pytest.fixture
def engine(settings: Settings, fake_embedder: FakeEmbedder) -> Engine:
    return Engine(settings, embedder=fake_embedder)


@pytest.fixture(scope="session")
def real_embedder():
    from rag.index.embedding import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def real_engines(tmp_path_factory, real_embedder, milvus_db: Path) -> Callable[[str], Engine]:
    """The bundled corpus indexed with the real model, once per store kind, shared by the quality tests."""
    built: dict[str, Engine] = {}

    def engine_for(kind: str) -> Engine:
        if kind not in built:
            root = tmp_path_factory.mktemp(f"real-{kind}")
            shutil.copytree(CORPUS, root / "corpus")
            settings = Settings(corpus=root / "corpus", index=root / "index")
            if kind == "milvus":
                settings = replace(settings, store=milvus_url(milvus_db, "real"))
            built[kind] = Engine(settings, embedder=real_embedder)
            built[kind].update()
        return built[kind]

    return engine_for


@pytest.fixture
def real_engine(real_engines: Callable[[str], Engine], store_kind: str) -> Engine:
    return real_engines(store_kind)


@pytest.fixture
def beir_dir(tmp_path: Path) -> Path:
    """A BEIR set of three documents and two questions."""
    folder = tmp_path / "tiny"
    (folder / "qrels").mkdir(parents=True)
    docs = [
        ("d1", "Sourdough", "A starter of flour and water is fed daily and leavens the bread."),
        ("d2", "Kernel", "Rust support was merged into Linux 6.1 after a long review."),
        ("d3", "Tea", "Green tea is steeped briefly in water below boiling."),
    ]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps({"_id": i, "title": t, "text": x}) for i, t, x in docs))
    queries = [("q1", "Which Linux release merged Rust support?"), ("q2", "How is a sourdough starter fed?")]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps({"_id": i, "text": t}) for i, t in queries))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td1\t2\n")
    return folder


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


# -- shared by several test files ---------------------------------------------

PASSAGE_KEYS = {
    "rank",
    "text",
    "highlight",
    "score",
    "title",
    "source",
    "url",
    "start",
    "end",
    "section",
    "pages",
    "lines",
    "where",
    "answers",
    "also_in",
}


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """Start the app and wait until it answers HTTP; fail with its log if it dies or takes too long."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **env}
    with log.open("w") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the app exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
            return proc
        except urllib.error.HTTPError:
            return proc  # it answers (e.g. 401 behind a password)
        except OSError:
            time.sleep(1)
    proc.kill()
    pytest.fail(f"the app did not start in time:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def refused(result, message: str, code: int = 1) -> str:
    """The run failed the expected way: exit code, message on stderr, no traceback; returns stderr."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not an unexpected exception
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) <= (4 if code == 2 else 2), result.stderr  # 2: click's usage
    return result.stderr


def fingerprint(index: Path) -> str:
    """Everything a reader can see in the live index, except file times: equal fingerprints, equal indexes."""
    store = Store.load(index)
    verify(store.path, store.manifest.files, full=True)
    docs = [{k: v for k, v in d.items() if k != "mtime_ns"} for d in store.manifest.documents]
    digest = hashlib.sha256(json.dumps([store.manifest.model, store.manifest.chunking, docs], sort_keys=True).encode())
    digest.update(np.ascontiguousarray(store.passages).tobytes())
    digest.update(np.ascontiguousarray(store.vectors()).tobytes())
    digest.update("\x00".join(store.text(i) for i in range(len(store))).encode())
    digest.update(np.asarray(store.keyword.scores("rust kernel memory safety")).tobytes())
    digest.update(store.dense.search(store.vectors()[:1].copy(), 5)[1].tobytes())
    return digest.hexdigest()
