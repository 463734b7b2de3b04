"""Task 4: the INT8 linear layer - per-channel weights, dynamic and static activations."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_01_quantization import kernel_support
from challenge_01_quantization.oracles import (
    MinMaxOracleObserver,
    activation_step_bound,
    fake_quant_linear,
    int_range,
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


@pytest.fixture
def int32_dot_cpu(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This CPU, as the layer sees it, becomes one where fbgemm sums u8 x s8 products in int32
    (AVX-512 VNNI): ``kernel_support.fbgemm_reduce_range()`` answers False."""
    monkeypatch.setattr(kernel_support, "cpu_flags", lambda: frozenset({"avx512_vnni"}))
    kernel_support.fbgemm_reduce_range.cache_clear()
    yield
    kernel_support.fbgemm_reduce_range.cache_clear()  # the real answer again after the test


@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
@pytest.mark.usefixtures("int32_dot_cpu")
def test_activations_use_all_8_bits_where_fbgemm_sums_in_int32(
    impl: ModuleType, static: bool
) -> None:
    """7-bit activations (torch.ao's x86 default, ``reduce_range=True``) double the rounding
    error and are right only where fbgemm sums pairs of products in int16. On a CPU with
    int32 sums the layer must match the 8-bit oracle alone. Every odd input column of W is
    zero, so no pair of products can overflow int16: the 8-bit result is exact even on a CPU
    that really sums pairs in int16, such as an AVX2-only one."""
    assert _activation_bits(torch.device("cpu")) == (8,), "the VNNI stand-in did not apply"
    layer = _oracle_layer(seed=4)
    with torch.no_grad():
        layer.weight[:, 1::2] = 0.0  # (out, in): pairs (2i, 2i + 1) hold one product each
    x = _shifted(16, 256, seed=9)
    observer, qparams = None, None
    if static:
        observer = MinMaxOracleObserver()
        observer.update(_shifted(64, 256, seed=30))
        x, qparams = x.clamp(float(observer.lo), float(observer.hi)), observer.qparams()
    q = impl.QuantizedLinear.from_float(layer, act_observer=observer)
    _assert_matches_oracle(
        q(x), x, q, layer.bias.detach(), static=qparams,
        what=f"{'static' if static else 'dynamic'} forward where 8-bit activations are safe",
    )  # fmt: skip


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


# ---------------------------------------------------------------------------------------------
# Against a fake-quant oracle: the same codes in float64, so the only allowed difference is a tie
# rounded the other way (one activation step times the row's largest weight). Inputs are shifted
# (x ~ 3 + 2 N(0, 1)), so activation zero points sit far from 0.

INT8_KERNELS = {  # the integer GEMMs a QuantizedLinear may run
    "quantized::linear_dynamic",
    "quantized::linear_with_input_q_dq_qweight_dq_output_fp32",
    "quantized::linear",
    "aten::_int_mm",
}


def _activation_bits(device: torch.device) -> tuple[int, ...]:
    """8-bit activations, or 7 where fbgemm's kernels sum u8 x s8 pairs in int16 (x86 without
    AVX-512 VNNI or AMX): there full 8-bit codes can saturate, so 7 is the right call."""
    if device.type == "cpu" and kernel_support.fbgemm_reduce_range():
        return (8, 7)
    return (8,)


def _requantized(
    scale: torch.Tensor, zero: torch.Tensor, bits: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``bits``-bit qparams of the range that 8-bit (scale, zero) covers."""
    qmin, qmax = int_range(8)
    lo, hi = (qmin - zero.float()) * scale, (qmax - zero.float()) * scale
    return torch_qparams(lo, hi, bits=bits, symmetric=False)


def _oracle_qparams(
    rows: torch.Tensor, bits: int, static: tuple[torch.Tensor, torch.Tensor] | None, per_row: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    if static is not None:
        return static if bits == 8 else _requantized(*static, bits)
    if per_row:  # per-token symmetric (the CUDA path)
        amax = rows.abs().amax(1, keepdim=True)  # (M, 1)
        return torch_qparams(-amax.squeeze(1), amax.squeeze(1), bits=bits, symmetric=True)[0][
            :, None
        ], torch.zeros(rows.shape[0], 1, dtype=torch.int32)
    return torch_qparams(rows.min(), rows.max(), bits=bits, symmetric=False)


def _assert_matches_oracle(
    y: torch.Tensor,
    x_eff: torch.Tensor,
    q: Any,
    bias: torch.Tensor | None,
    *,
    static: tuple[torch.Tensor, torch.Tensor] | None = None,
    what: str,
) -> None:
    """y must equal the fake-quant oracle on x_eff (the input the INT8 GEMM quantizes) for one
    of the activation widths the device allows, within one activation step per output."""
    device = x_eff.device
    rows = x_eff.reshape(-1, x_eff.shape[-1]).detach().cpu().float()  # (M, K)
    got = y.reshape(rows.shape[0], -1).detach().cpu().double()  # (M, N)
    weight_q, weight_scale = q.weight_q.cpu(), q.weight_scale.cpu()
    per_row = device.type == "cuda"
    report = []
    for bits in _activation_bits(device):
        scale, zero = _oracle_qparams(rows, bits, static, per_row)
        want = fake_quant_linear(rows, weight_q, weight_scale, bias, scale, zero, bits=bits)
        # one tie flipped per output, plus float32 rounding of the rescale and the bias
        tol = activation_step_bound(scale, weight_q, weight_scale) + 1e-5 * want.abs() + 1e-5
        excess = float(((got - want).abs() - tol).max())
        if excess <= 0:
            return
        worst = float((got - want).abs().max())
        report.append(f"{bits}-bit oracle: max |y - oracle| {worst:.4g}, {excess:.4g} past a step")
    raise AssertionError(
        f"{what}: the output is not the fake-quantized computation on the same codes "
        f"(activation rounding, zero point or width wrong?) - {'; '.join(report)} (task 4)"
    )


def _shifted(*shape: int, seed: int, device: str = "cpu") -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g) * 2 + 3).to(device)


def _oracle_layer(seed: int = 0) -> nn.Linear:
    return _layer(in_features=256, out_features=64, seed=seed)


DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(9, 256), (2, 7, 256), (1, 256)])
def test_dynamic_forward_matches_fake_quant_oracle(
    impl: ModuleType, device: str, shape: tuple[int, ...]
) -> None:
    """Dynamic activations: per tensor, asymmetric, from the batch's own [min, max] on CPU;
    per token (row), symmetric on CUDA."""
    layer = _oracle_layer()
    q = impl.QuantizedLinear.from_float(layer).to(device)
    x = _shifted(*shape, seed=5, device=device)
    y = q(x)
    assert y.shape == (*shape[:-1], 64)
    _assert_matches_oracle(y, x, q, layer.bias.detach(), what=f"dynamic forward on {device}")


@pytest.mark.parametrize("device", DEVICES)
def test_static_forward_matches_fake_quant_oracle(impl: ModuleType, device: str) -> None:
    layer = _oracle_layer(seed=1)
    observer = MinMaxOracleObserver()
    for seed in range(3):
        observer.update(_shifted(32, 256, seed=10 + seed))
    scale, zero = observer.qparams()
    # The point of shifted inputs: a zero point far from 0, so a dropped z * rowsum(W) term
    # (sum_k (q_x - z) q_w = q_x . q_w - z * sum_k q_w) moves every output by many steps.
    assert abs(int(zero)) >= 32, f"test data: zero point {int(zero)} is too close to 0"
    q = impl.QuantizedLinear.from_float(layer, act_observer=observer).to(device)
    x = _shifted(16, 256, seed=20).clamp(float(observer.lo), float(observer.hi)).to(device)
    _assert_matches_oracle(
        q(x), x, q, layer.bias.detach(), static=(scale, zero), what=f"static on {device}"
    )


@pytest.mark.parametrize("device", DEVICES)
def test_smoothed_forward_matches_fake_quant_oracle(impl: ModuleType, device: str) -> None:
    layer = _oracle_layer(seed=2)
    s = torch.linspace(0.25, 4.0, 256)
    q = impl.QuantizedLinear.from_float(layer, input_scale=1.0 / s).to(device)
    x = _shifted(12, 256, seed=6, device=device)
    _assert_matches_oracle(
        q(x), x / s.to(device), q, layer.bias.detach(), what="forward with input_scale"
    )


@pytest.mark.parametrize("device", DEVICES)
def test_a_tensor_changed_in_place_is_quantized_again(impl: ModuleType, device: str) -> None:
    """Nothing may be cached by tensor identity: the same tensor, changed in place, is a new
    input (a cache keyed on the object returns the old codes and keeps every input alive)."""
    layer = _oracle_layer(seed=3)
    q = impl.QuantizedLinear.from_float(layer).to(device)
    x = _shifted(24, 256, seed=7, device=device)
    q(x)
    with torch.no_grad():
        x.mul_(-1.5).add_(2.0)
    _assert_matches_oracle(q(x), x, q, layer.bias.detach(), what="second call, same tensor")


def test_the_cpu_flags_are_read_once(impl: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading /proc/cpuinfo costs more than a small layer's GEMM: never once per forward."""
    import pathlib

    reads: list[str] = []
    read_text = pathlib.Path.read_text

    def counting(self: pathlib.Path, *args: object, **kwargs: object) -> str:
        if str(self) == "/proc/cpuinfo":
            reads.append(str(self))
        return read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pathlib.Path, "read_text", counting)
    q = impl.QuantizedLinear.from_float(_layer())
    for _ in range(4):
        q(torch.randn(3, 64))
    assert len(reads) <= 1, f"/proc/cpuinfo read {len(reads)} times in 4 forwards"


def test_an_integer_gemm_runs(impl: ModuleType) -> None:
    """The point of the layer: a real INT8 kernel, not dequantize + float matmul."""
    if impl.__name__.endswith(".baseline"):
        pytest.skip("the baseline dequantizes by design (the slow reference): see solution.py")
    q = impl.QuantizedLinear.from_float(_oracle_layer())
    x = _shifted(16, 256, seed=8)
    q(x)  # first call: prepacking is not the forward
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        q(x)
    ran = {event.name for event in prof.events()}
    assert ran & INT8_KERNELS, (
        f"no integer GEMM ran (ops: {sorted(n for n in ran if '::' in n)[:12]}); use fbgemm's "
        f"quantized::linear_dynamic / linear_with_input_q_dq_qweight_dq_output_fp32 (task 4)"
    )


@pytest.mark.gpu
def test_cuda_memory_does_not_grow_with_calls(impl: ModuleType) -> None:
    """Every input must be freed after its call (a cache keyed on tensors keeps them all)."""
    import gc

    q = impl.QuantizedLinear.from_float(_oracle_layer()).cuda()
    q(torch.randn(64, 256, device="cuda"))
    gc.collect()
    before = torch.cuda.memory_allocated()
    for _ in range(20):
        q(torch.randn(64, 256, device="cuda"))
    gc.collect()
    grown = torch.cuda.memory_allocated() - before
    assert grown < 4 * 64 * 256 * 4, f"{grown} bytes still held after 20 calls"
