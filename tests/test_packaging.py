"""The package as users install it: the wheel holds every module and data file, and the declared
dependencies cover every library the package imports.

The end-to-end proof, a fresh virtual environment with the wheel and nothing else, is `.ci/smoke.sh`.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rag"
# Files a model brings along, wherever under rag/ it is put: the weights, the tokenizer, a card, notes.
MODEL_FILES = ["a/reader/reader-int8.onnx", "a/reader/tokenizer.json", "a/reader/card.json", "a/b/notes.md"]


def source_files(package: Path) -> set[str]:
    """Every file of the package as the wheel names it (rag/web/web.css), without compiled bytecode."""
    return {
        p.relative_to(package.parent).as_posix()
        for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def build_wheel(src: Path, out: Path) -> Path:
    """`pip wheel` of the project in `src`, with the setuptools at hand: no download, nothing written beside it."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", out, src],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = out.glob("rag-*.whl")
    return wheel


@pytest.mark.slow
def test_wheel_holds_every_module_and_data_file(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(PACKAGE, src / "rag", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in MODEL_FILES:  # a model added later, in a folder that is not a package
        path = src / "rag" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"model data")

    wheel = build_wheel(src, tmp_path / "dist")

    names = set(zipfile.ZipFile(wheel).namelist())
    expected = source_files(src / "rag")
    assert {
        "rag/web/web.css",
        "rag/answer/ranker.json",
        "rag/ingest/readers/html.py",
        "rag/index/milvus/store.py",
    } <= expected
    assert expected - names == set()
    assert {f"rag/{name}" for name in MODEL_FILES} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "rag = rag.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def declared() -> set[str]:
    """The distributions `pip install .` asks for, by canonical name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}


def imported_modules(package: Path) -> dict[str, str]:
    """Top-level modules imported anywhere in the package (inside functions too) -> a file importing it."""
    found: dict[str, str] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


# Imported only by what the benchmarks compare against, never on a path a user's command takes.
BENCHMARK_ONLY = {"readability": "rag/ingest/readers/html.py's `readability` extractor, used by benchmarks/formats.py"}
# Needed at run time without being imported by name in rag/.
INDIRECT = {
    "lxml-html-clean": "trafilatura's jusText imports lxml.html.clean, which lxml 6 moved to lxml_html_clean",
}


def test_every_imported_library_is_a_declared_dependency():
    providers = packages_distributions()
    stdlib = sys.stdlib_module_names
    missing = {}
    for module, where in imported_modules(PACKAGE).items():
        if module in stdlib or module == "rag" or module in BENCHMARK_ONLY:
            continue
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        assert dists, f"{module} (imported in {where}) is not installed"
        if not dists & declared():
            missing[module] = (where, sorted(dists))
    assert missing == {}, "imported but not in pyproject.toml's dependencies"
    assert set(INDIRECT) <= declared()
