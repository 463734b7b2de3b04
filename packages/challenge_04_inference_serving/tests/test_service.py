"""Task 2: the HTTP service on 127.0.0.1, with a SyntheticModel (the MiniLM checks are in
test_minilm.py): answers, metrics, back-pressure, model errors, client disconnects, bad input."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from challenge_04_inference_serving.synthetic import SyntheticModel, synthetic_vector
from prometheus_client.parser import text_string_to_metric_families


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text parsed by prometheus_client's own parser: (name, labels) -> value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def post_all(url: str, bodies: list[Any], timeout_s: float = 10.0) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        return list(await asyncio.gather(*(client.post(f"{url}/embed", json=b) for b in bodies)))


@pytest.mark.task(2)
def test_embed_answers_each_text(serve_app: Callable[..., Any]) -> None:
    server = serve_app(SyntheticModel(), model_name="synthetic")
    texts = ["one", "two words", "", "three words here"]
    response = httpx.post(f"{server.url}/embed", json={"texts": texts}, timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "embeddings": [synthetic_vector(t) for t in texts],
        "model": "synthetic",
        "dim": 3,
    }
    health = httpx.get(f"{server.url}/healthz", timeout=10)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"


@pytest.mark.task(2)
def test_concurrent_requests_each_get_their_own_answer(
    serve_app: Callable[..., Any], arun: Any
) -> None:
    server = serve_app(SyntheticModel(base_ms=10), max_batch=8, max_wait_ms=20)
    bodies = [{"texts": [f"request {k}", "x" * k]} for k in range(12)]
    responses = arun(post_all(server.url, bodies))
    for body, response in zip(bodies, responses, strict=True):
        assert response.status_code == 200, response.text
        assert response.json()["embeddings"] == [synthetic_vector(t) for t in body["texts"]]


@pytest.mark.task(2)
def test_metrics_are_prometheus_text_that_adds_up(serve_app: Callable[..., Any], arun: Any) -> None:
    server = serve_app(SyntheticModel(base_ms=5), max_batch=4, max_wait_ms=10)
    bodies: list[Any] = [{"texts": [f"t{k}", f"u{k}"]} for k in range(5)] + [{"texts": 3}]
    codes = [r.status_code for r in arun(post_all(server.url, bodies))]
    assert codes == [200] * 5 + [422]
    metrics = httpx.get(f"{server.url}/metrics", timeout=10)
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    samples = metric_samples(metrics.text)
    assert samples[("embed_requests_total", (("code", "200"),))] == 5
    assert samples[("embed_requests_total", (("code", "422"),))] == 1
    assert samples[("embed_request_latency_seconds_count", ())] == 6
    assert samples[("embed_batch_size_sum", ())] == 10  # every text ran in exactly one batch
    assert 1 <= samples[("embed_batch_size_count", ())] <= 10
    assert samples[("embed_queue_depth", ())] == 0


@pytest.mark.task(2)
def test_full_queue_gets_429_and_the_service_keeps_serving(
    serve_app: Callable[..., Any], arun: Any
) -> None:
    server = serve_app(SyntheticModel(base_ms=150), max_batch=1, max_wait_ms=0, max_queue=2)
    texts = [f"t{k}" for k in range(8)]
    responses = arun(post_all(server.url, [{"texts": [t]} for t in texts]))
    codes = sorted(r.status_code for r in responses)
    assert set(codes) == {200, 429}, codes
    assert codes.count(200) >= 2
    for text, r in zip(texts, responses, strict=True):
        if r.status_code == 429:
            assert "Retry-After" in r.headers
            assert "queue" in r.json()["detail"]
        else:
            assert r.json()["embeddings"] == [synthetic_vector(text)]
    after = httpx.post(f"{server.url}/embed", json={"texts": ["after"]}, timeout=10)
    assert after.status_code == 200


@pytest.mark.task(2)
def test_a_model_error_is_500_for_its_batch_only(serve_app: Callable[..., Any], arun: Any) -> None:
    server = serve_app(SyntheticModel(base_ms=5, fail_on="boom"), max_batch=8, max_wait_ms=5)
    failed = httpx.post(f"{server.url}/embed", json={"texts": ["boom"]}, timeout=10)
    assert failed.status_code == 500
    assert "boom" in failed.json()["detail"]
    responses = arun(post_all(server.url, [{"texts": [f"fine {k}"]} for k in range(4)]))
    assert [r.status_code for r in responses] == [200] * 4


@pytest.mark.task(2)
def test_a_client_that_disconnects_does_not_break_the_batch(
    serve_app: Callable[..., Any], arun: Any
) -> None:
    server = serve_app(SyntheticModel(base_ms=300), max_batch=4, max_wait_ms=50)

    async def body() -> None:
        async with httpx.AsyncClient(timeout=0.1) as impatient:
            gone = asyncio.ensure_future(
                impatient.post(f"{server.url}/embed", json={"texts": ["gone"]})
            )
            await asyncio.sleep(0.02)
            stay = asyncio.ensure_future(
                post_all(server.url, [{"texts": ["stay"]}, {"texts": ["too"]}])
            )
            with pytest.raises(httpx.TimeoutException):
                await gone
        responses = await stay
        assert [r.json()["embeddings"] for r in responses] == [
            [synthetic_vector("stay")],
            [synthetic_vector("too")],
        ]
        after = await post_all(server.url, [{"texts": ["after"]}])
        assert after[0].status_code == 200

    arun(body())


@pytest.mark.task(2)
@pytest.mark.parametrize(
    ("content", "status", "says"),
    [
        (b'{"texts": ["unclosed"', 422, "JSON"),
        (b'{"texts": ["ok", 5]}', 422, "string"),
        (b'{"texts": [null]}', 422, "string"),
        (b'{"texts": []}', 422, "at least 1"),
        (b'{"text": ["typo"]}', 422, "texts"),
        (b'["no", "object"]', 422, "dictionary"),
        (json.dumps({"texts": ["x"] * 10_000}).encode(), 413, "at most 64"),
        (json.dumps({"texts": ["y" * 3000]}).encode(), 422, "at most 2000"),
        (b" " * (2 << 20), 413, "bytes"),
    ],
    ids=["malformed", "number", "null", "empty", "typo", "list", "10k-texts", "long", "2MiB"],
)
def test_bad_input_gets_a_clear_4xx(
    serve_app: Callable[..., Any], content: bytes, status: int, says: str
) -> None:
    model = SyntheticModel()
    server = serve_app(model)
    response = httpx.post(
        f"{server.url}/embed",
        content=content,
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert response.status_code == status, response.text
    assert says in json.dumps(response.json()["detail"])
    assert model.batches == []  # nothing reached the model
