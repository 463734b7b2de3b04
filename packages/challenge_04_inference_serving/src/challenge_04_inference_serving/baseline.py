"""Challenge 04 baseline: batch size 1 and a synchronous handler.

Each text runs through the model on its own, one at a time under a lock, in the server's
worker threads: simple and obviously correct, and the point of comparison for the batched
service. The batcher, graceful shutdown, load generator and optimiser are the solution's (the
baseline differs in how it serves, nothing else); its service keeps the same API, limits,
back-pressure (429 past ``max_queue`` texts in flight) and draining.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from challenge_04_inference_serving.api import (
    ServiceMetrics,
    embed_response,
    error,
    parse_embed_request,
)
from challenge_04_inference_serving.records import ServiceSettings
from challenge_04_inference_serving.solution import (
    DynamicBatcher,
    load_test,
    optimize,
    poisson_arrivals,
    serve,
)

__all__ = [
    "DynamicBatcher",
    "create_app",
    "load_test",
    "optimize",
    "poisson_arrivals",
    "serve",
]


def create_app(
    model_fn: Callable[[list[str]], Sequence[list[float]]],
    settings: ServiceSettings | None = None,
) -> FastAPI:
    """The embedding service, one text per model call (no batching)."""
    s = settings or ServiceSettings()
    metrics = ServiceMetrics(1)
    lock = threading.Lock()  # one model call at a time, as on one accelerator
    in_flight = 0  # accepted texts not yet answered
    draining = False
    idle = asyncio.Event()
    idle.set()
    metrics.queue_depth.set_function(lambda: in_flight)

    def one_at_a_time(texts: list[str]) -> list[list[float]]:
        vectors = []
        for text in texts:
            with lock:
                vectors.append(list(model_fn([text])[0]))
            metrics.observe_batch(1)
        return vectors

    async def drain() -> None:
        nonlocal draining
        draining = True
        await idle.wait()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await drain()

    app = FastAPI(title="MiniLM embeddings (batch 1)", lifespan=lifespan)
    app.state.drain = drain

    @app.post("/embed")
    async def embed(request: Request) -> Response:
        nonlocal in_flight
        start = time.perf_counter()
        parsed = await parse_embed_request(request, s)
        response: Response
        if isinstance(parsed, JSONResponse):
            response = parsed
        elif draining:
            response = error(503, "draining: the server is shutting down", {"Retry-After": "1"})
        elif in_flight + len(parsed) > s.max_queue:
            detail = f"queue full: {in_flight} of {s.max_queue} texts in flight; retry later"
            response = error(429, detail, {"Retry-After": "1"})
        else:
            in_flight += len(parsed)
            idle.clear()
            try:
                response = embed_response(await run_in_threadpool(one_at_a_time, parsed), s)
            except Exception as exc:  # a model error fails this request only
                response = error(500, f"the model failed: {exc!r}")
            finally:
                in_flight -= len(parsed)
                if in_flight == 0:
                    idle.set()
        metrics.observe_request(response.status_code, time.perf_counter() - start)
        return response

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        if draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        return JSONResponse({"status": "ok", "queue_depth": in_flight})

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app
