"""The bundled model exported to ONNX once, beside the index, so questions are answered without torch.

    index/onnx/all-MiniLM-L6-v2/
      model.onnx       BERT, mean pooling and normalisation in one float32 graph:
                       the vectors sentence-transformers gives, to within rounding
      model.onnx.data  its weights, kept apart so ONNX Runtime maps them instead of parsing them
      tokenizer.json   the model's tokenizer
      export.json      the weights' SHA-256, and each file's SHA-256, size and mtime

Exporting needs torch, which is there at index time, and runs in a process of
its own, so the indexer's memory never holds torch; the weights are checked
against their published SHA-256 first. The graph is traced with torch's
TorchScript exporter, then ONNX Runtime's BERT fusions (attention, embedding,
GELU) are applied, which makes it faster to open and to run. Two fusions are
left out because ONNX Runtime runs them slower on the CPU than the ops they
replace (benchmarks/README.md, "Indexing throughput"): a residual addition
stays apart from its layer norm (SkipLayerNormalization), and a bias
addition from its GELU (BiasGelu). Opening the
export compares each file's size and mtime with export.json and re-hashes a
file only when they differ, so a cold query does not read 90 MB to hash it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

from ..atomic import write_atomic
from ..config import DEFAULT_MODEL
from ..errors import ConfigError
from .bundled import BUNDLED_SHA256, bundled_model_path
from .faiss.integrity import file_sha256

__all__ = ["export_folder", "verified_export", "export_bundled", "FILES"]

log = logging.getLogger(__name__)

FORMAT = 3
_EXPLAINED = 3  # a step's exit code when its last line of stderr is a message for the user
FILES = ("model.onnx", "model.onnx.data", "model-int8.onnx", "tokenizer.json")
OPSET = 17


def export_folder(index_dir: Path) -> Path:
    return index_dir / "onnx" / DEFAULT_MODEL


def verified_export(folder: Path) -> dict | None:
    """The export record of `folder` when its files are the ones exported, else None.

    A file whose size and mtime match the record is taken as unchanged; one
    that differs is hashed, and a matching hash refreshes the record.
    """
    try:
        record = json.loads((folder / "export.json").read_text())
        if record.get("format") != FORMAT:
            return None
        refreshed = False
        for name in FILES:
            entry, st = record["files"][name], (folder / name).stat()
            if (st.st_size, st.st_mtime_ns) == (entry["size"], entry["mtime_ns"]):
                continue
            if st.st_size != entry["size"] or file_sha256(folder / name) != entry["sha256"]:
                log.warning("%s has changed since it was exported; exporting it again", folder / name)
                return None
            entry["mtime_ns"], refreshed = st.st_mtime_ns, True
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if refreshed:
        write_atomic(folder / "export.json", json.dumps(record, indent=1))
    return record


def export_bundled(folder: Path) -> dict:
    """Export the bundled model into `folder` (replacing what is there); returns the record."""
    source = bundled_model_path()  # checks the weights' SHA-256
    log.info("exporting %s to ONNX in %s (once)", DEFAULT_MODEL, folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        max_length = _build_in_child(source, tmp)
        record = {
            "format": FORMAT,
            "model": DEFAULT_MODEL,
            "source_sha256": BUNDLED_SHA256,
            "dim": 384,
            "max_length": max_length,
            "files": {name: _file_entry(tmp / name) for name in FILES},
        }
        write_atomic(tmp / "export.json", json.dumps(record, indent=1))
        if verified_export(folder) is not None:  # another process has just exported it
            return json.loads((folder / "export.json").read_text())
        shutil.rmtree(folder, ignore_errors=True)
        try:
            os.rename(tmp, folder)
        except OSError:  # another process exported it at the same moment: use theirs
            if verified_export(folder) is None:
                raise
            return json.loads((folder / "export.json").read_text())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return record


def _build_in_child(source: Path, folder: Path) -> int:
    """The export's model files and tokenizer in `folder`; returns the maximum sequence length.

    Each step runs in a process of its own: torch never enters this one (once
    imported it would hold hundreds of MB for as long as this process runs: an
    indexer, a web server), and no step's memory adds to another's (each peaks
    below 800 MB; all three in one process, at 1.1 GB: benchmarks/README.md).
    """
    max_length = int(_child("trace", source, folder / "traced.onnx"))
    _child("fuse", folder / "traced.onnx", folder / "model.onnx")
    (folder / "traced.onnx").unlink()
    _child("quantize", folder / "model.onnx", folder / "model-int8.onnx")
    shutil.copyfile(source / "tokenizer.json", folder / "tokenizer.json")
    return max_length


def _child(step: str, source: Path, target: Path) -> str:
    """Run one step of the export in `python -m rag.index.export STEP SOURCE TARGET`; what it printed."""
    proc = subprocess.run(
        [sys.executable, "-m", __name__, step, str(source), str(target)], capture_output=True, text=True, check=False
    )
    if proc.returncode == _EXPLAINED:
        raise ConfigError(proc.stderr.strip().splitlines()[-1])
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        raise ConfigError(f"exporting the model to ONNX failed ({step}: {last}); run `rag index` again")
    return proc.stdout.strip().rsplit("\n", 1)[-1]


def _export_onnx(source: Path, target: Path) -> int:
    """Trace BERT + mean pooling + normalisation into `target`; returns the maximum sequence length."""
    try:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError:
        raise ConfigError("exporting the model to ONNX needs torch and transformers: pip install -e .") from None

    class SentenceEncoder(torch.nn.Module):
        """What sentence-transformers computes for this model: the mean of the token vectors, unit length."""

        def __init__(self, bert) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)[0]
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    hf_logging.disable_progress_bar()
    max_length = int(json.loads((source / "sentence_bert_config.json").read_text())["max_seq_length"])
    model = SentenceEncoder(AutoModel.from_pretrained(str(source), attn_implementation="eager").eval())
    ids = torch.ones(2, 16, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer warns about shape checks that hold for every input
        torch.onnx.export(
            model,
            (ids, ids, torch.zeros_like(ids)),
            str(target),
            dynamo=False,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["sentence_embedding"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "token_type_ids": axes,
                "sentence_embedding": {0: "batch"},
            },
            opset_version=OPSET,
        )
    return max_length


def _fuse(source: Path, target: Path) -> None:
    """Apply ONNX Runtime's BERT fusions and save with the weights in `target`.data."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.enable_skip_layer_norm = options.enable_bias_skip_layer_norm = False  # see the module's docstring
    options.enable_bias_gelu = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = optimize_model(
            str(source), "bert", num_heads=12, hidden_size=384, optimization_options=options, opt_level=1
        )
    model.save_model_to_file(str(target), use_external_data_format=True, all_tensors_to_one_file=True)
    target.with_name(target.name + ".data").chmod(0o644)


def _quantize(source: Path, target: Path) -> None:
    """int8 weights, one scale per output channel (per tensor costs far more accuracy); used for indexing."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = logging.getLogger()
        root.addFilter(_above_warning)  # it logs advice on the root logger; other loggers keep theirs
        try:
            quantize_dynamic(
                str(source),
                str(target),
                weight_type=QuantType.QInt8,
                per_channel=True,
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # types of the fused ops' outputs
            )
        finally:
            root.removeFilter(_above_warning)


def _above_warning(record: logging.LogRecord) -> bool:
    """Keeps errors only: the quantizer's advice, logged as warnings, is not for the user."""
    return record.levelno > logging.WARNING


def _file_entry(path: Path) -> dict:
    st = path.stat()
    return {"sha256": file_sha256(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


if __name__ == "__main__":  # python -m rag.index.export STEP SOURCE TARGET: one step, run by _child
    _step, _source, _target = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    try:
        if _step == "trace":
            print(_export_onnx(_source, _target))
        else:
            {"fuse": _fuse, "quantize": _quantize}[_step](_source, _target)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        sys.exit(_EXPLAINED)
