"""Shared fixtures: the device Triton runs on here, and seeded generators."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def triton_device() -> torch.device:
    """CUDA when a GPU is visible; else the CPU, where Triton runs in its interpreter."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.fixture
def gen() -> torch.Generator:
    """A CPU generator with a fixed seed: draw on the CPU, then move (same data everywhere)."""
    return torch.Generator().manual_seed(11)
