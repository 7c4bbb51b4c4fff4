"""The ONNX export: sentence-transformers' vectors without torch, made once per index, checked cheaply."""

from __future__ import annotations

import ast
import json
import logging
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from rag.index.embedding import UNFUSED, OnnxEmbedder, SentenceTransformerEmbedder
from rag.index.export import export_folder, verified_export

from .conftest import CORPUS, share_export

pytestmark = pytest.mark.slow

TEXTS = [
    "Who led the Rust for Linux effort?",
    "",
    "ok",
    "Rust 1.62 landed in Linux 6.1; see CVE-2021-1234 and https://lwn.net/Articles/908347/.",
    "Naïve café façades — “curly quotes”, emoji 🎉, 日本語のテキスト, Ελληνικά, العربية.",
    'fn main() { println!("hello"); } // code is text too',
    "word " * 400,  # longer than the model's 256 tokens: truncated the same way
    *[p for f in sorted(CORPUS.glob("*.txt")) for p in f.read_text().split("\n\n")[:12] if p.strip()],
]
# Modules a question must not load: each costs seconds or hundreds of MB (FAISS, the index itself, is loaded).
HEAVY = {
    "torch",
    "sentence_transformers",
    "transformers",
    "gradio",
    "scipy",
    "bm25s",
    "sklearn",
    "pandas",
    "onnx",
}


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return SentenceTransformerEmbedder().embed(TEXTS)


def onnx_embedder(onnx_index, quantized=False) -> OnnxEmbedder:
    folder = export_folder(onnx_index)
    return OnnxEmbedder(folder, verified_export(folder), quantized=quantized)


def test_onnx_vectors_equal_sentence_transformers(onnx_index, reference):
    embedder = onnx_embedder(onnx_index)
    batched = embedder.embed(TEXTS)
    single = np.stack([embedder.embed_query(t) for t in TEXTS[:8]])
    assert np.allclose(np.linalg.norm(batched, axis=1), 1, atol=1e-5)
    assert (batched * reference).sum(1).min() >= 0.9999
    assert (single * reference[:8]).sum(1).min() >= 0.9999


def test_int8_vectors_used_for_indexing_stay_close(onnx_index, reference):
    cosines = (onnx_embedder(onnx_index, quantized=True).embed(TEXTS) * reference).sum(1)
    assert cosines.mean() >= 0.99 and cosines.min() >= 0.95


@pytest.mark.parametrize("quantized", [False, True])
def test_a_texts_vector_does_not_depend_on_its_batch(onnx_index, quantized):
    embedder = onnx_embedder(onnx_index, quantized=quantized)
    passage = TEXTS[-1]
    alone = embedder.embed([passage])[0]
    for company in (TEXTS, [*TEXTS[:3], passage], [passage, "word " * 400], [passage, *TEXTS[7:]]):
        vectors = embedder.embed(company)
        assert float(vectors[company.index(passage)] @ alone) >= 1 - 1e-5
    assert float(embedder.embed_batch([passage, TEXTS[6]])[0] @ alone) >= 1 - 1e-5


@pytest.mark.parametrize("quantized", [False, True])
def test_fusions_slower_on_the_cpu_stay_out(onnx_index, quantized, tmp_path):
    import onnx
    import onnxruntime as ort

    folder = export_folder(onnx_index)
    name = "model-int8.onnx" if quantized else "model.onnx"
    exported = onnx.load(str(folder / name), load_external_data=False)
    slow = {"SkipLayerNormalization", "BiasGelu"}
    assert sum(n.op_type == "LayerNormalization" for n in exported.graph.node) == 12  # two per layer
    assert sum(n.op_type == "Gelu" for n in exported.graph.node) == 6  # one per layer
    assert not any(n.op_type in slow for n in exported.graph.node)

    options = ort.SessionOptions()  # opened as OnnxEmbedder opens it, written out after ONNX Runtime's fusions
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(str(folder / name), options, providers=["CPUExecutionProvider"], disabled_optimizers=UNFUSED)
    ran = onnx.load(str(tmp_path / "optimized.onnx"), load_external_data=False)
    assert not any(n.op_type in slow for n in ran.graph.node)


def test_export_is_checked_by_size_and_mtime_then_by_hash(onnx_index, tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(export_folder(onnx_index), folder)  # copies keep mtimes
    assert verified_export(folder) is not None
    weights = folder / "model.onnx.data"
    os.utime(weights, ns=(1, 1))  # touched, same bytes: hashed once, then known again
    assert verified_export(folder) is not None
    assert json.loads((folder / "export.json").read_text())["files"]["model.onnx.data"]["mtime_ns"] == 1
    with weights.open("r+b") as f:  # same size, one byte changed
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 1]))
    assert verified_export(folder) is None
    (folder / "model.onnx").unlink()
    assert verified_export(folder) is None


def test_a_question_from_the_shell_loads_no_heavy_library(tmp_path, onnx_index):
    shutil.copytree(CORPUS, tmp_path / "corpus")
    share_export(onnx_index, tmp_path / "index")
    paths = ["--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "rag", "index", *paths], env=env, check=True, capture_output=True)
    stamp = (export_folder(tmp_path / "index") / "model.onnx.data").stat().st_mtime_ns
    code = (
        "import json, sys\n"
        "from rag.cli import main\n"
        f"main(['ask', '--json', *{paths!r}, 'Which AWS container OS has Rust in it?'], standalone_mode=False)\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["answered"] and any("Bottlerocket" in p["text"] for p in answer["passages"])
    loaded = {name.split(".")[0] for name in json.loads(done.stderr.strip().splitlines()[-1])}
    assert "onnxruntime" in loaded
    assert not HEAVY & loaded, f"a question loaded {sorted(HEAVY & loaded)}"
    assert (export_folder(tmp_path / "index") / "model.onnx.data").stat().st_mtime_ns == stamp  # not re-exported


def test_an_index_built_before_a_question_is_the_one_rag_index_builds(tmp_path, onnx_index):
    from rag.config import Settings
    from rag.engine import Engine
    from rag.index.faiss.reader import Store

    shutil.copytree(CORPUS, tmp_path / "corpus")
    built = {}
    for how in ("index", "ask"):
        settings = Settings(corpus=tmp_path / "corpus", index=tmp_path / how)
        share_export(onnx_index, settings.index)
        engine = Engine(settings)
        if how == "ask":  # `rag ask` loads the question model first, then finds no index and builds one
            _ = engine.embedder
            engine.ensure_current()
        else:
            engine.update()
        store = Store.load(settings.index)
        built[how] = (np.asarray(store.vectors()), store.sentence_rows(slice(None)))
    assert np.array_equal(built["index"][0], built["ask"][0])  # both with the int8 model, text by text
    assert np.array_equal(built["index"][1], built["ask"][1])


def test_quantizing_quiets_only_the_quantizers_advice(onnx_index, tmp_path, caplog):
    from rag.index.export import _quantize

    for name in ("model.onnx", "model.onnx.data"):  # copies: the shared export's files are hard-linked
        shutil.copyfile(export_folder(onnx_index) / name, tmp_path / name)
    with caplog.at_level(logging.INFO):
        _quantize(tmp_path / "model.onnx", tmp_path / "model-int8.onnx")
        logging.getLogger("rag.elsewhere").warning("still heard")
    assert (tmp_path / "model-int8.onnx").stat().st_size > 0
    assert "pre-processing" not in caplog.text and "still heard" in caplog.text
    assert not logging.getLogger().filters


def test_exporting_keeps_torch_out_of_the_process_that_asks_for_it(tmp_path):
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from rag.index.export import export_bundled, export_folder\n"
        f"export_bundled(export_folder(Path({str(tmp_path / 'index')!r})))\n"
        "print(sorted({name.split('.')[0] for name in sys.modules}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    loaded = set(ast.literal_eval(done.stdout.strip().splitlines()[-1]))
    assert "torch" not in loaded and "transformers" not in loaded
    assert verified_export(export_folder(tmp_path / "index")) is not None


def test_a_failed_export_step_is_a_message_not_a_traceback(tmp_path):
    from rag.errors import ConfigError
    from rag.index.export import _child

    with pytest.raises(ConfigError, match=r"exporting the model to ONNX failed \(fuse: .*\); run `rag index` again"):
        _child("fuse", tmp_path / "missing.onnx", tmp_path / "model.onnx")
