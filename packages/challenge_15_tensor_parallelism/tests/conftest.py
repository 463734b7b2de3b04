"""Real multi-process worlds for the tests: pools of forked gloo ranks (``prep.ranks``).

Each test sends a job to every rank of a ``worlds(n)`` pool; each rank runs it in float64 on
the CPU in its own gloo group. A rank's exception is raised in the test, and a deadlocking job
fails with ``TimeoutError`` instead of hanging the suite.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch  # noqa: F401  # imported before the ranks fork, so each rank does not pay for it

# imported before the ranks fork, so each rank does not pay for it again
from challenge_15_tensor_parallelism import models  # noqa: F401

from prep import ranks

PG_TIMEOUT_S = 20.0  # gloo's timeout for one collective: ops here take milliseconds
JOB_DEADLINE_S = 60.0  # the whole job; past it the ranks are killed and the test fails


@pytest.fixture(scope="session")
def worlds() -> Iterator[ranks.Worlds]:
    """``worlds(n)``: the session's pool of ``n`` gloo ranks."""
    if not ranks.can_fork():
        pytest.skip("the rank pools fork their processes: run on Linux or macOS")
    pools = ranks.Worlds(timeout_s=PG_TIMEOUT_S, deadline_s=JOB_DEADLINE_S)
    yield pools
    pools.close()
