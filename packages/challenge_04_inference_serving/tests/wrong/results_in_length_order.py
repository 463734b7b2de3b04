"""Known wrong: each batch is sorted by length (to cut padding), but result ``i`` goes to the
``i``-th caller in arrival order: callers get each other's embeddings."""

from __future__ import annotations

import asyncio
from typing import Any

from prep.impl import fresh_copy

_base = fresh_copy("challenge_04_inference_serving.solution")


async def _run_sorted_batch(self: Any, loop: asyncio.AbstractEventLoop, batch: list[Any]) -> None:
    items = sorted((item for item, _ in batch), key=lambda item: len(str(item)))
    if self.on_batch is not None:
        self.on_batch(len(items))
    try:
        results = await loop.run_in_executor(self._executor, self.model_fn, items)
    except Exception as exc:
        for _, future in batch:
            if not future.done():
                future.set_exception(_base.BatchFailed(repr(exc)))
        return
    for (_, future), result in zip(batch, results, strict=True):  # the bug: not unsorted
        if not future.done():
            future.set_result(result)


_base.DynamicBatcher._run_batch = _run_sorted_batch
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 1  # whose tests reject it: `prep verify` runs them first
