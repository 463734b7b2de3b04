"""The HTTP API both services speak (given; not a TODO): the request schema and its checks,
error bodies, and the Prometheus metrics.

``POST /embed`` takes ``{"texts": ["...", ...]}`` and answers
``{"embeddings": [[...], ...], "model": "...", "dim": 384}``. Bad input gets a 4xx whose
``detail`` says what was wrong: 413 for a body over ``max_body_bytes`` or more than
``max_texts`` texts, 422 for malformed JSON, a missing or empty ``texts`` list, an item that
is not a string, or a text over ``max_chars``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError
from starlette.requests import ClientDisconnect

from challenge_04_inference_serving.records import ServiceSettings

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class EmbedRequest(BaseModel):
    """The body of ``POST /embed``."""

    model_config = ConfigDict(extra="forbid")
    texts: list[StrictStr] = Field(min_length=1)


def error(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON error response ``{"detail": ...}``, as FastAPI's own errors look."""
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


async def parse_embed_request(
    request: Request, settings: ServiceSettings
) -> list[str] | JSONResponse:
    """The texts of a ``POST /embed`` body, or the 413/422 response that rejects it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
        return error(413, f"body of {declared} bytes; at most {settings.max_body_bytes}")
    try:
        raw = await request.body()
    except ClientDisconnect:  # the client gave up before sending its body: nobody to answer
        return error(499, "client closed the request")
    if len(raw) > settings.max_body_bytes:
        return error(413, f"body of {len(raw)} bytes; at most {settings.max_body_bytes}")
    try:
        payload = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return error(422, f"body is not valid JSON: {exc}")
    try:
        texts = EmbedRequest.model_validate(payload).texts
    except ValidationError as exc:
        return error(422, json.loads(exc.json(include_url=False)))
    if len(texts) > settings.max_texts:
        return error(413, f"{len(texts)} texts in one request; at most {settings.max_texts}")
    for k, text in enumerate(texts):
        if len(text) > settings.max_chars:
            return error(
                422, f"texts[{k}] has {len(text)} characters; at most {settings.max_chars}"
            )
    return texts


def embed_response(vectors: list[list[float]], settings: ServiceSettings) -> JSONResponse:
    """The 200 answer of ``POST /embed``."""
    dim = len(vectors[0]) if vectors else 0
    return JSONResponse({"embeddings": vectors, "model": settings.model_name, "dim": dim})


class ServiceMetrics:
    """The service's Prometheus metrics, in a registry of its own (two apps in one process
    do not share counters).

    - ``embed_requests_total{code}``: requests answered, by HTTP status
    - ``embed_request_latency_seconds``: histogram of request latency, by the server's clock
    - ``embed_batch_size``: histogram of texts per model call
    - ``embed_queue_depth``: texts waiting for the model, read at scrape time
    """

    def __init__(self, max_batch: int) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "embed_requests", "Requests answered, by HTTP status", ["code"], registry=self.registry
        )
        self.latency = Histogram(
            "embed_request_latency_seconds",
            "Time from request to response",
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        sizes = sorted(
            {1, *(2**k for k in range(max_batch.bit_length() + 1) if 2**k <= max_batch), max_batch}
        )
        self.batch_size = Histogram(
            "embed_batch_size", "Texts per model call", buckets=sizes, registry=self.registry
        )
        self.queue_depth = Gauge(
            "embed_queue_depth", "Texts waiting for the model", registry=self.registry
        )

    def observe_request(self, code: int, seconds: float) -> None:
        self.requests.labels(code=str(code)).inc()
        self.latency.observe(seconds)

    def observe_batch(self, size: int) -> None:
        self.batch_size.observe(size)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
