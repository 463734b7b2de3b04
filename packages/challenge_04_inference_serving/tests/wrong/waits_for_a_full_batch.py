"""Known wrong: the batcher waits until ``max_batch`` items are queued, ignoring ``max_wait_ms``.
Fine under heavy load; at low load a lone request waits forever (starvation)."""

from __future__ import annotations

import asyncio
from typing import Any

from prep.impl import fresh_copy

_base = fresh_copy("challenge_04_inference_serving.solution")


async def _next_full_batch(self: Any, loop: asyncio.AbstractEventLoop) -> Any:
    while self.queue_depth < self.max_batch:  # the bug: no deadline
        if self._draining and self.queue_depth == 0:
            return None
        if self._draining:
            break
        self._wakeup.clear()
        await self._wakeup.wait()
    batch: list[Any] = []
    while self._queue and len(batch) < self.max_batch:
        item, future = self._queue.popleft()
        if not future.done():
            batch.append((item, future))
    return batch


_base.DynamicBatcher._next_batch = _next_full_batch
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 1  # whose tests reject it: `prep verify` runs them first
