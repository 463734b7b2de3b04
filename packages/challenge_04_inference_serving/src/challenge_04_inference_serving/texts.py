"""The request texts of the benchmark and the locust cross-check (given; standard library only,
so the locustfile can import it from a bare environment)."""

from __future__ import annotations

import random

_WORDS = [
    "the",
    "model",
    "serves",
    "embeddings",
    "for",
    "every",
    "request",
    "while",
    "the",
    "batcher",
    "waits",
    "a",
    "few",
    "milliseconds",
    "so",
    "that",
    "concurrent",
    "texts",
    "share",
    "one",
    "forward",
    "pass",
    "and",
    "the",
    "accelerator",
    "stays",
    "busy",
    "instead",
    "of",
    "idling",
    "between",
    "tiny",
    "kernels",
    "queue",
    "depth",
    "latency",
    "throughput",
]


def bench_texts(n: int = 32, seed: int = 0, words: tuple[int, int] = (3, 12)) -> list[str]:
    """``n`` texts of ``words[0]`` to ``words[1]`` words, like search queries: mixed lengths,
    so a batch needs a little padding."""
    rng = random.Random(seed)
    low, high = words
    return [" ".join(rng.choices(_WORDS, k=rng.randint(low, high))) for _ in range(n)]
