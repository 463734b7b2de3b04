"""Shared fixtures: the digits split, loaded once per session.

Every tensor here is tiny: one intra-op thread avoids OpenMP hand-offs that cost more than the
work (and stall for whole time slices on a busy CPU).
"""

from __future__ import annotations

import pytest
import torch
from challenge_14_training_from_scratch.digits import DigitsSplit, load_digits_split

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits() -> DigitsSplit:
    return load_digits_split(seed=0)
