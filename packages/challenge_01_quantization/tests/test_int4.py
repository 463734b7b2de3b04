"""Task 6: INT4 weight-only - nibble packing, group-wise asymmetric qparams, memory."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch
from challenge_01_quantization.oracles import torch_fake_quantize, torch_qparams
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional

from prep.testing import assert_close

pytestmark = pytest.mark.task(6)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    lead=st.lists(st.integers(1, 4), max_size=2),
    pairs=st.integers(1, 9),
)
def test_pack_unpack_round_trip(impl: ModuleType, seed: int, lead: list[int], pairs: int) -> None:
    g = torch.Generator().manual_seed(seed)
    q = torch.randint(-8, 8, (*lead, 2 * pairs), generator=g, dtype=torch.int8)
    packed = impl.pack_int4(q)
    assert packed.dtype == torch.uint8, "pack_int4 returns uint8"
    assert packed.shape == (*lead, pairs), "two codes per byte"
    back = impl.unpack_int4(packed)
    assert back.dtype == torch.int8
    assert torch.equal(back, q), (
        f"unpack(pack(q)) != q: {q.flatten()[:8].tolist()} -> {back.flatten()[:8].tolist()}"
    )


def test_nibble_layout(impl: ModuleType) -> None:
    q = torch.tensor([[-8, 7, 1, -1, 0, 0]], dtype=torch.int8)
    # element 2i in the low nibble, 2i+1 in the high one, each offset by 8
    assert impl.pack_int4(q).tolist() == [[0 | (15 << 4), 9 | (7 << 4), 8 | (8 << 4)]]


@pytest.mark.parametrize("group_size", [16, 64])
def test_groupwise_weight_error_within_half_a_step(impl: ModuleType, group_size: int) -> None:
    torch.manual_seed(0)
    layer = nn.Linear(128, 24)
    q = impl.quantize_int4_weight_only(layer, group_size=group_size)
    groups = layer.weight.detach().reshape(-1, group_size)  # (24 * 128 / g, g)
    scale, zero = torch_qparams(groups.amin(1), groups.amax(1), bits=4, symmetric=False)
    want = torch_fake_quantize(groups, scale, zero, bits=4, axis=0).reshape(24, 128)
    got = q.unpack_weight()
    assert got.shape == (24, 128)
    assert got.dtype == torch.float32
    assert_close(got, want, atol=float(scale.max()) * 1e-3, rtol=1e-6, task=6,
                 what=f"dequantized INT4 weight (group {group_size})")  # fmt: skip
    step = scale.repeat_interleave(group_size).reshape(24, 128)
    assert bool(((got - layer.weight.detach()).abs() <= step / 2 * 1.0001 + 1e-7).all())
    assert q.packed.shape == (24, 64)
    assert q.packed.dtype == torch.uint8


def test_forward_and_memory(impl: ModuleType) -> None:
    torch.manual_seed(1)
    layer = nn.Linear(256, 32)
    q = impl.quantize_int4_weight_only(layer, group_size=128)
    x = torch.randn(3, 5, 256)
    with torch.no_grad():
        want = functional.linear(x, q.unpack_weight(), layer.bias)
        y, y_float = q(x), layer(x)
    assert y.shape == (3, 5, 32)
    # A fused INT4 kernel (tinygemm) computes in bfloat16: 8 significant bits of x and y.
    scale = float(want.abs().max())
    assert_close(
        y, want, rtol=2e-2, atol=1e-2 * scale, task=6, what="INT4 forward vs its own weight"
    )
    # 4 bits per weight + one float32 scale and one int8 zero point per 128 weights
    assert q.bits_per_param() == pytest.approx(4 + (32 + 8) / 128)
    assert q.nbytes() == 32 * 128 + 32 * 2 * 4 + 32 * 2 + 32 * 4
    rel = float((y - y_float).norm() / y_float.norm())
    assert rel < 0.15, f"INT4 output relative error {rel:.3f}"


def test_rejects_bad_input(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="group_size"):
        impl.quantize_int4_weight_only(nn.Linear(100, 4), group_size=128)
    with pytest.raises(TypeError, match="Linear"):
        impl.quantize_int4_weight_only(nn.Conv1d(4, 4, 1))
    with pytest.raises(ValueError, match="even"):
        impl.pack_int4(torch.zeros(3, dtype=torch.int8))
    with pytest.raises(ValueError, match=r"-8, 7"):
        impl.pack_int4(torch.tensor([8, 0], dtype=torch.int8))
    with pytest.raises(TypeError, match="int8"):
        impl.pack_int4(torch.zeros(2, dtype=torch.int32))
    with pytest.raises(TypeError, match="uint8"):
        impl.unpack_int4(torch.zeros(2, dtype=torch.int8))
    q = impl.quantize_int4_weight_only(nn.Linear(64, 4), group_size=32)
    with pytest.raises(ValueError, match=r"64|features"):
        q(torch.ones(2, 32))


@pytest.mark.gpu
def test_int4_on_cuda(impl: ModuleType) -> None:
    torch.manual_seed(2)
    layer = nn.Linear(256, 64)
    q = impl.quantize_int4_weight_only(layer, group_size=64)
    x = torch.randn(4, 256)
    with torch.no_grad():
        want = q(x)
        got = q.cuda()(x.cuda()).cpu()
    # both may run tinygemm in bfloat16 (different kernels, different summation order)
    scale = float(want.abs().max())
    assert_close(
        got, want, rtol=2e-2, atol=1e-2 * scale, task=6, what="INT4 forward on CUDA vs CPU"
    )


INT4_KERNELS = {"aten::_weight_int4pack_mm_for_cpu", "aten::_weight_int4pack_mm"}


@pytest.mark.parametrize(
    ("in_features", "group_size"), [(256, 32), (384, 128), (512, 256), (1024, 64)]
)
def test_forward_matches_the_dequantized_weight(
    impl: ModuleType, in_features: int, group_size: int
) -> None:
    """Every shape the fused kernel takes: the codes, scales and zero points must be laid out
    for it exactly (a swapped nibble or a zero point used as an offset is far off)."""
    torch.manual_seed(in_features)
    layer = nn.Linear(in_features, 48)
    q = impl.quantize_int4_weight_only(layer, group_size=group_size)
    x = torch.randn(5, in_features) * 2 + 1
    with torch.no_grad():
        want = functional.linear(x, q.unpack_weight(), layer.bias)
        y = q(x)
    scale = float(want.abs().max())  # bfloat16 inside the kernel: 8 significant bits
    assert_close(y, want, rtol=2e-2, atol=1e-2 * scale, task=6,
                 what=f"INT4 forward, in {in_features}, group {group_size}")  # fmt: skip


def test_a_fused_int4_kernel_runs(impl: ModuleType) -> None:
    """Weight-only INT4 pays only with a kernel that reads the packed codes (tinygemm):
    unpacking to a float weight first reads and writes 8x the bytes it saves."""
    if impl.__name__.endswith(".baseline"):
        pytest.skip("the baseline unpacks by design (the slow reference): see solution.py")
    torch.manual_seed(3)
    q = impl.quantize_int4_weight_only(nn.Linear(256, 64), group_size=128)
    x = torch.randn(1, 256)
    q(x)  # the first call may re-lay out the weight
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        q(x)
    ran = {event.name for event in prof.events()}
    assert ran & INT4_KERNELS, (
        f"no INT4 kernel ran (ops: {sorted(n for n in ran if '::' in n)[:12]}); use "
        f"torch.ops.aten._weight_int4pack_mm_for_cpu on CPU (task 6)"
    )


def test_what_a_call_caches_follows_the_input_dtype_and_new_weights(impl: ModuleType) -> None:
    """A layer may prepare per input (device, dtype) - the kernel's weight layout, the bias in
    the kernel's dtype - but every input dtype gets its own answer in its own dtype, and new
    weights (``load_state_dict``) are used on the next call."""
    torch.manual_seed(4)
    first, second = nn.Linear(256, 32), nn.Linear(256, 32)
    q = impl.quantize_int4_weight_only(first, group_size=64)
    other = impl.quantize_int4_weight_only(second, group_size=64)
    x = torch.randn(3, 256)
    with torch.no_grad():
        want = functional.linear(x, q.unpack_weight(), first.bias)
        scale = float(want.abs().max())  # half precision inside and out: 8-11 significant bits
        for dtype in (torch.float32, torch.bfloat16, torch.float16, torch.float32):
            y = q(x.to(dtype))
            assert y.dtype == dtype, f"a {dtype} input gave a {y.dtype} output"
            assert_close(y.float(), want, rtol=3e-2, atol=2e-2 * scale, task=6,
                         what=f"INT4 forward on a {dtype} input after other dtypes")  # fmt: skip
        q.load_state_dict(other.state_dict())
        want = functional.linear(x, other.unpack_weight(), second.bias)
        assert_close(q(x), want, rtol=2e-2, atol=1e-2 * float(want.abs().max()), task=6,
                     what="INT4 forward after load_state_dict (stale cached weights?)")  # fmt: skip
