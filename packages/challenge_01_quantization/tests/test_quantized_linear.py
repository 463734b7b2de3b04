"""Task 4: the INT8 linear layer - per-channel weights, dynamic and static activations."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch
from challenge_01_quantization.oracles import (
    MinMaxOracleObserver,
    linear_error_bound,
    torch_fake_quantize,
    torch_qparams,
)
from torch import nn
from torch.nn import functional

from prep.testing import assert_close

pytestmark = pytest.mark.task(4)

# A kernel may quantize activations to 7 bits (fbgemm's reduce_range on x86 CPUs without VNNI):
# bounds use twice the 8-bit activation step to allow it.
SEVEN_BIT_ALLOWANCE = 2.0


def _layer(in_features: int = 64, out_features: int = 48, seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    layer = nn.Linear(in_features, out_features)
    with torch.no_grad():
        layer.bias.mul_(10)  # a bias that matters: forgetting it fails loudly
    return layer


def _assert_within_bound(
    y: torch.Tensor, x: torch.Tensor, layer: nn.Linear, act_step: torch.Tensor, what: str
) -> None:
    weight = layer.weight.detach()
    w_scale, _ = torch_qparams(weight.amin(1), weight.amax(1), bits=8, symmetric=True)
    rows = x.reshape(-1, x.shape[-1])
    bound = linear_error_bound(rows, weight, w_scale, act_step * SEVEN_BIT_ALLOWANCE)
    with torch.no_grad():
        y_float = layer(rows).double()
    excess = (y.reshape(-1, y.shape[-1]).double() - y_float).abs() - bound - 1e-5 * y_float.abs()
    worst = float(excess.max())
    assert worst <= 0, f"{what}: error exceeds the INT8 rounding bound by {worst:.4g} (task 4)"


def test_weight_is_per_channel_symmetric_int8(impl: ModuleType) -> None:
    layer = _layer()
    with torch.no_grad():
        layer.weight[3] *= 100.0  # one outlier output channel
    q = impl.QuantizedLinear.from_float(layer)
    weight = layer.weight.detach()
    want_scale, want_zero = torch_qparams(weight.amin(1), weight.amax(1), bits=8, symmetric=True)
    assert q.weight_q.dtype == torch.int8
    assert q.weight_q.shape == (48, 64)
    assert_close(q.weight_scale, want_scale, rtol=1e-6, task=4, what="per-channel weight scales")
    want = torch_fake_quantize(weight, want_scale, want_zero, bits=8, axis=0)
    assert_close(q.dequantized_weight(), want, atol=float(want_scale.max()) * 1e-3, rtol=1e-6,
                 task=4, what="dequantized weight")  # fmt: skip


def test_per_channel_beats_per_tensor_with_an_outlier_channel(impl: ModuleType) -> None:
    layer = _layer()
    with torch.no_grad():
        layer.weight[3] *= 100.0
    weight = layer.weight.detach()
    ours = (impl.QuantizedLinear.from_float(layer).dequantized_weight() - weight).abs()
    scale, zero = torch_qparams(weight.min(), weight.max(), bits=8, symmetric=True)
    per_tensor = (torch_fake_quantize(weight, scale, zero) - weight).abs()
    normal_rows = torch.arange(48) != 3
    ratio = float(ours[normal_rows].mean() / per_tensor[normal_rows].mean())
    assert ratio < 0.05, (
        f"the 47 normal rows keep {ratio:.2f}x the per-tensor error: use one scale per row"
    )


@pytest.mark.parametrize("shape", [(5, 64), (2, 7, 64), (1, 64)])
def test_dynamic_forward_within_int8_bound(impl: ModuleType, shape: tuple[int, ...]) -> None:
    layer = _layer()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1)) * 3 + 1
    q = impl.QuantizedLinear.from_float(layer)
    y = q(x)
    assert y.shape == (*shape[:-1], 48)
    assert y.dtype == torch.float32
    step, _ = torch_qparams(x.min(), x.max(), bits=8, symmetric=False)
    _assert_within_bound(y, x, layer, step, "dynamic INT8 forward")
    assert not q.is_static


def test_static_forward_uses_calibrated_qparams(impl: ModuleType) -> None:
    layer = _layer()
    g = torch.Generator().manual_seed(2)
    observer = MinMaxOracleObserver()
    for _ in range(3):
        observer.update(torch.randn(16, 64, generator=g) * 2)
    q = impl.QuantizedLinear.from_float(layer, act_observer=observer)
    assert q.is_static
    scale, zero = observer.qparams()
    assert_close(q.act_scale, scale, rtol=1e-6, task=4, what="static activation scale")
    x = torch.randn(8, 64, generator=g).clamp(-3, 3)  # inside the calibrated range
    _assert_within_bound(q(x), x, layer, scale, "static INT8 forward")
    # Outside the calibrated range the input clamps: 100x the input gives the clamped result.
    big = x * 100
    clamped = torch_fake_quantize(big, scale, zero)
    with torch.no_grad():
        want = functional.linear(clamped, layer.weight, layer.bias)
    assert_close(q(big), want, rtol=0.05, atol=float(want.abs().max()) * 0.02, task=4,
                 what="static forward on an input beyond the calibrated range (it must clamp)")  # fmt: skip


def test_input_scale_is_applied(impl: ModuleType) -> None:
    layer = _layer()
    s = torch.linspace(0.25, 4.0, 64)
    smoothed = nn.Linear(64, 48)
    with torch.no_grad():
        smoothed.weight.copy_(layer.weight * s)  # W s ...
        smoothed.bias.copy_(layer.bias)
    q = impl.QuantizedLinear.from_float(smoothed, input_scale=1.0 / s)  # ... times x / s
    x = torch.randn(6, 64, generator=torch.Generator().manual_seed(3))
    x_eff = x / s  # what the INT8 GEMM must see: smoothed(x / s) == layer(x)
    step, _ = torch_qparams(x_eff.min(), x_eff.max(), bits=8, symmetric=False)
    _assert_within_bound(
        q(x), x_eff, smoothed, step, "forward with input_scale (x * input_scale first)"
    )


def test_storage_is_under_a_third_of_float(impl: ModuleType) -> None:
    layer = nn.Linear(384, 384)
    q = impl.QuantizedLinear.from_float(layer)
    float_bytes = 384 * 384 * 4 + 384 * 4
    assert q.nbytes() == 384 * 384 + 384 * 4 + 384 * 4, "int8 weight + float32 scale and bias"
    assert q.nbytes() <= 0.3 * float_bytes


def test_rejects_bad_input(impl: ModuleType) -> None:
    q = impl.QuantizedLinear.from_float(_layer())
    with pytest.raises(TypeError, match="float"):
        q(torch.ones(2, 64, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"64|features"):
        q(torch.ones(2, 63))
    with pytest.raises(TypeError, match="Linear"):
        impl.QuantizedLinear.from_float(nn.Conv1d(3, 3, 1))
    observer = MinMaxOracleObserver()
    observer.update(torch.randn(4, 64))
    observer.bits = 4
    with pytest.raises(ValueError, match="8"):
        impl.QuantizedLinear.from_float(_layer(), act_observer=observer)


@pytest.mark.gpu
@pytest.mark.parametrize("rows", [4, 40])
@pytest.mark.parametrize("static", [False, True])
def test_cuda_int8_gemm(impl: ModuleType, rows: int, static: bool) -> None:
    """On CUDA the solution runs torch._int_mm (rows <= 16 are padded); the result must stay
    within the INT8 bound (per-token activation scales are allowed: they are finer)."""
    layer = _layer()
    x = torch.randn(rows, 64, generator=torch.Generator().manual_seed(4))
    observer = None
    if static:
        observer = MinMaxOracleObserver()
        observer.update(x)
    q = impl.QuantizedLinear.from_float(layer, act_observer=observer).cuda()
    y = q(x.cuda()).cpu()
    step, _ = torch_qparams(x.min(), x.max(), bits=8, symmetric=False)
    _assert_within_bound(
        y, x, layer, step, f"CUDA INT8 forward ({'static' if static else 'dynamic'})"
    )
