"""What ``PassManager`` (task 6) reports: one record per pass, and the error it raises.

Shared by the starter, baseline and solution so the tests can read every implementation's
report the same way; not a task.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.fx as fx


@dataclass(frozen=True)
class PassRecord:
    """What one pass did to the graph."""

    name: str  # the pass's __name__, e.g. "fold_conv_bn"
    nodes_before: int  # len(graph.nodes) before the pass (placeholders and output included)
    nodes_after: int  # len(graph.nodes) after it
    seconds: float  # wall time of the pass itself (verification excluded)
    max_abs_error: float | None  # max |output - reference| on the sample inputs; None: unverified

    @property
    def nodes_removed(self) -> int:
        """``nodes_before - nodes_after`` (negative if the pass added nodes)."""
        return self.nodes_before - self.nodes_after


@dataclass(frozen=True)
class PassResult:
    """The transformed graph module and one record per pass, in the order they ran."""

    graph_module: fx.GraphModule
    records: tuple[PassRecord, ...]

    @property
    def nodes_removed(self) -> int:
        """Nodes removed by the whole pipeline."""
        return sum(r.nodes_removed for r in self.records)


class PassVerificationError(RuntimeError):
    """A pass changed the graph's outputs on the sample inputs beyond the tolerance.

    The message names the pass, the output that differs and the largest error.
    """

    def __init__(self, pass_name: str, detail: str) -> None:
        super().__init__(f"pass {pass_name!r} changed the graph's outputs: {detail}")
        self.pass_name = pass_name
