"""Known wrong: checks dynamic_dims but never hands them to torch.export, so the exported graph
is specialized to the example's sizes (and the IR has no symbols)."""

from __future__ import annotations

from collections.abc import Sequence

from challenge_05_fx_graph_extraction import solution
from challenge_05_fx_graph_extraction.solution import (
    DynamicDims,
    ExtractedGraph,
    Method,
    explain_breaks,
    summarize,
    to_dot,
)

__all__ = ["explain_breaks", "extract_graph", "summarize", "to_dot"]
from torch import Tensor, nn


def extract_graph(
    model: nn.Module,
    example_inputs: Sequence[Tensor],
    *,
    method: Method | str = Method.EXPORT,
    dynamic_dims: DynamicDims | None = None,
    strict: bool = False,
    decompose: bool = False,
) -> ExtractedGraph:
    how = solution._check_method(method)
    inputs = solution._check_inputs(example_inputs)
    solution._dynamic_shapes(dynamic_dims, inputs, how)  # validated...
    if how is Method.EXPORT:
        dynamic_dims = None  # the bug: ...and dropped on the way to torch.export
    return solution.extract_graph(
        model,
        example_inputs,
        method=how,
        dynamic_dims=dynamic_dims,
        strict=strict,
        decompose=decompose,
    )


TASK = 5  # whose tests reject it: `prep verify` runs them first
