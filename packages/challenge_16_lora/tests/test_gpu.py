"""The same contracts on a CUDA device: LoRA in bf16, NF4 on the GPU (and against bitsandbytes'
CUDA kernels where it is installed), QLoRALinear with a bf16 compute dtype."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch
from torch import nn

from prep.testing import assert_close

pytestmark = pytest.mark.gpu


@pytest.mark.task(1)
def test_lora_linear_on_cuda_in_bf16(impl: ModuleType) -> None:
    torch.manual_seed(0)
    base = nn.Linear(256, 128).cuda().to(torch.bfloat16)
    layer = impl.LoRALinear(base, r=8, alpha=16.0)
    assert layer.lora_A.device.type == "cuda"
    assert layer.lora_A.dtype == torch.bfloat16
    with torch.no_grad():
        layer.lora_B.copy_(torch.randn_like(layer.lora_B))
    x = torch.randn(4, 32, 256, device="cuda", dtype=torch.bfloat16)
    x64, A, B = x.double(), layer.lora_A.double(), layer.lora_B.double()
    expected = x64 @ base.weight.double().T + base.bias.double() + 2.0 * (x64 @ A.T) @ B.T
    with torch.no_grad():
        # bf16 (8 significant bits) products summed over 256 inputs in fp32
        assert_close(
            layer(x), expected, rtol=2e-2, atol=5e-2, task=1, what="bf16 LoRALinear on CUDA"
        )
        before = layer(x).float()
        layer.merge()
        # merging rounds W + dW to bf16 once more
        assert_close(layer(x).float(), before, rtol=2e-2, atol=5e-2, task=1, what="merged bf16")


@pytest.mark.task(4)
def test_nf4_on_cuda_equals_cpu(impl: ModuleType) -> None:
    torch.manual_seed(1)
    w = torch.randn(256, 512)
    cpu = impl.quantize_nf4(w, 64)
    gpu = impl.quantize_nf4(w.cuda(), 64)
    assert gpu.packed.device.type == "cuda"
    assert torch.equal(gpu.packed.cpu(), cpu.packed)
    assert torch.equal(gpu.absmax.cpu(), cpu.absmax)
    assert_close(
        impl.dequantize_nf4(gpu),
        impl.dequantize_nf4(cpu),
        rtol=1e-6,
        atol=1e-7,
        task=4,
        what="CUDA vs CPU",
    )


@pytest.mark.task(4)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_nf4_matches_bitsandbytes_cuda_kernels(impl: ModuleType, dtype: torch.dtype) -> None:
    functional = pytest.importorskip(
        "bitsandbytes.functional", reason="bitsandbytes is not installed on this GPU machine"
    )
    torch.manual_seed(2)
    w = torch.randn(1024, 1024, device="cuda", dtype=dtype)
    ours = impl.quantize_nf4(w, 64, double_quant=False)
    packed, state = functional.quantize_4bit(
        w, blocksize=64, quant_type="nf4", compress_statistics=False
    )
    same = float((ours.packed == packed.flatten()).float().mean())
    # bf16 inputs: a value within an ulp of a midpoint may round the other way in either kernel
    assert same > (0.9999 if dtype == torch.bfloat16 else 0.999999), f"{same:.6%} of bytes equal"
    theirs = functional.dequantize_4bit(packed, state)
    assert_close(
        impl.dequantize_nf4(ours).float(),
        theirs.float(),
        rtol=2e-2,
        atol=1e-2,
        task=4,
        what="vs bitsandbytes CUDA",
    )


@pytest.mark.task(4)
def test_qlora_forward_in_bf16_on_cuda(impl: ModuleType) -> None:
    torch.manual_seed(3)
    base = nn.Linear(512, 256).cuda()
    layer = impl.QLoRALinear(base, 8, 16.0).cuda()
    with torch.no_grad():
        layer.lora_B.copy_(torch.randn_like(layer.lora_B) * 0.1)
    x = torch.randn(8, 512, device="cuda")
    w = impl.dequantize_nf4(layer.quantized_weight(), torch.float64)
    A, B = layer.lora_A.double(), layer.lora_B.double()
    expected = x.double() @ w.T + base.bias.double() + 2.0 * (x.double() @ A.T) @ B.T
    with torch.no_grad():
        out = layer(x.to(torch.bfloat16))
    assert out.dtype == torch.bfloat16
    # x, the dequantised weight and the adapters rounded to bf16, fp32 accumulation over 512
    assert_close(out, expected, rtol=3e-2, atol=1e-1, task=4, what="bf16 QLoRALinear on CUDA")
