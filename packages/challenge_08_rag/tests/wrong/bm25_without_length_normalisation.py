"""Known wrong: BM25 without document-length normalisation (b forced to 0), so a long page
that mentions a term as often as a short one scores the same (caught by the rank-bm25
equality tests of task 4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prep.impl import fresh_copy

_base = fresh_copy("challenge_08_rag.solution")
_init = _base.BM25.__init__


def _init_without_length(
    self: Any,
    corpus: Sequence[Sequence[str]],
    *,
    k1: float = 1.5,
    b: float = 0.75,
    epsilon: float = 0.25,
) -> None:
    del b  # the bug: |d| / avgdl never enters the score
    _init(self, corpus, k1=k1, b=0.0, epsilon=epsilon)


_base.BM25.__init__ = _init_without_length
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 4  # whose tests reject it: `prep verify` runs them first
