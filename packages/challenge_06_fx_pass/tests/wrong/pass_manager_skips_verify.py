"""Wrong: a pass manager that records every pass but never compares outputs.

It reports a max error of 0.0 whether or not a pass broke the graph.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch.fx as fx
from challenge_06_fx_pass import solution
from challenge_06_fx_pass.results import PassRecord, PassResult

from prep.impl import patched


class _PassManager(solution.PassManager):
    def run(self, gm: fx.GraphModule, example_inputs: Sequence[Any] = ()) -> PassResult:
        if self.verify and not example_inputs:
            raise ValueError("example_inputs are needed to verify")
        records = []
        for graph_pass in self.passes:
            before = len(gm.graph.nodes)
            start = time.perf_counter()
            gm = graph_pass(gm)
            seconds = time.perf_counter() - start
            if not isinstance(gm, fx.GraphModule):
                raise TypeError(f"pass {solution._pass_name(graph_pass)} returned no GraphModule")
            error = 0.0 if self.verify else None  # the bug: claimed, never measured
            records.append(
                PassRecord(
                    solution._pass_name(graph_pass), before, len(gm.graph.nodes), seconds, error
                )
            )
        result = PassResult(gm, tuple(records))
        self.history.append(result)
        return result


# A private copy of the solution whose other functions (the pass manager's pipeline
# included) call the bug too.
IMPLEMENTATION = patched("challenge_06_fx_pass.solution", PassManager=_PassManager)
TASK = 6  # whose tests reject it: `prep verify` runs them first
