"""Known wrong: each chunk's text is its sentences re-joined with single spaces, so newlines
and indentation (code!) are lost and ``text != document[start:end]``: offsets no longer
point at the text a citation quotes (caught by the offset invariants of task 1)."""

from __future__ import annotations

from typing import Any

from challenge_08_rag.records import Chunk
from challenge_08_rag.solution import chunk as _chunk
from challenge_08_rag.words import units

from prep.impl import patched


def _rejoined(text: str, **kwargs: Any) -> list[Chunk]:
    out = []
    for c in _chunk(text, **kwargs):
        parts = [text[lo:hi] for lo, hi in units(text) if c.start <= lo and hi <= c.end]
        out.append(Chunk(c.source, c.start, c.end, " ".join(parts)))  # the bug
    return out


IMPLEMENTATION = patched("challenge_08_rag.solution", chunk=_rejoined)

TASK = 1  # whose tests reject it: `prep verify` runs them first
