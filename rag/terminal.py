"""Text made safe to print on a terminal: what an article or a file name holds can never drive it.

    printable("evil\x1b]0;title\x07 text")   # article text: control characters shown as U+FFFD, lines kept
    one_line("notes\n[1] forged.txt")        # a name or a message: one line, controls escaped visibly

Every line the command line prints for a person goes through one of the two;
`--json` output keeps the exact text (JSON escapes control characters itself).
"""

from __future__ import annotations

import unicodedata

__all__ = ["printable", "one_line", "json_line"]

_KEPT = {"\n": "\n", "\t": "\t", "\r": " ", "\x0b": " ", "\x0c": " "}
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Characters that reorder or break what follows them on screen: bidirectional overrides and isolates, and
# the Unicode line and paragraph separators. Legitimate in an article's text; never in a one-line field.
_REORDERING = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029\u0085")


def printable(text: str) -> str:
    """`text` safe for a terminal: control characters (escapes too) shown as U+FFFD, line breaks kept.

    One character in, one out, so offsets into the text stay right.

    >>> printable("evil\\x1b[2J.txt\\r")
    'evil\\ufffd[2J.txt '
    """
    if text.isprintable():
        return text
    return "".join(_KEPT.get(ch, "\ufffd") if unicodedata.category(ch) == "Cc" else ch for ch in text)


def one_line(text: str) -> str:
    r"""`text` as one safe line: control and reordering characters written as escapes (`\n`, `\x1b`, `\u202e`).

    >>> print(one_line("notes\n[1] forged\x1b[31m.txt"))
    notes\n[1] forged\x1b[31m.txt
    """
    if text.isprintable():
        return text
    return "".join(_escape(ch) if unicodedata.category(ch) == "Cc" or ch in _REORDERING else ch for ch in text)


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def json_line(obj: object) -> str:
    r"""`obj` as one line of JSON, UTF-8 kept, with every control and reordering character escaped.

    json.dumps escapes only U+0000-U+001F; U+007F-U+009F (a lone U+009B opens an escape sequence on some
    terminals) and the characters that reorder a line are escaped here too, which JSON reads back the same.

    >>> print(json_line({"text": "a\x9b2Jb\u202e"}))
    {"text": "a\u009b2Jb\u202e"}
    """
    import json

    text = json.dumps(obj, ensure_ascii=False)
    if text.isprintable():
        return text
    return "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch) == "Cc" or ch in _REORDERING else ch for ch in text)
