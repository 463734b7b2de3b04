"""Task 5: ``optimize``: inference mode, threads, torch.compile and a profiler table. A small
MLP keeps it quick (the bench compiles MiniLM with inductor); the compiled path uses dynamo
with its ``eager`` backend, which traces the model as inductor would without generating code."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from prep.testing import assert_close

if TYPE_CHECKING:  # torch is imported when a test runs, not when the suite is collected
    from torch import Tensor, nn

Model = tuple["nn.Module", dict[str, "Tensor"]]


@pytest.fixture
def mlp() -> Iterator[Model]:
    """A two-layer MLP (16 -> 64 -> 8) and a batch of 4 inputs."""
    import torch
    from torch import nn

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up, self.down = nn.Linear(16, 64), nn.Linear(64, 8)

        def forward(self, x: Tensor) -> Tensor:
            hidden: Tensor = torch.relu(self.up(x))  # (B, 64)
            out: Tensor = self.down(hidden)  # (B, 8)
            return out

    torch.manual_seed(0)
    threads = torch.get_num_threads()
    yield MLP(), {"x": torch.randn(4, 16)}
    torch.set_num_threads(threads)  # optimize may change them


@pytest.mark.task(5)
@pytest.mark.parametrize(
    "backend",
    [None, pytest.param("eager", marks=pytest.mark.slow)],  # importing dynamo costs seconds
)
def test_optimized_model_matches_eager_and_reports(
    impl: ModuleType, mlp: Model, backend: str | None
) -> None:
    import torch

    model, inputs = mlp
    with torch.no_grad():
        expected = model(**inputs)
    result = impl.optimize(model, inputs, backend=backend, threads=1, top=3, repeats=2)
    out = result.fn(**inputs)
    assert_close(out, expected, rtol=1e-6, atol=1e-6, task=5, what="optimized output")
    assert torch.is_inference(out), "run the model under torch.inference_mode"
    assert not model.training
    assert result.threads == 1 == torch.get_num_threads()
    assert result.backend == backend
    assert (result.compile_s > 0) == (backend is not None)
    assert result.eager_ms > 0
    assert result.optimized_ms > 0
    assert 1 <= len(result.top_ops) <= 3
    self_times = [op.self_cpu_ms for op in result.top_ops]
    assert self_times == sorted(self_times, reverse=True)
    assert all(op.calls >= 1 for op in result.top_ops)
    # two Linear layers: a matrix multiply is among the operators that take time
    names = " ".join(op.name for op in result.top_ops)
    assert "mm" in names or "linear" in names, names


@pytest.mark.task(5)
def test_bad_arguments_are_named(impl: ModuleType, mlp: Model) -> None:
    model, inputs = mlp
    with pytest.raises(TypeError, match="model"):
        impl.optimize(lambda x: x, inputs)
    with pytest.raises(TypeError, match="inputs"):
        impl.optimize(model, {"x": [1.0, 2.0]})
    with pytest.raises(ValueError, match="top"):
        impl.optimize(model, inputs, backend=None, top=0)
    with pytest.raises(ValueError, match="threads"):
        impl.optimize(model, inputs, backend=None, threads=0)
