"""Task 4: explain_breaks - graph breaks, their constructs and the user's line, against
torch._dynamo.explain's own counts."""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
import torch
from challenge_05_fx_graph_extraction import models
from challenge_05_fx_graph_extraction.breaks import BreakReport, Construct
from torch import nn

if TYPE_CHECKING:
    from conftest import Zoo

pytestmark = [pytest.mark.task(4), pytest.mark.traces]


def _line_of(cls: type[nn.Module], marker: str) -> str:
    """``models.py:<line>`` of the line of ``cls.forward`` that contains ``marker``."""
    lines, start = inspect.getsourcelines(cls.forward)
    offset = next(i for i, line in enumerate(lines) if marker in line)
    return f"models.py:{start + offset}"


@pytest.mark.parametrize(
    ("cls", "construct", "marker"),
    [
        (models.DataDependentBranch, Construct.CONTROL_FLOW, "if y.sum() > 0"),
        (models.ActivationLogger, Construct.SIDE_EFFECT, "print("),
    ],
)
def test_break_is_located_and_named(
    impl: ModuleType, cls: type[nn.Module], construct: Construct, marker: str
) -> None:
    model = cls().eval()
    x = torch.randn(2, 8)
    report = impl.explain_breaks(model, (x,))
    assert isinstance(report, BreakReport)
    # one break: the code before it is one graph, the code after it another
    assert (report.graph_count, report.break_count) == (2, 1)
    (brk,) = report.breaks
    assert brk.construct is construct, f"{brk.reason!r} classified as {brk.construct}"
    assert brk.location.endswith(_line_of(cls, marker)), brk.location
    assert brk.reason, "the first line of dynamo's reason"
    assert "\n" not in brk.reason


class BreakInAHelper(nn.Module):
    """The break happens one call below ``forward``: the innermost frame is the helper's."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def gate(self, y: torch.Tensor) -> torch.Tensor:
        if y.sum() > 0:  # data-dependent: the break
            return y
        return -y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gate(self.fc(x)) * 2.0


def test_break_is_located_at_the_innermost_user_frame(impl: ModuleType) -> None:
    report = impl.explain_breaks(BreakInAHelper().eval(), (torch.randn(2, 8),))
    lines, start = inspect.getsourcelines(BreakInAHelper.gate)
    line = start + next(i for i, text in enumerate(lines) if "y.sum() > 0" in text)
    # Dynamo breaks at the branch while inlining gate() from forward(), then again when it
    # resumes inside gate(): both reasons point at the same line of user code.
    assert report.breaks, "the branch on y.sum() breaks the graph"
    for brk in report.breaks:
        assert brk.location.endswith(f"test_breaks.py:{line}"), (
            f"{brk.location}: the break is in gate(), called from forward(); report the "
            "innermost frame of the user's stack (task 4)"
        )


def test_a_model_that_captures_whole_has_no_breaks(impl: ModuleType, zoo: Zoo) -> None:
    case = zoo.case("cnn")
    report = impl.explain_breaks(case.model, case.inputs)
    assert (report.graph_count, report.break_count) == (1, 0)
    assert report.op_count > 0


def test_counts_match_dynamo(impl: ModuleType) -> None:
    """Oracle: torch._dynamo.explain itself."""
    import torch._dynamo as dynamo  # imported here, not at collection: it costs seconds

    model = models.ActivationLogger().eval()
    x = torch.randn(2, 8)
    ours = impl.explain_breaks(model, [x])
    theirs = dynamo.explain(model)(x)
    assert (ours.graph_count, ours.break_count, ours.op_count) == (
        theirs.graph_count,
        theirs.graph_break_count,
        theirs.op_count,
    )


def test_rejects_bad_arguments(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match="model"):
        impl.explain_breaks("model", (torch.ones(2),))
    with pytest.raises(TypeError, match="example_inputs"):
        impl.explain_breaks(nn.Linear(2, 2), torch.ones(2, 2))
