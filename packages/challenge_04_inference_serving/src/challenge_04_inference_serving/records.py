"""Types the starter, baseline and solution share (given; not a TODO): the errors a batcher
raises, the service's settings, and the reports of the load generator and of ``optimize``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class QueueFull(Exception):  # noqa: N818  # named for what the caller sees, like queue.Full
    """The batcher's queue cannot take the request: back-pressure, answered with HTTP 429."""


class ShuttingDown(Exception):  # noqa: N818
    """The batcher is draining and accepts nothing new: answered with HTTP 503."""


class BatchFailed(Exception):  # noqa: N818
    """The model raised on the batch this request was in; ``__cause__`` is the model's error."""


@dataclass(frozen=True)
class ServiceSettings:
    """Limits and batching knobs of the embedding service."""

    max_batch: int = 32  # texts per model call
    max_wait_ms: float = 5.0  # how long the first text of a batch waits for company
    max_queue: int = 256  # texts waiting for the model; beyond this a request gets 429
    max_texts: int = 64  # texts per request; more is 413
    max_chars: int = 2000  # characters per text; more is 422
    max_body_bytes: int = 1 << 20  # request body; more is 413
    request_timeout_s: float = 30.0  # a request still unanswered then gets 504
    model_name: str = "all-MiniLM-L6-v2"  # reported in each response


@dataclass(frozen=True)
class LoadReport:
    """What ``load_test`` measured. Latencies are seconds from each request's *scheduled*
    arrival to its response, so time spent waiting for a free connection counts."""

    offered_rate: float  # requests per second asked for
    duration_s: float  # length of the arrival schedule
    elapsed_s: float  # first arrival to last response
    sent: int  # requests issued (one per scheduled arrival)
    ok: int  # HTTP 200 responses
    errors: dict[str, int]  # "429", "503", "timeout", "ConnectError"... -> count
    latencies_s: list[float] = field(repr=False)  # of the 200 responses, in arrival order
    p50_s: float = float("nan")
    p90_s: float = float("nan")
    p99_s: float = float("nan")

    @property
    def throughput(self) -> float:
        """Successful responses per second of ``elapsed_s``."""
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass(frozen=True)
class OpTime:
    """One operator of a profiler table."""

    name: str  # e.g. "aten::addmm"
    self_cpu_ms: float  # time in the operator itself, children excluded, over all calls
    calls: int


@dataclass(frozen=True)
class Optimized:
    """What ``optimize`` returns: the faster callable and how it was obtained."""

    fn: Callable[..., Any]  # call with the same keyword inputs as the model
    compile_s: float  # wall time of the first (compiling) call; 0.0 when not compiled
    eager_ms: float  # median per call of the model under inference_mode, before compiling
    optimized_ms: float  # median per call of ``fn`` after the first call
    threads: int  # torch intra-op threads used
    backend: str | None  # torch.compile backend, None when not compiled
    top_ops: list[OpTime]  # the profiler's top operators by self CPU time, of ``fn``
