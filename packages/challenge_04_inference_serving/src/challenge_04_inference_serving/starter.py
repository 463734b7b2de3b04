"""Challenge 04: a dynamic-batching HTTP embedding service, measured under load.

Fill in the TODOs; each names its README task. The contract of every function is in its
docstring. Given (not TODOs): ``records`` (errors, settings, reports), ``api`` (request
checks, error bodies, Prometheus metrics), ``minilm`` (the model), ``synthetic`` (a stand-in
model of known cost) and ``server`` (``python -m challenge_04_inference_serving.server``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

from fastapi import FastAPI

from challenge_04_inference_serving.records import LoadReport, Optimized, ServiceSettings

if TYPE_CHECKING:
    from torch import Tensor, nn

__all__ = [
    "DynamicBatcher",
    "create_app",
    "load_test",
    "optimize",
    "poisson_arrivals",
    "serve",
]

T = TypeVar("T")
R = TypeVar("R")
MAX_REQUESTS = 20_000  # a load test never schedules more than this


# --------------------------------------------------------------------------------------------
# Task 1: the dynamic batcher


class DynamicBatcher(Generic[T, R]):
    """Coalesce concurrent requests into batches for ``model_fn`` (asyncio).

    The first item to arrive waits at most ``max_wait_ms`` for others; then up to
    ``max_batch`` queued items run as one call ``model_fn(items)``, in a single model thread
    (so the event loop keeps accepting while a batch runs), and result ``i`` goes to the
    caller of item ``i``. Padding is ``model_fn``'s business (``MiniLMEmbedder`` pads to the
    longest text and masks the rest out).

    Rules:
        - A full queue rejects at once: ``QueueFull`` (back-pressure, HTTP 429), never a wait.
        - A caller that times out or is cancelled is dropped: if its item is still queued it
          is not run; if its batch is running, the others in the batch still get theirs.
        - If ``model_fn`` raises, every caller of *that batch* gets ``BatchFailed`` (with the
          model's error as ``__cause__``) and later batches run as usual.
        - ``drain()`` (task 3) makes new submits raise ``ShuttingDown`` and returns once every
          queued item has its result.

    Args:
        model_fn: ``list[T] -> Sequence[R]``, one result per item, in order; synchronous (it
            runs in the model thread).
        max_batch: most items per call, >= 1.
        max_wait_ms: longest time the first item of a batch waits for company, >= 0.
        max_queue: most items waiting (not counting the running batch), >= 1.
        on_batch: called with the size of each batch just before it runs (metrics).

    Raises:
        TypeError: ``model_fn`` is not callable.
        ValueError: ``max_batch``, ``max_wait_ms`` or ``max_queue`` out of range (named).
    """

    def __init__(
        self,
        model_fn: Callable[[list[T]], Sequence[R]],
        *,
        max_batch: int = 32,
        max_wait_ms: float = 5.0,
        max_queue: int = 256,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        raise NotImplementedError(
            "TODO(04.1): check the arguments, set up the queue and the model thread - see README task 1"
        )

    @property
    def queue_depth(self) -> int:
        """Items waiting for the model (not counting the batch being run)."""
        raise NotImplementedError("TODO(04.1): count the items still waiting - see README task 1")

    @property
    def draining(self) -> bool:
        """Whether ``drain()`` has been called."""
        raise NotImplementedError("TODO(04.3): report whether draining began - see README task 3")

    async def submit(self, item: T, *, timeout_s: float | None = None) -> R:
        """The model's result for ``item``, computed in some batch.

        Raises:
            QueueFull: the queue has no free slot (raised at once).
            ShuttingDown: ``drain()`` was called.
            TimeoutError: no result within ``timeout_s`` (the item is then not run).
            BatchFailed: ``model_fn`` raised on this item's batch.
            ValueError: ``timeout_s`` is not None and not > 0.
        """
        raise NotImplementedError("TODO(04.1): submit one item - see README task 1")

    async def submit_many(self, items: Sequence[T], *, timeout_s: float | None = None) -> list[R]:
        """Results for ``items``, in their order (they may land in different batches).

        All items are queued at once, or none is: ``QueueFull`` when they do not all fit.
        Raises as ``submit`` does; one timeout covers all the items.
        """
        raise NotImplementedError(
            "TODO(04.1): queue the items, wait for their futures; a worker task forms batches "
            "- see README task 1"
        )

    async def drain(self) -> None:
        """Take nothing new (``ShuttingDown``), run every queued item, then stop the worker."""
        raise NotImplementedError(
            "TODO(04.3): stop accepting, finish every queued item, stop - see README task 3"
        )


# --------------------------------------------------------------------------------------------
# Task 2: the HTTP service


def create_app(
    model_fn: Callable[[list[str]], Sequence[list[float]]],
    settings: ServiceSettings | None = None,
) -> FastAPI:
    """The embedding service: a FastAPI app serving ``model_fn`` through a ``DynamicBatcher``.

    Routes (request checks, error bodies and metrics are in ``api``):
        ``POST /embed``: ``{"texts": [...]}`` -> 200 ``{"embeddings", "model", "dim"}``; each
            text is one batcher item. 413/422 for bad input (``api.parse_embed_request``),
            429 with ``Retry-After`` when the queue cannot take the texts, 500 when the model
            failed on their batch, 503 while draining, 504 past ``request_timeout_s``.
        ``GET /healthz``: 200 ``{"status": "ok", "queue_depth": n}``; 503 while draining.
        ``GET /metrics``: Prometheus text (``api.ServiceMetrics``): requests by code, request
            latency histogram, batch size histogram, queue depth.

    The app sets ``app.state.drain``: an async function that makes new requests get 503 and
    returns once every accepted request is answered (``serve`` calls it on SIGTERM); the
    app's lifespan calls it too at shutdown.

    Args:
        model_fn: ``list[str] -> one vector per text`` (``MiniLMEmbedder``, ``SyntheticModel``).
        settings: batching knobs and limits; ``None`` is ``ServiceSettings()``.
    """
    raise NotImplementedError(
        "TODO(04.2): build the FastAPI app around a DynamicBatcher - see README task 2"
    )


# --------------------------------------------------------------------------------------------
# Task 3: graceful shutdown


def serve(
    app: FastAPI,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    drain_timeout_s: float = 30.0,
    log_level: str = "warning",
) -> None:
    """Run ``app`` under uvicorn until SIGTERM or SIGINT, drain it, then return.

    On the first signal the server keeps listening (new requests get 503, ``/healthz`` 503,
    so a load balancer stops sending) while ``app.state.drain()`` finishes every accepted
    request, for at most ``drain_timeout_s``; then uvicorn stops and ``serve`` returns (the
    process exits with status 0). A second signal stops at once.

    Raises:
        TypeError: ``app.state.drain`` is missing or not callable.
        ValueError: ``drain_timeout_s`` is not > 0.
    """
    raise NotImplementedError(
        "TODO(04.3): run uvicorn; on SIGTERM drain, then stop - see README task 3"
    )


# --------------------------------------------------------------------------------------------
# Task 4: the load generator


def poisson_arrivals(rate: float, duration_s: float, *, seed: int = 0) -> list[float]:
    """Arrival times of a Poisson process: sorted, in [0, duration_s), independent
    exponential gaps of mean ``1 / rate``; the same ``seed`` gives the same times.

    Raises:
        ValueError: ``rate`` or ``duration_s`` not a finite number > 0, or
            ``rate * duration_s`` above ``MAX_REQUESTS``.
    """
    raise NotImplementedError("TODO(04.4): draw exponential gaps and sum them - see README task 4")


async def load_test(
    url: str,
    *,
    rate: float,
    duration_s: float,
    concurrency: int = 64,
    texts: Sequence[str] = ("The quick brown fox jumps over the lazy dog.",),
    timeout_s: float = 10.0,
    seed: int = 0,
) -> LoadReport:
    """Open-loop load: ``POST {"texts": [text]}`` to ``url`` at ``poisson_arrivals(rate,
    duration_s, seed)`` (request ``k`` sends ``texts[k % len(texts)]``), whether or not
    earlier requests were answered, with at most ``concurrency`` in flight.

    Latency runs from each request's *scheduled* arrival to its response, so waiting for a
    free slot counts (no coordinated omission). Percentiles are numpy's default (linear) of
    the 200 responses; every other outcome is counted in ``errors`` by status code, or as
    ``"timeout"`` or the httpx exception's name. Bounded: ``MAX_REQUESTS`` requests, and
    every request still open ``duration_s + timeout_s + 1`` s after the start is cancelled
    and counted as a timeout.

    Raises:
        ValueError: ``url`` is not http(s) on a loopback address (127.0.0.0/8, localhost,
            ::1); ``rate``, ``duration_s``, ``timeout_s`` not > 0; ``concurrency`` < 1.
        TypeError: ``texts`` is not a non-empty sequence of strings.
    """
    raise NotImplementedError(
        "TODO(04.4): schedule, send and time the requests - see README task 4"
    )


# --------------------------------------------------------------------------------------------
# Task 5: optimise the model


def optimize(
    model: nn.Module,
    inputs: Mapping[str, Tensor],
    *,
    backend: str | None = "inductor",
    threads: int | None = None,
    top: int = 10,
    repeats: int = 5,
) -> Optimized:
    """Make ``model(**inputs)`` fast for serving, and say where its time goes.

    Steps: set torch's intra-op threads (``threads``; ``None`` keeps them), put the model in
    eval mode, time it eagerly under ``torch.inference_mode`` (median of ``repeats`` warmed
    calls), wrap it in ``torch.compile(backend=backend)`` (skipped for ``None``) and time the
    first, compiling call as ``compile_s``, time the result, and profile two calls of it with
    ``torch.profiler`` (CPU): the ``top`` operators by self CPU time, largest first.

    Returns:
        ``Optimized``: ``fn(**inputs)`` gives the model's output (equal to eager up to float
        rounding), computed under inference mode.

    Raises:
        TypeError: ``model`` is not an ``nn.Module`` or ``inputs`` does not map names to
            tensors.
        ValueError: ``top``, ``repeats`` or ``threads`` below 1.
    """
    raise NotImplementedError(
        "TODO(04.5): inference_mode, threads, torch.compile, profiler - see README task 5"
    )
