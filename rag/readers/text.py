"""Plain text: bytes -> str, and .txt articles as they are.

A text article is indexed exactly as the file holds it (after any YAML front
matter), so offsets into it are offsets into the file's text.
"""

from __future__ import annotations

import logging

from ..errors import CorpusError
from .blocks import Reading

__all__ = ["decode", "read_text", "split_front_matter"]

log = logging.getLogger(__name__)

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode(data: bytes, source: str) -> str:
    """UTF-8 text (a byte-order mark is dropped), or UTF-16 with a byte-order mark; binary data is refused.

    >>> decode("é".encode("utf-16"), "a.txt")
    'é'
    """
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise CorpusError("starts like UTF-16 but is not valid UTF-16; save it as UTF-8.", source) from None
    if b"\x00" in data[:8192]:
        raise CorpusError("binary data, not text.", source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"not valid UTF-8 (byte {exc.start}); save it as UTF-8.", source) from None


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
    """Plain text with optional YAML front matter; line numbers count from the top of the file.

    >>> r = read_text(b"---\\ntitle: Hi\\n---\\nBody.\\n", "a.txt")
    >>> r.text, r.meta, r.lines
    ('Body.', {'title': 'Hi'}, [(0, 4)])
    """
    body, meta, line = split_front_matter(decode(data, source), source)
    return Reading(body, meta, lines=[(0, line)])
