"""Text helpers (given; not a TODO): the word tokenizer BM25 indexes and queries with, and the
sentence and code-block units the chunker packs.

Lower-cased runs of letters and digits: ``scaled_dot_product_attention`` becomes
``["scaled", "dot", "product", "attention"]`` and ``Conv2d`` becomes ``["conv2d"]``. The tests
hand the same tokens to ``rank_bm25.BM25Okapi``, so both sides score identical input.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """Lower-cased alphanumeric runs of ``text``, in order."""
    return _WORD.findall(text.lower())


# A fenced code block, or a run of doctest lines (">>> " and what follows up to a blank line):
# each is one unit, never split across chunks when it fits.
_CODE = re.compile(r"```[\s\S]*?(?:```|\Z)|^[ \t]*>>>.*(?:\n(?![ \t]*$).*)*", re.M)
# A sentence ends at . ! or ? followed by whitespace; a blank line ends a paragraph.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n[ \t]*\n\s*")


def units(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences and code blocks of ``text``, in order,
    trimmed of surrounding whitespace; together they hold every non-space character."""
    spans: list[tuple[int, int]] = []

    def prose(lo: int, hi: int) -> None:
        pos = lo
        for match in _SENTENCE_END.finditer(text, lo, hi):
            spans.append((pos, match.start()))
            pos = match.end()
        spans.append((pos, hi))

    pos = 0
    for match in _CODE.finditer(text):
        prose(pos, match.start())
        spans.append(match.span())
        pos = match.end()
    prose(pos, len(text))
    out = []
    for lo, hi in spans:
        while lo < hi and text[lo].isspace():
            lo += 1
        while hi > lo and text[hi - 1].isspace():
            hi -= 1
        if lo < hi:
            out.append((lo, hi))
    return out
