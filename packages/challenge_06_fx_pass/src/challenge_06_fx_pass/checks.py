"""Comparing a graph with its model (given, not a task): seeded runs and output checks.

The tests and the bench use these; so can you, e.g. to check a pass in a notebook.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.fx as fx
from torch.utils import _pytree as pytree

from prep.bench import seeded
from prep.testing import assert_close

# float32 on both sides. Folding reassociates (W * s) x instead of s * (W x): a few ulps on
# values of order 1, far below the 1e-3..1e-2 a forgotten eps or a wrong GELU produces.
RTOL, ATOL = 1e-4, 1e-5


def run_seeded(fn: Callable[..., Any], inputs: Sequence[torch.Tensor], seed: int = 0) -> Any:
    """``fn(*inputs)`` without autograd, on copies of the inputs (a graph may write to them),
    with the generator seeded - so graphs with random ops compare - and restored after
    (`prep.bench.seeded`, the harness's one implementation of this)."""
    return seeded(fn, *inputs, seed=seed)


def assert_same_outputs(
    got: Any, want: Any, *, task: int | None, what: str, rtol: float = RTOL, atol: float = ATOL
) -> None:
    """Every output tensor close, with the same shape and dtype, in the same structure.

    Raises:
        AssertionError: with ``prep.testing.assert_close``'s report naming ``task`` (None: a
            check beyond the README's tasks).
    """
    got_leaves, got_spec = pytree.tree_flatten(got)
    want_leaves, want_spec = pytree.tree_flatten(want)
    if got_spec != want_spec:
        where = "" if task is None else f" (task {task})"
        raise AssertionError(f"{what}: output structure {got_spec} != {want_spec}{where}")
    for k, (g, w) in enumerate(zip(got_leaves, want_leaves, strict=True)):
        assert_close(
            g, w, rtol=rtol, atol=atol, check_dtype=True, task=task, what=f"{what}, output {k}"
        )


def called_modules(gm: fx.GraphModule) -> list[torch.nn.Module]:
    """The submodules the graph calls, in graph order."""
    return [gm.get_submodule(str(n.target)) for n in gm.graph.nodes if n.op == "call_module"]
