"""An article's indexed text, read again from the corpus, for `rag show`.

Offsets in citations are offsets into the text the reader gave when the
article was indexed; reading the same file with the same reader gives the
same text, and the manifest's content hash says whether it is still that file.
"""

from __future__ import annotations

from .config import Settings
from .errors import IndexStateError, InputError
from .index.backends import open_backend
from .ingest.documents import ArticleFile, file_hash, in_corpus, read_bytes
from .ingest.sandbox import read_isolated

__all__ = ["indexed_text"]


def indexed_text(settings: Settings, article: str) -> tuple[str, str | None]:
    """(text of `article` as the index holds it, a note when the file is not the one indexed or None)."""
    corpus = settings.corpus.resolve()
    path = in_corpus(corpus, article)
    if path is None:
        raise InputError(f"{article} is not in the corpus folder {settings.corpus}; name it as citations do.")
    if not path.is_file():
        raise InputError(f"no article {article!r} in {settings.corpus}: give its source as a citation names it.")
    source = path.relative_to(corpus).as_posix()
    within = None if settings.follow_links else corpus
    data = read_bytes(path, source, settings.max_file_bytes, within=within)
    st = path.stat()
    doc = read_isolated(ArticleFile(path, source, st.st_size, st.st_mtime_ns), data, settings)
    return doc.text, _note(settings, source, file_hash(data))


def _note(settings: Settings, source: str, digest: str) -> str | None:
    try:
        manifest = open_backend(settings).read_manifest()
    except IndexStateError:
        manifest = None
    indexed = {d["source"]: d["hash"] for d in manifest.documents} if manifest else {}
    if source not in indexed:
        return f"{source} is not in the index yet; run `rag index`. Its text as it would be indexed:"
    if indexed[source] != digest:
        return f"{source} has changed since it was indexed; run `rag index`. Its text as it is now:"
    return None
