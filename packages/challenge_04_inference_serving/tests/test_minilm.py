"""Task 2 with the real model: every response equals the embedding of its text run alone,
however the service batched and padded it. The one test that loads all-MiniLM-L6-v2 by
default; the sentence-transformers comparison is marked slow."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import pytest

from prep.testing import assert_close

if TYPE_CHECKING:  # the model (and torch) load when a test runs, not at collection
    from challenge_04_inference_serving.minilm import MiniLMEmbedder

TEXTS = [
    "GPU",
    "Dynamic batching trades a little latency for a lot of throughput.",
    "Padding tokens are masked out of attention and out of the mean pooling, "
    "so a short text batched with a long one keeps its embedding. " * 3,
    "Little's law: L = lambda W.",
    "",
    "Triton Inference Server has a dynamic batcher too.",
]
# float32 matmuls of a padded batch sum in another order than the text alone
ATOL = 1e-5


@functools.lru_cache(maxsize=1)
def embedder() -> MiniLMEmbedder:
    from challenge_04_inference_serving.minilm import MiniLMEmbedder

    return MiniLMEmbedder()


def lazy_minilm(texts: list[str]) -> list[list[float]]:
    """Loads the model on the first batch, so a service that cannot start costs nothing."""
    return embedder()(texts)


@pytest.mark.task(2)
def test_each_response_equals_its_text_embedded_alone(
    serve_app: Callable[..., Any], arun: Any
) -> None:
    server = serve_app(lazy_minilm, max_batch=8, max_wait_ms=50)
    embedder()  # load before timing-sensitive requests go out

    async def body() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            return list(
                await asyncio.gather(*(client.post("/embed", json={"texts": [t]}) for t in TEXTS))
            )

    responses = arun(body(), limit_s=120)
    for text, response in zip(TEXTS, responses, strict=True):
        assert response.status_code == 200, response.text
        assert response.json()["dim"] == 384
        served = np.asarray(response.json()["embeddings"][0])
        alone = embedder().embed([text])[0].numpy()
        assert_close(served, alone, atol=ATOL, rtol=0, task=2, what=f"embedding of {text[:20]!r}")


@pytest.mark.slow
@pytest.mark.task(2)
def test_minilm_embedder_matches_sentence_transformers() -> None:
    from challenge_04_inference_serving.minilm import model_dir
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(model_dir()), device="cpu")
    expected = reference.encode(TEXTS, batch_size=1, convert_to_numpy=True)
    assert_close(np.asarray(embedder()(TEXTS)), expected, atol=ATOL, rtol=0, task=2)
