"""A stand-in model with a known cost (given; not a TODO): for tests, and for seeing what
batching buys when a call has a fixed overhead.

``SyntheticModel(base_ms, per_item_ms)`` sleeps ``base_ms + per_item_ms * len(texts)`` per
call (the GIL is released while it sleeps, as it is while torch computes) and returns a small
vector that depends on the text only, so a result handed to the wrong caller is visible.
"""

from __future__ import annotations

import threading
import time


def synthetic_vector(text: str) -> list[float]:
    """The vector ``SyntheticModel`` returns for ``text``: [length, checksum, 1.0]."""
    return [float(len(text)), float(sum(map(ord, text)) % 9973), 1.0]


class SyntheticModel:
    """``model(texts) -> [synthetic_vector(t) for t in texts]`` after a fixed-cost sleep.

    Args:
        base_ms: cost of every call, whatever its size (weights read once per batch).
        per_item_ms: extra cost per text.
        fail_on: a text that makes the whole call raise ``RuntimeError`` (a model error).
    """

    def __init__(
        self, base_ms: float = 0.0, per_item_ms: float = 0.0, *, fail_on: str | None = None
    ) -> None:
        if base_ms < 0 or per_item_ms < 0:
            raise ValueError(
                f"costs must be >= 0, got base_ms={base_ms}, per_item_ms={per_item_ms}"
            )
        self.base_ms, self.per_item_ms, self.fail_on = base_ms, per_item_ms, fail_on
        self.batches: list[list[str]] = []  # every call's texts, in call order
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> list[list[float]]:
        with self._lock:  # one call at a time, as on one accelerator
            self.batches.append(list(texts))
            time.sleep((self.base_ms + self.per_item_ms * len(texts)) / 1e3)
            if self.fail_on is not None and self.fail_on in texts:
                raise RuntimeError(f"model failed on a batch holding {self.fail_on!r}")
            return [synthetic_vector(t) for t in texts]
