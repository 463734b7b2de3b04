"""Known wrong: results are set on every future of the batch, also those whose callers timed
out or were cancelled; ``set_result`` on a cancelled future raises ``InvalidStateError``, the
worker dies, and every later request hangs."""

from __future__ import annotations

import asyncio
from typing import Any

from prep.impl import fresh_copy

_base = fresh_copy("challenge_04_inference_serving.solution")


async def _run_batch_unguarded(
    self: Any, loop: asyncio.AbstractEventLoop, batch: list[Any]
) -> None:
    items = [item for item, _ in batch]
    if self.on_batch is not None:
        self.on_batch(len(items))
    results = await loop.run_in_executor(self._executor, self.model_fn, items)
    for (_, future), result in zip(batch, results, strict=True):
        future.set_result(result)  # the bug: no `if not future.done()`


_base.DynamicBatcher._run_batch = _run_batch_unguarded
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 1  # whose tests reject it: `prep verify` runs them first
