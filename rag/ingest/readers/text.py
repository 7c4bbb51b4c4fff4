"""Plain text: bytes -> str, and .txt articles as a person reads them.

A text article is read as paragraphs and headings (wrapped.py): hard-wrapped
lines joined, page furniture and terminal codes dropped. Each paragraph and
each joined line records the line of the file it comes from, for citations.
"""

from __future__ import annotations

import logging

from .blocks import Builder, Reading
from .encoding import decode_bytes
from .wrapped import unwrap

__all__ = ["decode", "read_text", "split_front_matter"]

log = logging.getLogger(__name__)


def decode(data: bytes, source: str, markup: bool = False) -> str:
    """The text of a file: by its byte-order mark, its declared encoding (`markup`), UTF-8, or detection.

    >>> decode("é".encode("utf-16"), "a.txt")
    'é'
    """
    return decode_bytes(data, source, markup)


def split_front_matter(text: str, source: str) -> tuple[str, dict, int]:
    """(body, metadata, line of the file the body starts on) for text that may open with YAML front matter.

    >>> split_front_matter("---\\ntitle: Hi\\n---\\nBody.\\n", "a.md")
    ('Body.', {'title': 'Hi'}, 4)
    """
    import frontmatter

    if not text.startswith("---"):
        return text, {}, 1
    try:
        post = frontmatter.loads(text, handler=_handler())
    except Exception as exc:  # yaml raises many types; the article is still text
        log.warning("%s: front matter ignored (%s)", source, exc.__class__.__name__)
        return text, {}, 1
    at = text.find(post.content) if post.content else len(text)
    return post.content, dict(post.metadata), text[: max(at, 0)].count("\n") + 1


def _handler():
    """YAML front matter read safely and without aliases: `*name` could repeat a value exponentially (a
    "billion laughs" of a few hundred bytes), and article metadata never needs one."""
    import frontmatter
    import yaml

    class NoAliases(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                raise yaml.composer.ComposerError(None, None, "aliases are not read", self.peek_event().start_mark)
            return super().compose_node(parent, index)

    class Handler(frontmatter.YAMLHandler):
        def load(self, fm: str, **kwargs: object):
            return yaml.load(fm, Loader=NoAliases)  # noqa: S506 - a safe loader, less aliases

    return Handler()


def read_text(data: bytes, source: str) -> Reading:
    """Plain text with optional YAML front matter, read as paragraphs (wrapped.py); line numbers count from
    the top of the file.

    >>> r = read_text(b"---\\ntitle: Hi\\n---\\nBody.\\n", "a.txt")
    >>> r.text, r.meta, r.lines
    ('Body.', {'title': 'Hi'}, [(0, 4)])
    """
    body, meta, line = split_front_matter(decode(data, source), source)
    b = Builder()
    unwrap(body, b, first_line=line)
    return b.reading(meta)
