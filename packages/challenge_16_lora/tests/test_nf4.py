"""Task 4: the NF4 code book, block-wise quantisation with double-quantised scales, QLoRALinear.

Oracles: bitsandbytes' NF4 table (copied below from its source, ``get_4bit_type("nf4")``) and,
where bitsandbytes is installed, its own ``quantize_4bit``/``dequantize_4bit``; the nearest-code
search and the scale arithmetic written out in float64.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_16_lora.nf4_format import DOUBLE_QUANT_BLOCK, NF4Weight
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from prep.testing import assert_close

# bitsandbytes/functional.py, get_4bit_type("nf4"): the QLoRA paper's code book, hard-coded there
BNB_NF4 = [
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]  # fmt: skip


def _unpack(packed: Tensor) -> Tensor:
    """Code indices in element order: element 2i in the high nibble, 2i + 1 in the low one."""
    return torch.stack([packed.long() >> 4, packed.long() & 15], 1).flatten()


def _oracle_indices(w: Tensor, block: int) -> tuple[Tensor, Tensor]:
    """(nearest-code index per element, float32 absmax per block), by brute force in float64."""
    blocks = w.double().reshape(-1, block)
    absmax = blocks.abs().amax(1)
    scaled = blocks / torch.where(absmax > 0, absmax, torch.ones_like(absmax))[:, None]
    code = torch.tensor(BNB_NF4, dtype=torch.float64)
    return (scaled.reshape(-1, 1) - code).abs().argmin(1), absmax.float()


@pytest.mark.task(4)
def test_codebook_is_bitsandbytes_nf4(impl: ModuleType) -> None:
    code = impl.nf4_codebook()
    assert code.dtype == torch.float32
    assert code.shape == (16,)
    # the table is float32 values of the float64 quantiles: agree to float32 rounding
    assert_close(code, torch.tensor(BNB_NF4), rtol=0, atol=1e-6, task=4, what="nf4_codebook()")
    assert float(code[7]) == 0.0, "NF4 has an exact zero (index 7)"


@pytest.mark.task(4)
def test_zeros_survive_exactly(impl: ModuleType) -> None:
    torch.manual_seed(0)
    w = torch.randn(8, 64)
    w[:, ::3] = 0.0  # pruned or padded weights must stay exactly zero
    w[2] = 0.0  # a whole zero block
    out = impl.dequantize_nf4(impl.quantize_nf4(w, 64, double_quant=False))
    assert bool((out[w == 0] == 0).all()), "a zero weight must dequantise to exactly 0"


@pytest.mark.task(4)
@settings(max_examples=20)
@given(
    rows=st.integers(1, 6),
    blocks_per_row=st.integers(1, 4),
    block=st.sampled_from([2, 8, 32, 64]),
    scale=st.sampled_from([1e-3, 1.0, 50.0]),
    seed=st.integers(0, 2**16),
)
def test_codes_are_the_nearest_and_pack_high_nibble_first(
    impl: ModuleType, rows: int, blocks_per_row: int, block: int, scale: float, seed: int
) -> None:
    w = (
        torch.randn(rows, blocks_per_row * block, generator=torch.Generator().manual_seed(seed))
        * scale
    )
    q = impl.quantize_nf4(w, block, double_quant=False)
    idx, absmax = _oracle_indices(w, block)
    assert q.packed.dtype == torch.uint8
    assert q.packed.shape == (w.numel() // 2,)
    assert q.shape == w.shape
    assert q.block_size == block
    assert q.dtype == w.dtype
    assert q.absmax_scale is None
    assert_close(q.absmax, absmax, rtol=0, atol=0, task=4, what="block absmax")
    got = _unpack(q.packed)
    # a value on a midpoint may round either way in float32: allow only neighbouring codes there
    assert int((got - idx).abs().max()) <= 1
    assert float((got != idx).float().mean()) < 0.01, "codes must be the nearest NF4 value"
    expected = torch.tensor(BNB_NF4)[got].view(-1, block) * absmax[:, None]
    assert_close(
        impl.dequantize_nf4(q),
        expected.view(w.shape),
        rtol=1e-6,
        atol=0,
        task=4,
        what="dequantize_nf4",
    )


@pytest.mark.task(4)
def test_round_trip_error_is_bounded_by_half_a_code_gap(impl: ModuleType) -> None:
    torch.manual_seed(1)
    w = torch.randn(64, 256)
    out = impl.dequantize_nf4(impl.quantize_nf4(w, 64, double_quant=False))
    absmax = w.reshape(-1, 64).abs().amax(1, keepdim=True)
    half_gap = float(torch.tensor(BNB_NF4).diff().max()) / 2  # the widest gap, at the ends
    err = (out - w).reshape(-1, 64).abs() / absmax
    assert float(err.max()) <= half_gap + 1e-6


@pytest.mark.task(4)
def test_nf4_beats_int4_round_to_nearest_on_normal_weights(impl: ModuleType) -> None:
    torch.manual_seed(2)
    w = torch.randn(256, 256)
    nf4 = impl.dequantize_nf4(impl.quantize_nf4(w, 64, double_quant=False))
    # INT4 round-to-nearest with the same storage: one absmax per 64 weights, codes -7..7
    blocks = w.reshape(-1, 64)
    step = blocks.abs().amax(1, keepdim=True) / 7
    int4 = (torch.round(blocks / step).clamp(-7, 7) * step).view(w.shape)
    mse_nf4, mse_int4 = float((nf4 - w).square().mean()), float((int4 - w).square().mean())
    # measured 0.0086 vs 0.0119: NF4's levels follow the weights' density
    assert mse_nf4 < 0.85 * mse_int4, f"NF4 MSE {mse_nf4:.5f} vs INT4 {mse_int4:.5f}"


@pytest.mark.task(4)
@pytest.mark.parametrize("n_blocks", [3, 256, 700])
def test_double_quantisation_of_the_scales(impl: ModuleType, n_blocks: int) -> None:
    torch.manual_seed(3)
    w = torch.randn(n_blocks, 64) * torch.rand(n_blocks, 1) * 4  # varied block scales
    q = impl.quantize_nf4(w, 64)
    groups = math.ceil(n_blocks / DOUBLE_QUANT_BLOCK)
    assert q.absmax.dtype == torch.int8
    assert q.absmax.shape == (n_blocks,)
    assert q.absmax_scale is not None
    assert q.absmax_scale.shape == (groups,)
    true_absmax = w.abs().amax(1).double()
    assert q.absmax_offset == pytest.approx(float(true_absmax.mean()), rel=1e-5)
    group = torch.arange(n_blocks) // DOUBLE_QUANT_BLOCK
    scale = q.absmax_scale.double()[group]
    decoded = q.absmax.double() * scale + q.absmax_offset
    # round to nearest: each absmax within half a second-level step (plus float32 slack)
    assert bool(((decoded - true_absmax).abs() <= scale / 2 + 1e-5).all())
    expected_scale = torch.stack([
        (true_absmax[g * 256 : (g + 1) * 256] - true_absmax.mean()).abs().max() / 127
        for g in range(groups)
    ])  # fmt: skip
    assert_close(q.absmax_scale, expected_scale, rtol=1e-5, task=4, what="second-level scales")
    single = impl.dequantize_nf4(impl.quantize_nf4(w, 64, double_quant=False))
    # the scales' own error moves each weight by at most |code| * step / 2 <= step / 2
    assert_close(
        impl.dequantize_nf4(q),
        single,
        rtol=0,
        atol=float(q.absmax_scale.max()) / 2 + 1e-5,
        task=4,
        what="double-quantised dequantisation",
    )


@pytest.mark.task(4)
def test_storage_is_about_4_127_bits_per_parameter(impl: ModuleType) -> None:
    q = impl.quantize_nf4(torch.randn(512, 512), 64)
    n = 512 * 512
    # 4 bits + an int8 scale per 64 + a float32 per 256 scales + the float32 offset
    expected = (n / 2 + n / 64 + 4 * math.ceil(n / 64 / 256) + 4) * 8 / n
    assert q.bits_per_parameter == pytest.approx(expected)
    assert q.bits_per_parameter == pytest.approx(4.127, abs=0.001)


@pytest.mark.task(4)
def test_dequantize_returns_the_requested_dtype(impl: ModuleType) -> None:
    w = torch.randn(4, 64, dtype=torch.float64)
    q = impl.quantize_nf4(w, 32)
    assert impl.dequantize_nf4(q).dtype == torch.float64
    out = impl.dequantize_nf4(q, torch.bfloat16)
    assert out.dtype == torch.bfloat16
    assert out.shape == w.shape
    # code, scale and product each rounded to bf16 (8 significant bits): within 2^-6 of float32
    assert_close(
        out,
        impl.dequantize_nf4(q, torch.float32),
        rtol=2**-6,
        atol=1e-6,
        task=4,
        what="bf16 dequantisation",
    )


@pytest.mark.task(4)
def test_bad_inputs_are_named(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match="weight"):
        impl.quantize_nf4(torch.ones(64, dtype=torch.int32))
    with pytest.raises(ValueError, match="block_size"):
        impl.quantize_nf4(torch.ones(64), 63)
    with pytest.raises(ValueError, match="block_size"):
        impl.quantize_nf4(torch.ones(64), 0)
    with pytest.raises(TypeError, match="block_size"):
        impl.quantize_nf4(torch.ones(64), 32.0)
    with pytest.raises(ValueError, match="block_size"):
        impl.quantize_nf4(torch.ones(96), 64)
    with pytest.raises(ValueError, match="NaN"):
        impl.quantize_nf4(torch.tensor([1.0, float("nan")] * 32))
    with pytest.raises(TypeError, match=r"\bq\b"):
        impl.dequantize_nf4(torch.zeros(4, dtype=torch.uint8))


@pytest.mark.task(4)
@pytest.mark.parametrize("double_quant", [False, True])
def test_matches_bitsandbytes(impl: ModuleType, double_quant: bool) -> None:
    functional = pytest.importorskip(
        "bitsandbytes.functional",
        reason="bitsandbytes (large, GPU-oriented) is not installed; the copied NF4 table and "
        "the brute-force oracle above cover the same format",
    )
    torch.manual_seed(4)
    w = torch.randn(32, 512)
    ours = impl.quantize_nf4(w, 64, double_quant=double_quant)
    packed, state = functional.quantize_4bit(
        w, blocksize=64, quant_type="nf4", compress_statistics=double_quant
    )
    theirs = functional.dequantize_4bit(packed, state)
    if not double_quant:
        assert torch.equal(ours.packed, packed.flatten()), "same codes, same nibble order"
        assert_close(
            impl.dequantize_nf4(ours), theirs, rtol=1e-6, atol=1e-7, task=4, what="vs bitsandbytes"
        )
    else:
        # bitsandbytes stores the scales with an 8-bit dynamic code, not int8: both round the
        # absmax by under 1%, so the weights agree to a small share of the block scale
        assert_close(
            impl.dequantize_nf4(ours),
            theirs,
            rtol=0,
            atol=0.05,
            task=4,
            what="vs bitsandbytes (double quant)",
        )


# ----------------------------------------------------------------------------- QLoRALinear


def _qlora(
    impl: ModuleType, in_f: int = 128, out_f: int = 64, r: int = 4, alpha: float = 8.0
) -> tuple[nn.Linear, Any]:
    torch.manual_seed(5)
    base = nn.Linear(in_f, out_f)
    return base, impl.QLoRALinear(base, r, alpha)


@pytest.mark.task(4)
def test_qlora_stores_nf4_buffers_and_trains_only_adapters(impl: ModuleType) -> None:
    base, layer = _qlora(impl)
    trainable = {n for n, p in layer.named_parameters() if p.requires_grad}
    assert trainable == {"lora_A", "lora_B"}
    assert not any(p.shape == base.weight.shape for p in layer.parameters()), "no float copy of W"
    q = layer.quantized_weight()
    assert isinstance(q, NF4Weight)
    assert q.shape == base.weight.shape
    assert q.double_quant
    reference = impl.quantize_nf4(base.weight.detach(), 64)
    assert torch.equal(q.packed, reference.packed)
    assert layer.base_bytes_per_parameter() == pytest.approx(q.nbytes / base.weight.numel())
    assert layer.base_bytes_per_parameter() < 0.53  # vs 4 bytes in float32
    buffers = {n for n, _ in layer.named_buffers()}
    assert buffers, "store the NF4 tensors as buffers so .to(device) moves them"


@pytest.mark.task(4)
def test_qlora_forward_is_the_nf4_linear_plus_lora(impl: ModuleType) -> None:
    base, layer = _qlora(impl, r=4, alpha=16.0)
    x = torch.randn(3, 5, 128)
    w_nf4 = impl.dequantize_nf4(layer.quantized_weight(), torch.float64)
    expected0 = x.double() @ w_nf4.T + base.bias.detach().double()
    assert_close(layer(x), expected0, rtol=1e-5, atol=1e-5, task=4, what="fresh QLoRALinear(x)")
    with torch.no_grad():
        layer.lora_B.copy_(torch.randn(64, 4))
    delta = 4.0 * (x.double() @ layer.lora_A.detach().double().T) @ layer.lora_B.detach().double().T
    assert_close(layer(x), expected0 + delta, rtol=1e-5, atol=1e-4, task=4, what="QLoRALinear(x)")
    layer(x).sum().backward()
    assert layer.lora_A.grad is not None
    assert layer.lora_B.grad is not None


@pytest.mark.task(4)
def test_qlora_rejects_what_lora_rejects(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match="base"):
        impl.QLoRALinear(nn.Conv1d(4, 4, 1), 2, 4.0)
    with pytest.raises(ValueError, match=r"\br\b"):
        impl.QLoRALinear(nn.Linear(64, 4), 0, 4.0)
