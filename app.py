"""Start the web chat on the bundled corpus: `python app.py` (options as for `rag serve --help`).

Indexes new and changed articles first, then serves http://127.0.0.1:7860 and indexes
articles as they are saved into the corpus folder (`--no-watch` to turn that off).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    # The bundled corpus and its index sit next to this file, wherever it is started from.
    os.environ.setdefault("RAG_CORPUS", str(HERE / "corpus"))
    os.environ.setdefault("RAG_INDEX", str(HERE / "index"))
    sys.path.insert(0, str(HERE))
    from rag.cli import main

    main(["serve", *sys.argv[1:]], prog_name="app.py")
