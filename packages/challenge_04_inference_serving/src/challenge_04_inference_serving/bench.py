"""Benchmarks of challenge 04 (``uv run prep bench 04``).

1. A timed workload: 32 texts submitted at once to each implementation's ``DynamicBatcher``
   around all-MiniLM-L6-v2 (the baseline row runs ``max_batch=1``: the model sees one text
   at a time), beside sentence-transformers' ``encode`` of the same texts in one batch.
2. ``report``: the service under open-loop load. Each implementation's server runs in a child
   process on 127.0.0.1 with one torch thread (the load generator has the other core);
   ``load_test`` offers Poisson load at increasing rates and records throughput and latency
   percentiles. ``--plot`` draws p99 latency and throughput against the offered rate.
3. ``report`` (not ``--quick``): ``optimize`` on MiniLM with inductor: compile time, eager vs
   compiled latency, and the profiler's top operators.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import numpy as np

from challenge_04_inference_serving.records import LoadReport
from challenge_04_inference_serving.texts import bench_texts
from prep import bench
from prep import impl as impl_switch
from prep.bench import Row, Workload

PACKAGE = "challenge_04_inference_serving"
RATES = (20.0, 40.0, 80.0, 160.0, 320.0)  # offered requests per second
QUICK_RATES = (40.0, 160.0)
_SWEEP: dict[str, list[dict[str, Any]]] = {}  # impl -> one dict per rate, for plot()


def _through_batcher(module: ModuleType, embed: Any, texts: list[str], max_batch: int) -> Any:
    # the solution splits a batch into length buckets, as its service does
    bucketed = getattr(module, "bucketed_by_length", None)
    if bucketed is not None:
        embed = bucketed(embed, lambda text: len(text.split()) + 2)

    async def run() -> list[Any]:
        batcher = module.DynamicBatcher(embed, max_batch=max_batch, max_wait_ms=2, max_queue=256)
        try:
            return list(await asyncio.gather(*(batcher.submit(t) for t in texts)))
        finally:
            await batcher.drain()

    return np.asarray(asyncio.run(run()))


def workloads(quick: bool) -> list[Workload]:
    from challenge_04_inference_serving.minilm import MiniLMEmbedder, model_dir

    texts = bench_texts(16 if quick else 32)
    embed = MiniLMEmbedder()
    expected = embed.embed(texts).numpy()
    modules = bench.implementations(PACKAGE)

    def through(name: str, max_batch: int) -> Callable[[], Any]:
        return bench.lazy(lambda: lambda: _through_batcher(modules[name], embed, texts, max_batch))

    def sentence_transformers() -> Callable[[], Any]:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(model_dir()), device="cpu")
        return lambda: model.encode(texts, batch_size=len(texts), convert_to_numpy=True)

    def check(name: str, value: object) -> None:
        from prep.testing import assert_close

        # float32 sums over a padded batch run in another order than one text at a time
        assert_close(np.asarray(value), expected, atol=1e-5, rtol=0, what=f"{name} embeddings")

    return [
        Workload(
            name=f"embed {len(texts)} concurrent queries (MiniLM-L6, 3-12 words)",
            candidates={
                "starter": through("starter", len(texts)),
                "baseline": through("baseline", 1),
                "solution": through("solution", len(texts)),
                "sentence-transformers": bench.lazy(sentence_transformers),
            },
            check=check,
            device="cpu",
            library="sentence-transformers",
            notes="baseline: max_batch=1 (one text per forward); solution and starter: "
            f"max_batch={len(texts)} (the solution splits a batch into length buckets)",
        )
    ]


# --------------------------------------------------------------------------------------------
# The service under load


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Server:
    """``python -m challenge_04_inference_serving.server`` for one implementation."""

    def __init__(self, impl: str, threads: int = 1) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", f"{PACKAGE}.server", "--impl", impl]
        command += ["--port", str(self.port), "--threads", str(threads), "--max-queue", "256"]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        self.proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)

    def wait_ready(self, limit_s: float = 180.0) -> None:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the {self.url} server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"the server did not start within {limit_s} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def load_sweep(impl: str, rates: tuple[float, ...], duration_s: float) -> list[dict[str, Any]]:
    """One ``load_test`` per offered rate against ``impl``'s MiniLM service."""
    load_test = impl_switch.load(PACKAGE, "solution").load_test
    texts = bench_texts(64, seed=1)
    server = _Server(impl)
    points = []
    try:
        server.wait_ready()
        asyncio.run(load_test(f"{server.url}/embed", rate=20, duration_s=1.0, texts=texts))
        for rate in rates:
            report: LoadReport = asyncio.run(
                load_test(f"{server.url}/embed", rate=rate, duration_s=duration_s, texts=texts)
            )
            points.append(_point(report))
            time.sleep(1.0)  # let an overloaded server empty its queue
    finally:
        server.stop()
    return points


def _point(report: LoadReport) -> dict[str, Any]:
    return {
        "offered_rps": report.offered_rate,
        "sent": report.sent,
        "ok": report.ok,
        "throughput_rps": report.throughput,
        "p50_ms": 1e3 * report.p50_s,
        "p90_ms": 1e3 * report.p90_s,
        "p99_ms": 1e3 * report.p99_s,
        "errors": report.errors,
    }


def _optimize_report() -> dict[str, Any]:
    import torch

    from challenge_04_inference_serving.minilm import MiniLMEmbedder

    embed = MiniLMEmbedder()
    inputs = embed.tokenize(bench_texts(32))
    with bench.threads(1):
        result = impl_switch.load(PACKAGE, "solution").optimize(
            embed.model, inputs, backend="inductor", threads=1, top=8
        )
    return {
        "torch": torch.__version__,
        "batch": list(inputs["input_ids"].shape),
        "compile_s": result.compile_s,
        "eager_ms": result.eager_ms,
        "compiled_ms": result.optimized_ms,
        "threads": result.threads,
        "top_ops": [(op.name, round(op.self_cpu_ms, 2), op.calls) for op in result.top_ops],
    }


def report(rows: list[Row], quick: bool) -> dict[str, Any]:
    """Run the load sweep (and, unless quick, the optimiser) and print their tables."""
    rates, duration = (QUICK_RATES, 2.0) if quick else (RATES, 5.0)
    for impl in ("baseline", "solution"):
        _SWEEP[impl] = load_sweep(impl, rates, duration)
    print(
        f"\nMiniLM service under open-loop Poisson load ({duration:g} s per rate, server: 1 thread)"
    )
    print(
        "| implementation | offered (req/s) | throughput (req/s) | p50 (ms) | p90 (ms) | p99 (ms) | errors |"
    )
    print("|---|---|---|---|---|---|---|")
    for impl, points in _SWEEP.items():
        for p in points:
            errors = ", ".join(f"{k}: {v}" for k, v in p["errors"].items()) or "0"
            print(
                f"| {impl} | {p['offered_rps']:g} | {p['throughput_rps']:.1f} | {p['p50_ms']:.1f} "
                f"| {p['p90_ms']:.1f} | {p['p99_ms']:.1f} | {errors} |"
            )
    extra: dict[str, Any] = {"load": _SWEEP}
    if not quick:
        extra["optimize"] = opt = _optimize_report()
        print(
            f"\noptimize(MiniLM, batch {opt['batch']}, inductor, {opt['threads']} thread): "
            f"compile {opt['compile_s']:.1f} s, eager {opt['eager_ms']:.1f} ms, "
            f"compiled {opt['compiled_ms']:.1f} ms"
        )
        for name, ms, calls in opt["top_ops"]:
            print(f"  {name:<48} {ms:9.2f} ms  {calls} calls")
    return extra


def plot(rows: list[Row], path: Path, quick: bool) -> None:
    """p99 latency and throughput against the offered rate, one line per implementation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for impl, points in _SWEEP.items():
        offered = [p["offered_rps"] for p in points]
        left.plot(offered, [p["p99_ms"] for p in points], marker="o", label=impl)
        right.plot(offered, [p["throughput_rps"] for p in points], marker="o", label=impl)
    left.set(xlabel="offered load (req/s)", ylabel="p99 latency (ms)", xscale="log", yscale="log")
    right.set(xlabel="offered load (req/s)", ylabel="throughput (req/s)", xscale="log")
    right.plot([min(RATES), max(RATES)], [min(RATES), max(RATES)], "k:", label="offered")
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("MiniLM embedding service on 127.0.0.1: batch 1 vs dynamic batching")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
