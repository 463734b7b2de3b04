"""Known wrong: ``drain()`` cancels the worker and fails whatever is still queued with
``ShuttingDown``: requests accepted before SIGTERM get 503 instead of their answer."""

from __future__ import annotations

import contextlib
from typing import Any

from prep.impl import fresh_copy

_base = fresh_copy("challenge_04_inference_serving.solution")


async def _drain_by_cancelling(self: Any) -> None:
    self._draining = True
    if self._worker is not None:
        self._worker.cancel()  # the bug: the queue is thrown away, not finished
        with contextlib.suppress(BaseException):
            await self._worker
    while self._queue:
        _, future = self._queue.popleft()
        if not future.done():
            future.set_exception(_base.ShuttingDown("shutting down"))
    self._executor.shutdown(wait=False)


_base.DynamicBatcher.drain = _drain_by_cancelling
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 3  # whose tests reject it: `prep verify` runs them first
