"""Tasks 1-4, CUDA entry points: bad arguments fail in Python with a message naming them,
before any kernel launches (so these run without a GPU). The kernels' numbers are in test_gpu.py."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch


@pytest.mark.task(1)
@pytest.mark.parametrize(
    ("a", "b", "error", "match"),
    [
        ([[1.0]], torch.ones(1, 1), TypeError, "a must be a torch.Tensor"),
        (
            torch.ones(2, 3, dtype=torch.float64),
            torch.ones(3, 2),
            TypeError,
            "a must be torch.float32",
        ),
        (
            torch.ones(2, 3),
            torch.ones(3, 2, dtype=torch.float16),
            TypeError,
            "b must be torch.float32",
        ),
        (torch.ones(2, 3), torch.ones(4, 2), ValueError, r"disagree on k.*\(2, 3\).*\(4, 2\)"),
        (torch.ones(3), torch.ones(3, 2), ValueError, "must be 2-d"),
        (torch.ones(2, 3), torch.ones(3, 2), ValueError, "a must be a CUDA tensor"),
    ],
)
def test_matmul_rejects_bad_operands(
    impl: ModuleType, a: object, b: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        impl.matmul(a, b)


@pytest.mark.task(2)
@pytest.mark.parametrize("name", ["reduce_sum", "reduce_max"])
def test_reductions_reject_bad_input(impl: ModuleType, name: str) -> None:
    fn = getattr(impl, name)
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor"):
        fn([1.0, 2.0])
    with pytest.raises(TypeError, match=r"x must be torch.float32, got torch.int64"):
        fn(torch.arange(4))
    with pytest.raises(ValueError, match="x must be a CUDA tensor"):
        fn(torch.ones(4))


@pytest.mark.task(2)
def test_reduce_max_refuses_an_empty_tensor(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        impl.reduce_max(torch.ones(0))


@pytest.mark.task(3)
def test_bias_relu_rejects_bad_operands(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"bias must be \(n,\) for x \(\.\.\., n\)"):
        impl.bias_relu(torch.ones(2, 3), torch.ones(4))
    with pytest.raises(TypeError, match=r"bias must be torch.float32"):
        impl.bias_relu(torch.ones(2, 3), torch.ones(3, dtype=torch.float16))
    with pytest.raises(ValueError, match="x must be a CUDA tensor"):
        impl.bias_relu(torch.ones(2, 3), torch.ones(3))


@pytest.mark.task(4)
def test_softmax_rejects_bad_input(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="at least one dimension"):
        impl.softmax(torch.tensor(1.0))
    with pytest.raises(TypeError, match=r"x must be torch.float32, got torch.float16"):
        impl.softmax(torch.ones(2, 3, dtype=torch.float16))
    with pytest.raises(ValueError, match="x must be a CUDA tensor"):
        impl.softmax(torch.ones(2, 3))
