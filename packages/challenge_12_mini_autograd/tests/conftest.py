"""Shared fixtures: a torch.autograd oracle that checks forward values and every gradient."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import torch

from prep.testing import assert_close

# float64 on both sides; sums may run in a different order, hence a little slack.
RTOL, ATOL = 1e-10, 1e-12

OracleCheck = Callable[..., None]


@pytest.fixture
def against_torch(impl: ModuleType) -> OracleCheck:
    """``against_torch(ours, theirs, *arrays, task=k)`` runs ``ours`` on ``impl.Tensor`` leaves
    and ``theirs`` on torch float64 leaves made from the same arrays, then compares the output
    and, after backpropagating the same random upstream gradient, each leaf's gradient."""

    def check(
        ours: Callable[..., Any],
        theirs: Callable[..., torch.Tensor],
        *arrays: npt.ArrayLike,
        task: int,
        rtol: float = RTOL,
        atol: float = ATOL,
    ) -> None:
        mine = [impl.Tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
        ref = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
        out, expected = ours(*mine), theirs(*ref)
        assert_close(
            out.data, expected.detach(), rtol=rtol, atol=atol, task=task, what="forward value"
        )
        upstream = np.random.default_rng(0).standard_normal(tuple(expected.shape))
        out.backward(upstream)
        expected.backward(torch.from_numpy(upstream))
        for k, (leaf, torch_leaf) in enumerate(zip(mine, ref, strict=True)):
            want = torch_leaf.grad if torch_leaf.grad is not None else torch.zeros_like(torch_leaf)
            got = leaf.grad if leaf.grad is not None else np.zeros(leaf.shape)
            assert_close(got, want, rtol=rtol, atol=atol, task=task, what=f"gradient of input {k}")

    return check
