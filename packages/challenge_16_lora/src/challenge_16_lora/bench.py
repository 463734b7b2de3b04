"""``prep bench 16``: the adapter's cost, NF4's speed, and the fine-tuning comparison.

Timed workloads (every implementation, re-checked against an oracle on the timed result):

1. A LoRA Linear forward against the plain Linear (the ceiling: an adapter can only add work)
   and peft's LoRA layer on the same weights.
2. NF4 quantisation and 3. dequantisation of a weight matrix, with bitsandbytes as the library
   row where it is installed.
4. A QLoRA Linear forward (NF4 base + adapters) against the dense Linear it replaces.

Then ``report`` fine-tunes all-MiniLM-L6-v2 on the shipped intents three ways (LoRA on
query/value, full, head-only) and prints accuracy, trainable parameters, memory and step time,
and a table of NF4's round-trip error against INT4 on normal weights.

Sizes: on a GPU a 4096 x 4096 layer in bf16 and 2048 tokens; on a CPU 1024 x 1024 in fp32 and
256 tokens (the baseline's NF4 argmin builds a (numel, 16) matrix).
"""

from __future__ import annotations

import importlib
import statistics
import time
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import torch
from torch import Tensor, nn

from challenge_16_lora import intents, models
from challenge_16_lora.config import FinetuneMethod, TrainConfig
from challenge_16_lora.nf4_format import NF4Weight
from prep.bench import Precision, Row, Workload, implementations, lazy
from prep.device import best
from prep.testing import assert_close

PACKAGE = "challenge_16_lora"
RANK = 16
ALPHA = 32.0
BLOCK = 64


def _sizes(device: torch.device, quick: bool) -> tuple[int, int, torch.dtype]:
    """(features, tokens, dtype) for the device."""
    if device.type == "cuda":
        return (1024, 512, torch.bfloat16) if quick else (4096, 2048, torch.bfloat16)
    return (512, 128, torch.float32) if quick else (1024, 256, torch.float32)


def _bnb_functional() -> Any:
    try:
        return importlib.import_module("bitsandbytes.functional")
    except Exception:  # not installed, or no usable backend: the row is left out
        return None


def _peft_lora(base: nn.Linear, A: Tensor, B: Tensor) -> nn.Module:
    """peft's LoRA layer on a copy of ``base`` with the given adapters."""
    import peft

    holder = nn.Sequential()
    holder.add_module("proj", _clone_linear(base))
    config = peft.LoraConfig(
        r=RANK, lora_alpha=int(ALPHA), target_modules=["proj"], lora_dropout=0.0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adapted = peft.inject_adapter_in_model(config, holder)
    layer: Any = adapted.get_submodule("proj")
    with torch.no_grad():
        layer.lora_A["default"].weight.copy_(A)
        layer.lora_B["default"].weight.copy_(B)
    return adapted


def _clone_linear(base: nn.Linear) -> nn.Linear:
    out = nn.Linear(
        base.in_features, base.out_features, device=base.weight.device, dtype=base.weight.dtype
    )
    with torch.no_grad():
        out.weight.copy_(base.weight)
        out.bias.copy_(base.bias)
    return out.requires_grad_(False)


def _lora_workload(impls: dict[str, ModuleType], device: torch.device, quick: bool) -> Workload:
    features, tokens, dtype = _sizes(device, quick)
    torch.manual_seed(0)
    base = nn.Linear(features, features, device=device, dtype=dtype).requires_grad_(False)
    A = torch.randn(RANK, features, device=device, dtype=dtype) / features**0.5
    B = torch.randn(features, RANK, device=device, dtype=dtype) / RANK**0.5
    x = torch.randn(tokens, features, device=device, dtype=dtype)
    reference = _peft_lora(base, A, B)
    with torch.no_grad():
        expected = reference(x)

    def adapted(module: ModuleType, merged: bool) -> Callable[[], Callable[[], Tensor]]:
        def build() -> Callable[[], Tensor]:
            layer = module.LoRALinear(_clone_linear(base), RANK, ALPHA)
            with torch.no_grad():
                layer.lora_A.copy_(A)
                layer.lora_B.copy_(B)
            if merged:
                layer.merge()
            return torch.no_grad()(lambda: layer(x))

        return build

    candidates: dict[str, Callable[[], object]] = {
        "torch Linear (no adapter)": torch.no_grad()(lambda: base(x)),
        "peft LoRA": torch.no_grad()(lambda: reference(x)),
    }
    for name, module in impls.items():
        candidates[name] = lazy(adapted(module, merged=False))
    candidates["solution, merged"] = lazy(adapted(impls["solution"], merged=True))

    scale = float(expected.abs().max())

    def check(name: str, value: object) -> None:
        if name == "torch Linear (no adapter)":
            return
        # bf16 rounds each partial result (base output, adapter output, or merged W + dW) to 8
        # significant bits of its own magnitude: compare against the output's scale
        tol = 2e-2 if dtype == torch.bfloat16 else 1e-4
        assert_close(value, expected, rtol=tol, atol=tol * scale, task=1, what=f"{name} output")

    flops = 2.0 * tokens * features * features + 2.0 * tokens * RANK * 2 * features
    return Workload(
        name=f"LoRA Linear {features}x{features}, r={RANK}, {tokens} tokens",
        candidates=candidates,
        check=check,
        flops=flops,
        reference="peft LoRA",
        library="torch Linear (no adapter)",
        device=device,
        precision=Precision.BF16 if dtype == torch.bfloat16 else Precision.FP32,
        notes="the adapter's extra work is 2 * r * (in + out) per token; merged, it is none",
    )


def _nf4_workloads(
    impls: dict[str, ModuleType], device: torch.device, quick: bool
) -> list[Workload]:
    features, _, dtype = _sizes(device, quick)
    torch.manual_seed(1)
    w = torch.randn(features, features, device=device, dtype=dtype)
    n = w.numel()
    solution = impls["solution"]
    reference_q = solution.quantize_nf4(w, BLOCK)
    reference_w = solution.dequantize_nf4(reference_q)
    bnb = _bnb_functional()

    def check_q(name: str, value: object) -> None:
        if name == "bitsandbytes":
            return  # its own layout; its codes are compared in the tests
        assert isinstance(value, NF4Weight), f"{name} returned {type(value).__name__}"
        same = float((value.packed == reference_q.packed).float().mean())
        assert same > 0.9999, f"{name}: {same:.4%} of the packed bytes agree with the solution"

    def check_dq(name: str, value: object) -> None:
        tol = 2e-2 if dtype == torch.bfloat16 else 1e-6
        out = value.float() if isinstance(value, Tensor) else value
        atol = 5e-2 if name == "bitsandbytes" else tol  # int8 vs dynamic-code scales
        assert_close(
            out, reference_w.float(), rtol=tol, atol=atol, task=4, what=f"{name} dequantised"
        )

    def quantizer(module: ModuleType) -> Callable[[], Callable[[], object]]:
        return lambda: lambda: module.quantize_nf4(w, BLOCK)

    def dequantizer(module: ModuleType) -> Callable[[], Callable[[], object]]:
        def build() -> Callable[[], object]:
            q = module.quantize_nf4(w, BLOCK)  # the candidate reads its own format
            return lambda: module.dequantize_nf4(q)

        return build

    quantize = {name: lazy(quantizer(module)) for name, module in impls.items()}
    dequantize = {name: lazy(dequantizer(module)) for name, module in impls.items()}
    if bnb is not None:
        try:
            packed, state = bnb.quantize_4bit(
                w, blocksize=BLOCK, quant_type="nf4", compress_statistics=True
            )
            quantize["bitsandbytes"] = lambda: bnb.quantize_4bit(
                w, blocksize=BLOCK, quant_type="nf4", compress_statistics=True
            )
            dequantize["bitsandbytes"] = lambda: bnb.dequantize_4bit(packed, state)
        except Exception:  # a build without a backend for this device: no library row
            pass
    stored = reference_q.nbytes
    element = w.element_size()
    library = "bitsandbytes" if "bitsandbytes" in quantize else None
    return [
        Workload(
            name=f"NF4 quantise {features}x{features} {str(dtype).removeprefix('torch.')}, block {BLOCK}",
            candidates=quantize,
            check=check_q,
            bytes_moved=float(n * element + stored),
            reference="baseline",
            library=library,
            device=device,
            notes="double-quantised scales; GB/s counts the weight read and the NF4 bytes written",
        ),
        Workload(
            name=f"NF4 dequantise {features}x{features} to {str(dtype).removeprefix('torch.')}",
            candidates=dequantize,
            check=check_dq,
            bytes_moved=float(stored + n * element),
            reference="baseline",
            library=library,
            device=device,
            notes="GB/s counts the NF4 bytes read and the weight written",
        ),
    ]


def _qlora_workload(impls: dict[str, ModuleType], device: torch.device, quick: bool) -> Workload:
    features, tokens, dtype = _sizes(device, quick)
    torch.manual_seed(2)
    base = nn.Linear(features, features, device=device, dtype=dtype).requires_grad_(False)
    x = torch.randn(tokens, features, device=device, dtype=dtype)
    solution = impls["solution"]
    oracle = solution.QLoRALinear(base, RANK, ALPHA).to(device)
    with torch.no_grad():
        expected = oracle(x)

    def build(module: ModuleType) -> Callable[[], Callable[[], Tensor]]:
        def make() -> Callable[[], Tensor]:
            layer = module.QLoRALinear(base, RANK, ALPHA).to(device)
            return torch.no_grad()(lambda: layer(x))

        return make

    candidates: dict[str, Callable[[], object]] = {
        "torch Linear (dense)": torch.no_grad()(lambda: base(x))
    }
    for name, module in impls.items():
        candidates[name] = lazy(build(module))

    scale = float(expected.abs().max())

    def check(name: str, value: object) -> None:
        if name == "torch Linear (dense)":
            return
        tol = 2e-2 if dtype == torch.bfloat16 else 1e-4  # as in the LoRA workload
        assert_close(
            value, expected, rtol=tol, atol=tol * scale, task=4, what=f"{name} QLoRA output"
        )

    return Workload(
        name=f"QLoRA Linear {features}x{features} (NF4 base), r={RANK}, {tokens} tokens",
        candidates=candidates,
        check=check,
        flops=2.0 * tokens * features * features + 2.0 * tokens * RANK * 2 * features,
        reference="baseline",
        library="torch Linear (dense)",
        device=device,
        precision=Precision.BF16 if dtype == torch.bfloat16 else Precision.FP32,
        notes="the base weight is dequantised on every call: 0.52 bytes per weight stored, not 2 or 4",
    )


def workloads(quick: bool = False) -> list[Workload]:
    device = best()
    device = device if device.type == "cuda" else torch.device("cpu")
    impls = implementations(PACKAGE)
    return [
        _lora_workload(impls, device, quick),
        *_nf4_workloads(impls, device, quick),
        _qlora_workload(impls, device, quick),
    ]


# ----------------------------------------------------------------------------- report


def finetune_figures(quick: bool, device: torch.device | None = None) -> list[dict[str, Any]]:
    """Fine-tune all-MiniLM-L6-v2 on the intents three ways with the solution; one dict per
    method: accuracy, trainable and total parameters, peak memory, median step time."""
    from challenge_16_lora import solution

    device = device or (best() if best().type == "cuda" else torch.device("cpu"))
    split = intents.load_split()
    epochs = 1 if quick else 4
    out: list[dict[str, Any]] = []
    for method, lr in (
        (FinetuneMethod.LORA, 1e-3),
        (FinetuneMethod.FULL, 1e-4),
        (FinetuneMethod.HEAD_ONLY, 3e-3),
    ):
        model, tokenizer = models.minilm_classifier(len(split.classes))
        train = intents.make_batches(
            tokenizer, split.train_sentences, split.train_labels, 16, shuffle_seed=0
        )
        test = intents.make_batches(tokenizer, split.test_sentences, split.test_labels, 64)
        config = TrainConfig(epochs=epochs, lr=lr)
        model = solution.prepare_for_finetuning(model, method, config).to(device)
        steps = _StepClock(model, device)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        solution.train_classifier(model, train, config)
        peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
        steps.remove()
        trainable, total = solution.trainable_parameters(model)
        state = total * 4 + trainable * (4 + 8)  # fp32 weights + gradients + two Adam moments
        out.append({
            "method": method.value,
            "lr": lr,
            "epochs": epochs,
            "accuracy": solution.evaluate_accuracy(model, test),
            "trainable": trainable,
            "total": total,
            "peak_bytes": peak,
            "state_bytes": state,
            "step_s": steps.median(),
            "device": str(device),
        })  # fmt: skip
    return out


class _StepClock:
    """Median wall time between successive forward calls in training mode (one per step)."""

    def __init__(self, model: nn.Module, device: torch.device) -> None:
        self.device = device
        self.stamps: list[float] = []
        self.handle = model.register_forward_pre_hook(self._tick)

    def _tick(self, module: nn.Module, args: Any) -> None:
        if module.training:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.stamps.append(time.perf_counter())

    def remove(self) -> None:
        self.handle.remove()

    def median(self) -> float:
        gaps = [b - a for a, b in zip(self.stamps, self.stamps[1:], strict=False)]
        return statistics.median(gaps[1:]) if len(gaps) > 1 else float("nan")


def nf4_error_figures() -> list[dict[str, Any]]:
    """Round-trip MSE on N(0, 1) weights (1024 x 1024, block 64) and bits per weight."""
    from challenge_16_lora import solution

    torch.manual_seed(0)
    w = torch.randn(1024, 1024)
    blocks = w.reshape(-1, BLOCK)
    absmax = blocks.abs().amax(1, keepdim=True)
    int4_sym = torch.round(blocks / (absmax / 7)).clamp(-7, 7) * (absmax / 7)
    lo, hi = blocks.amin(1, keepdim=True), blocks.amax(1, keepdim=True)
    step = (hi - lo) / 15
    zero = torch.round(-lo / step)
    int4_asym = (torch.round(blocks / step).add(zero).clamp(0, 15) - zero) * step
    nf4 = solution.quantize_nf4(w, BLOCK, double_quant=False)
    nf4_dq = solution.quantize_nf4(w, BLOCK)

    def mse(x: Tensor) -> float:
        return float((x.reshape(w.shape) - w).square().mean())

    return [
        {
            "format": "NF4, fp32 absmax",
            "mse": mse(solution.dequantize_nf4(nf4)),
            "bits": nf4.bits_per_parameter,
        },
        {
            "format": "NF4, double-quantised absmax",
            "mse": mse(solution.dequantize_nf4(nf4_dq)),
            "bits": nf4_dq.bits_per_parameter,
        },
        {
            "format": "INT4 absmax (codes -7..7), fp32 scale",
            "mse": mse(int4_sym),
            "bits": 4 + 32 / BLOCK,
        },
        {
            "format": "INT4 min-max (0..15 + zero point), fp32 scale and zero",
            "mse": mse(int4_asym),
            "bits": 4 + 64 / BLOCK,
        },
    ]


def report(rows: list[Row], quick: bool) -> dict[str, Any]:
    """Print the fine-tuning and NF4 tables; return their figures for ``--json``."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=130)
    tuning = finetune_figures(quick)
    table = Table(
        title=f"all-MiniLM-L6-v2 on {len(intents.load_split().test_sentences)} held-out intents ({tuning[0]['device']}, {tuning[0]['epochs']} epochs, batch 16)",
        title_justify="left",
    )
    for column in (
        "method",
        "lr",
        "test accuracy",
        "trainable",
        "% trainable",
        "peak memory",
        "weights+grads+Adam",
        "step time",
    ):
        table.add_column(column, justify="left" if column == "method" else "right")
    for fig in tuning:
        peak = "" if fig["peak_bytes"] is None else f"{fig['peak_bytes'] / 2**20:.0f} MiB"
        table.add_row(
            fig["method"], f"{fig['lr']:g}", f"{fig['accuracy']:.1%}", f"{fig['trainable']:,}",
            f"{100 * fig['trainable'] / fig['total']:.2f}%", peak,
            f"{fig['state_bytes'] / 2**20:.0f} MiB", f"{1e3 * fig['step_s']:.1f} ms",
        )  # fmt: skip
    console.print(table)
    errors = nf4_error_figures()
    table = Table(
        title="4-bit formats on N(0, 1) weights, 1024 x 1024, block 64", title_justify="left"
    )
    for column in ("format", "round-trip MSE", "bits per weight"):
        table.add_column(column, justify="left" if column == "format" else "right")
    for fig in errors:
        table.add_row(fig["format"], f"{fig['mse']:.5f}", f"{fig['bits']:.3f}")
    console.print(table)
    return {"finetuning": tuning, "nf4_error": errors}
