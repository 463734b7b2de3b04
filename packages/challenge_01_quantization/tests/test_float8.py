"""Task 7: FP8 (E4M3) weights per output channel, activations cast per row at run time."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch
from torch import nn
from torch.nn import functional

from prep.testing import assert_close

pytestmark = pytest.mark.task(7)

E4M3 = torch.float8_e4m3fn


def _layer(in_features: int = 256, out_features: int = 64, seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    layer = nn.Linear(in_features, out_features)
    with torch.no_grad():
        layer.bias.mul_(10)
        layer.weight[5] *= 50.0  # an outlier row: per-channel scales keep the others fine
    return layer.requires_grad_(False)


def _e4m3_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """torch's own cast: per-row scale max|x| / 448, codes rounded to nearest E4M3."""
    scale = x.abs().amax(-1, keepdim=True).clamp_min(torch.finfo(torch.float32).eps) / 448.0
    return (x / scale).clamp(-448, 448).to(E4M3), scale


def test_weight_is_per_channel_e4m3(impl: ModuleType) -> None:
    layer = _layer()
    q = impl.Float8Linear.from_float(layer)
    codes, scale = _e4m3_rows(layer.weight.float())
    assert q.weight_fp8.dtype == E4M3
    assert q.weight_fp8.shape == (64, 256)
    assert_close(q.weight_scale, scale.squeeze(1), rtol=1e-6, task=7, what="FP8 weight scales")
    assert torch.equal(q.weight_fp8.view(torch.uint8), codes.view(torch.uint8)), "E4M3 codes"
    assert_close(q.dequantized_weight(), codes.float() * scale, rtol=1e-6, task=7,
                 what="dequantized FP8 weight")  # fmt: skip
    assert q.nbytes() == 64 * 256 + 64 * 4 + 64 * 4, "FP8 weight + float32 scale and bias"


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
@pytest.mark.parametrize("shape", [(9, 256), (2, 5, 256), (1, 256)])
def test_forward_matches_the_e4m3_oracle(
    impl: ModuleType, device: str, shape: tuple[int, ...]
) -> None:
    """The same computation in float64 on the same codes. CPU: float32 out, so only the
    summation order differs. CUDA: bfloat16 out (8 significant bits) and Hopper's FP8 fast
    accumulation, so 1% of the output's scale."""
    layer = _layer(seed=1)
    q = impl.Float8Linear.from_float(layer).to(device)
    g = torch.Generator().manual_seed(2)
    x = (
        torch.randn(*shape, generator=g) * 2 + 3
    )  # shifted: a per-tensor or zero-centred cast is off
    y = q(x.to(device)).cpu()
    assert y.shape == (*shape[:-1], 64)
    assert y.dtype == torch.float32
    codes, scale = _e4m3_rows(x.reshape(-1, 256))
    w_hat = q.dequantized_weight().cpu().double()
    want = (codes.double() * scale.double()) @ w_hat.t() + layer.bias.double()  # (M, 64)
    tol = 1e-4 if device == "cpu" else 1e-2
    assert_close(y.reshape(-1, 64), want, rtol=tol, atol=tol * float(want.abs().max()), task=7,
                 what=f"FP8 forward on {device} vs the float computation on the same codes")  # fmt: skip
    with torch.no_grad():
        exact = layer(x).reshape(-1, 64)
    rel = float((y.reshape(-1, 64) - exact).norm() / exact.norm())
    assert rel < 0.06, f"FP8 output relative error {rel:.3f} to the float layer"


def test_rejects_bad_input(impl: ModuleType) -> None:
    q = impl.Float8Linear.from_float(_layer())
    with pytest.raises(TypeError, match="float"):
        q(torch.ones(2, 256, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"256|features"):
        q(torch.ones(2, 255))
    with pytest.raises(TypeError, match="Linear"):
        impl.Float8Linear.from_float(nn.Conv1d(3, 3, 1))
    with pytest.raises(TypeError, match="float8_e4m3fn"):
        impl.Float8Linear(torch.zeros(4, 16, dtype=torch.int8), torch.ones(4))
    with pytest.raises(ValueError, match="weight_scale"):
        impl.Float8Linear(torch.zeros(4, 16, dtype=E4M3), torch.ones(3))


def test_odd_shapes_fall_back_to_the_same_numerics(impl: ModuleType) -> None:
    """_scaled_mm wants K and N divisible by 16; other shapes must still compute the same."""
    layer = _layer(in_features=100, out_features=30, seed=3)
    q = impl.Float8Linear.from_float(layer)
    x = torch.randn(4, 100)
    codes, scale = _e4m3_rows(x)
    want = functional.linear(codes.float() * scale, q.dequantized_weight(), layer.bias)
    assert_close(q(x), want, rtol=1e-4, atol=1e-4 * float(want.abs().max()), task=7,
                 what="FP8 forward, in 100 -> out 30")  # fmt: skip
