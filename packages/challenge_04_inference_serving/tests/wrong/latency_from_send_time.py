"""Known wrong: the load generator times each request from when it got a connection slot, not
from its scheduled arrival (coordinated omission): an overloaded server looks fast."""

from __future__ import annotations

import asyncio

import httpx

from prep.impl import fresh_copy

_base = fresh_copy("challenge_04_inference_serving.solution")


async def _timed_from_send(
    client: httpx.AsyncClient, url: str, body: object, scheduled: float, gate: asyncio.Semaphore
) -> tuple[str, float, float]:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, scheduled - loop.time()))
    async with gate:
        sent = loop.time()  # the bug: the wait for a slot is not counted
        try:
            response = await client.post(url, json=body)
            outcome = "ok" if response.status_code == 200 else str(response.status_code)
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
    done = loop.time()
    return outcome, done - sent, done


vars(_base).update(_timed_post=_timed_from_send)
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 4  # whose tests reject it: `prep verify` runs them first
