"""Locust, the field's load tool, against the same service, to cross-check ``load_test``.

It is not a dependency of the challenge: run it in a throwaway environment with uvx.

    uv run python -m challenge_04_inference_serving.server --impl solution --port 8000 --threads 1
    uvx --from locust locust -f packages/challenge_04_inference_serving/locustfile.py \
        --headless --host http://127.0.0.1:8000 -u 40 -r 40 -t 20s --only-summary

Each of the ``-u`` users posts one text per second (``constant_throughput(1)``), so ``-u 40``
offers about 40 requests/s. Locust's users wait for their answer before the next request, so
past the server's capacity it offers less than asked (closed loop); below it, the numbers
should agree with ``load_test`` at the same rate.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from locust import HttpUser, constant_throughput, task

sys.path.insert(0, str(Path(__file__).parent / "src"))  # the package, without installing it
from challenge_04_inference_serving.texts import bench_texts

_TEXTS = itertools.cycle(bench_texts(64, seed=1))


class EmbedUser(HttpUser):
    wait_time = constant_throughput(1)

    @task
    def embed(self) -> None:
        self.client.post("/embed", json={"texts": [next(_TEXTS)]})
