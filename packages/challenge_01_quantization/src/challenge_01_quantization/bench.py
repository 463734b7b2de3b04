"""``prep bench 01``: speed, accuracy and size of INT8 / INT4 post-training quantization.

Timed workloads (ratios against fp32, the figure the targets are stated in):
1. one MiniLM feed-forward Linear (384 -> 1536) on 512 tokens: fp32, torch.ao's dynamic INT8,
   and each implementation's `QuantizedLinear` (dynamic);
2. all-MiniLM-L6-v2 on a batch of 32 sentences, every Linear in INT8: fp32, torch.ao dynamic
   per-tensor and per-channel, and each implementation's `quantize_model`;
3. INT4 weight-only at batch 1 (a decode step): fp32, INT8 dynamic, each implementation's
   `Int4WeightOnlyLinear`, and torch's tinygemm INT4 kernel (bf16) on the same codes.

``report`` then measures what the timings cannot show - embedding cosine to fp32 on the 221
shipped sentences (min, mean, nearest-neighbour agreement), quantized-layer size, the digits
MLP's accuracy for every scheme - and ``plot`` draws accuracy against bits and observer.
SmoothQuant's alpha is chosen on the 32 calibration sentences only (never on the 221).
"""

from __future__ import annotations

import copy
import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional

from challenge_01_quantization import digits, kernel_support, minilm
from challenge_01_quantization import solution as reference_impl
from challenge_01_quantization.config import ActivationMode, ObserverKind, QuantConfig
from prep.bench import Precision, Row, Workload, implementations, lazy

PACKAGE = "challenge_01_quantization"
FP32 = "fp32 (torch)"
ALPHAS = (0.5, 0.75, 0.9)  # SmoothQuant strengths tried on the calibration sentences
MINILM_BATCH = 32
GEMM_ONLY = "INT8 GEMM only (torch._int_mm)"
FP8_GEMM_ONLY = "FP8 GEMM only (torch._scaled_mm)"
BF16_CPU = "bf16 (torch)"
UNSMOOTHED = "solution, no smoothing"
TINYGEMM = "torch tinygemm INT4 (bf16)"


def _cpu_has_bf16() -> bool:
    """AVX512-BF16 or AMX-BF16: where a bf16 matmul is a fair float row beside INT8."""
    flags = kernel_support.cpu_flags() or frozenset()
    return bool({"avx512_bf16", "amx_bf16"} & flags)


def _bf16_note() -> str:
    if _cpu_has_bf16():
        return "bf16 row: AVX512-BF16/AMX on this CPU"
    return "no bf16 row: this CPU lacks AVX512-BF16 (bf16 would be emulated, slower than fp32)"


# ---------------------------------------------------------------------------------------------
# Shared, built once: the models and data every part of the bench uses.


@functools.cache
def _minilm() -> tuple[nn.Module, Any]:
    return minilm.load_minilm()


@functools.cache
def _calibration() -> list[dict[str, Tensor]]:
    _, tokenizer = _minilm()
    return [minilm.tokenize(tokenizer, minilm.calibration_sentences())]


def _sentences(quick: bool) -> list[str]:
    sentences = minilm.evaluation_sentences()
    return sentences[:64] if quick else sentences


@functools.cache
def _reference_embeddings(quick: bool) -> Tensor:
    model, tokenizer = _minilm()
    return minilm.embed_sentences(model, tokenizer, _sentences(quick))


@functools.cache
def _best_alpha() -> float:
    """The SmoothQuant alpha whose INT8 model best matches fp32 on the calibration sentences."""
    model, _ = _minilm()
    batch = _calibration()[0]
    reference = minilm.embed(model, batch)
    scores = {}
    for alpha in ALPHAS:
        quantized, _ = reference_impl.quantize_model(
            model, _calibration(), QuantConfig(smooth_alpha=alpha)
        )
        scores[alpha] = minilm.cosine_stats(reference, minilm.embed(quantized, batch))[0]
    return max(scores, key=scores.__getitem__)


def _config(**changes: Any) -> QuantConfig:
    return QuantConfig(smooth_alpha=_best_alpha(), **changes)


def _torch_dynamic(model: nn.Module, per_channel: bool) -> nn.Module:
    """torch.ao's eager dynamic quantization of every nn.Linear (the library row)."""
    from torch.ao.quantization import (
        default_dynamic_qconfig,
        per_channel_dynamic_qconfig,
        quantize_dynamic,
    )

    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's eager API warns that it is deprecated
        quantized: nn.Module = quantize_dynamic(model, {nn.Linear: qconfig}, dtype=torch.qint8)
    return quantized


@functools.cache
def _quantized_minilm(impl_name: str) -> tuple[nn.Module, Any]:
    """(model, report or None) for an implementation name or a torch.ao variant."""
    model, _ = _minilm()
    if impl_name == "torch.ao dynamic per-tensor":
        return _torch_dynamic(model, per_channel=False), None
    if impl_name == "torch.ao dynamic per-channel":
        return _torch_dynamic(model, per_channel=True), None
    if impl_name == UNSMOOTHED:
        return reference_impl.quantize_model(model, _calibration(), QuantConfig(smooth_alpha=None))
    module = implementations(PACKAGE)[impl_name]
    return module.quantize_model(model, _calibration(), _config())  # type: ignore[no-any-return]


def _applied(make_layer: Callable[[], Callable[[Tensor], Tensor]], x: Tensor) -> Callable[[], Any]:
    """A candidate that builds its layer on the first call, then applies it to ``x``."""

    def build() -> Callable[[], Tensor]:
        return functools.partial(make_layer(), x)

    return lazy(build)


def _embedder(name: str, batch: dict[str, Tensor]) -> Callable[[], Tensor]:
    return functools.partial(minilm.embed, _quantized_minilm(name)[0], batch)


# ---------------------------------------------------------------------------------------------
# Timed workloads


def _relative_error_check(expected: Tensor, limit: float) -> Callable[[str, object], None]:
    def check(name: str, value: object) -> None:
        assert isinstance(value, Tensor), f"{name} returned {type(value).__name__}"
        error = float((value.float() - expected).norm() / expected.norm())
        assert error <= limit, f"relative error {error:.4f} > {limit}"

    return check


def _linear_workload(impls: dict[str, ModuleType]) -> Workload:
    torch.manual_seed(0)
    layer = nn.Linear(384, 1536).eval().requires_grad_(False)
    x = torch.randn(512, 384)
    with torch.no_grad():
        expected = layer(x)
    candidates: dict[str, Callable[[], Any]] = {}
    candidates[FP32] = lambda: functional.linear(x, layer.weight, layer.bias)
    if _cpu_has_bf16():
        w16, b16, x16 = layer.weight.bfloat16(), layer.bias.bfloat16(), x.bfloat16()
        candidates[BF16_CPU] = lambda: functional.linear(x16, w16, b16)
    ao = _torch_dynamic(nn.Sequential(layer), per_channel=True)
    candidates["torch.ao dynamic per-channel"] = lambda: ao(x)
    for name, module in impls.items():
        candidates[name] = _applied(functools.partial(module.QuantizedLinear.from_float, layer), x)
    return Workload(
        name="Linear 384->1536, 512 tokens",
        candidates=candidates,
        check=_relative_error_check(expected, 0.03),  # INT8 rounding: ~1% here (torch.ao: 2%)
        flops=2.0 * 512 * 384 * 1536,
        reference=FP32,
        library="torch.ao dynamic per-channel",
        notes="INT8 dynamic (per-tensor activations, per-channel weights); fbgemm on CPU; "
        + _bf16_note()
        + "; weights (2.4 MB fp32, 0.6 MB INT8) stay in cache between calls",
    )


def _minilm_workload(impls: dict[str, ModuleType]) -> Workload:
    model, tokenizer = _minilm()
    batch = minilm.tokenize(tokenizer, minilm.evaluation_sentences()[:MINILM_BATCH])
    expected = minilm.embed(model, batch)

    def check(name: str, value: object) -> None:
        assert isinstance(value, Tensor), f"{name} returned {type(value).__name__}"
        mean, low = minilm.cosine_stats(expected, value)
        assert mean >= 0.9, f"embedding cosine to fp32: mean {mean:.3f}, min {low:.3f}"

    candidates: dict[str, Callable[[], Any]] = {FP32: lambda: minilm.embed(model, batch)}
    if _cpu_has_bf16():
        model16 = copy.deepcopy(model).bfloat16()
        candidates[BF16_CPU] = lambda: minilm.embed(model16, batch).float()
    names = ["torch.ao dynamic per-tensor", "torch.ao dynamic per-channel", *impls, UNSMOOTHED]
    for name in names:
        candidates[name] = lazy(functools.partial(_embedder, name, batch))
    tokens = int(batch["attention_mask"].sum())
    linear_params = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear))
    return Workload(
        name=f"MiniLM, {MINILM_BATCH} sentences ({tokens} tokens)",
        candidates=candidates,
        check=check,
        flops=2.0 * tokens * linear_params,  # the Linear layers' share (attention excluded)
        reference=FP32,
        library="torch.ao dynamic per-channel",
        notes=f"every Linear INT8; SmoothQuant alpha {_best_alpha()} (chosen on calibration "
        f"data); '{UNSMOOTHED}' times the cost of BERT's run-time 1/s multiply; " + _bf16_note(),
    )


def _int4_workload(impls: dict[str, ModuleType], out_features: int, in_features: int) -> Workload:
    torch.manual_seed(1)
    layer = nn.Linear(in_features, out_features).eval().requires_grad_(False)
    x = torch.randn(1, in_features)
    with torch.no_grad():
        expected = layer(x)
    candidates: dict[str, Callable[[], Any]] = {
        FP32: lambda: functional.linear(x, layer.weight, layer.bias)
    }
    int8 = reference_impl.QuantizedLinear.from_float(layer)
    candidates["INT8 dynamic (solution)"] = lambda: int8(x)
    for name, module in impls.items():
        candidates[name] = _applied(
            functools.partial(module.quantize_int4_weight_only, layer, 128), x
        )
    tinygemm = _tinygemm(layer, x)
    if tinygemm is not None:
        candidates[TINYGEMM] = tinygemm
    fp32_mb = out_features * in_features * 4 / 1e6
    resident = "all formats stay in cache" if fp32_mb < 8 else "fp32 does not fit in L2/L3"
    return Workload(
        name=f"INT4 weight-only {in_features}->{out_features}, batch 1",
        candidates=candidates,
        check=_relative_error_check(expected, 0.15),
        reference=FP32,
        library=TINYGEMM if tinygemm is not None else None,
        notes=f"group 128, asymmetric; weights {fp32_mb:.1f} MB fp32, {fp32_mb / 4:.1f} MB INT8, "
        f"{fp32_mb / 8 * 1.08:.2f} MB INT4: {resident}",
    )


def _tinygemm(layer: nn.Linear, x: Tensor) -> Callable[[], Tensor] | None:
    """torch's fused INT4 kernel (``_weight_int4pack_mm_for_cpu``) on the solution's codes:
    w = (q_u - 8) * scale + zero, with q_u = q + 8 and zero = -zero_point * scale."""
    op = getattr(torch.ops.aten, "_weight_int4pack_mm_for_cpu", None)
    if op is None:
        return None
    q = reference_impl.quantize_int4_weight_only(layer, 128)
    codes = reference_impl.unpack_int4(q.packed).to(torch.int32) + 8  # (out, in) in 0..15
    try:
        packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes, 1)
    except RuntimeError:
        return None
    zeros = -q.zero_points.float() * q.scales
    scales_zeros = (
        torch.stack([q.scales.t(), zeros.t()], dim=-1).contiguous().to(torch.bfloat16)
    )  # (G, out, 2)
    bias = layer.bias.detach().to(torch.bfloat16)
    x_bf16 = x.to(torch.bfloat16)

    def call() -> Tensor:
        return (op(x_bf16, packed, 128, scales_zeros) + bias).float()  # type: ignore[no-any-return]

    return call


def _torchao_rows(layer: nn.Linear, cuda: torch.device) -> dict[str, nn.Module]:
    """torchao 0.18's dynamic INT8 and FP8 (row-wise) layers, where torchao is installed."""
    try:
        from torchao.quantization import (  # type: ignore[import-not-found,unused-ignore]
            Float8DynamicActivationFloat8WeightConfig,
            Int8DynamicActivationInt8WeightConfig,
            PerRow,
            quantize_,
        )
    except ImportError:
        return {}
    out: dict[str, nn.Module] = {}
    configs = {
        TORCHAO_INT8: Int8DynamicActivationInt8WeightConfig(),
        TORCHAO_FP8: Float8DynamicActivationFloat8WeightConfig(granularity=PerRow()),
    }
    for name, config in configs.items():
        model = nn.Sequential(copy.deepcopy(layer)).to(cuda, torch.bfloat16)
        try:
            quantize_(model, config)
        except Exception as exc:  # a library row that cannot be built is reported, not fatal
            warnings.warn(f"{name}: {type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=2)
            continue
        out[name] = model
    return out


TORCHAO_INT8 = "torchao int8_dynamic_activation_int8_weight"
TORCHAO_FP8 = "torchao float8_dynamic_activation_float8_weight (per row)"
FP16 = "fp16 (torch)"
BF16 = "bf16 (torch)"
INT8_SOLUTION = "solution INT8 (fused W8A8)"
FP8_SOLUTION = "solution FP8 (Float8Linear)"


def _cuda_linear_workload(impls: dict[str, ModuleType], tokens: int, size: int) -> Workload:
    """A prefill-sized GEMM on the GPU: fp16/bf16 cuBLAS against the dynamic INT8 and FP8
    layers (bf16 activations in and out), the bare INT8/FP8 GEMMs and torchao's layers."""
    cuda = torch.device("cuda")
    torch.manual_seed(2)
    layer = nn.Linear(size, size).eval().requires_grad_(False)
    x = torch.randn(tokens, size, device=cuda)
    gpu_layer = copy.deepcopy(layer).to(cuda)
    with torch.no_grad():
        expected = gpu_layer(x)
    w16, b16, x16 = gpu_layer.weight.half(), gpu_layer.bias.half(), x.half()
    wb, bb, xb = gpu_layer.weight.bfloat16(), gpu_layer.bias.bfloat16(), x.bfloat16()
    candidates: dict[str, Callable[[], Any]] = {
        FP16: lambda: functional.linear(x16, w16, b16),
        BF16: lambda: functional.linear(xb, wb, bb),
    }

    def on_gpu(make: Callable[[nn.Linear], nn.Module]) -> Callable[[Tensor], Tensor]:
        quantized: Callable[[Tensor], Tensor] = make(layer).to(cuda)
        return quantized

    for name, module in impls.items():
        label = INT8_SOLUTION if name == "solution" else f"{name} INT8"
        candidates[label] = _applied(
            functools.partial(on_gpu, module.QuantizedLinear.from_float), xb
        )
    fp8 = reference_impl.Float8Linear.from_float(layer).to(cuda)
    candidates[FP8_SOLUTION] = lambda: fp8(xb)
    for name, model in _torchao_rows(layer, cuda).items():
        candidates[name] = functools.partial(model, xb)
    # The GEMMs alone, on codes made beforehand: the kernels' own speed.
    codes_x = torch.randint(-127, 128, (tokens, size), dtype=torch.int8, device=cuda)
    codes_w = torch.randint(-127, 128, (size, size), dtype=torch.int8, device=cuda).t()
    candidates[GEMM_ONLY] = lambda: torch._int_mm(codes_x, codes_w)
    fp8_x = torch.randn(tokens, size, device=cuda).to(torch.float8_e4m3fn)
    fp8_w = torch.randn(size, size, device=cuda).to(torch.float8_e4m3fn).t()
    one = torch.ones((), device=cuda)
    candidates[FP8_GEMM_ONLY] = lambda: torch._scaled_mm(
        fp8_x, fp8_w, scale_a=one, scale_b=one, out_dtype=torch.bfloat16, use_fast_accum=True
    )
    accuracy = _relative_error_check(expected, 0.06)  # FP8: 3 mantissa bits, ~4% here

    def check(name: str, value: object) -> None:
        if name not in (GEMM_ONLY, FP8_GEMM_ONLY):  # random codes: only the time counts
            accuracy(name, value)

    return Workload(
        name=f"CUDA Linear {size}->{size}, {tokens} tokens",
        candidates=candidates,
        check=check,
        flops=2.0 * tokens * size * size,
        reference=FP16,
        device=cuda,
        precision=Precision.FP16,
        library=FP16,
        notes="dynamic per-token activations; our rows and torchao's take and return bf16; "
        "torchao runs eagerly (not compiled); % of peak is of the fp16 tensor-core peak "
        "(INT8's and FP8's are twice that)",
    )


def _cuda_int4_workload(impls: dict[str, ModuleType], size: int) -> Workload:
    """A decode step (batch 1) on the GPU: bf16 cuBLAS GEMV against weight-only INT4."""
    cuda = torch.device("cuda")
    torch.manual_seed(3)
    layer = nn.Linear(size, size).eval().requires_grad_(False)
    x = torch.randn(1, size, device=cuda)
    gpu_layer = copy.deepcopy(layer).to(cuda)
    with torch.no_grad():
        expected = gpu_layer(x)
    wb, bb, xb = gpu_layer.weight.bfloat16(), gpu_layer.bias.bfloat16(), x.bfloat16()
    w16, b16, x16 = gpu_layer.weight.half(), gpu_layer.bias.half(), x.half()
    candidates: dict[str, Callable[[], Any]] = {
        FP16: lambda: functional.linear(x16, w16, b16),
        BF16: lambda: functional.linear(xb, wb, bb),
    }

    def on_gpu(module: ModuleType) -> Callable[[Tensor], Tensor]:
        quantized: Callable[[Tensor], Tensor] = module.quantize_int4_weight_only(layer, 128)
        return quantized.to(cuda)  # type: ignore[attr-defined,no-any-return]

    for name, module in impls.items():
        candidates[name] = _applied(functools.partial(on_gpu, module), xb)
    q = reference_impl.quantize_int4_weight_only(layer, 128)
    swapped = ((q.packed & 0x0F) << 4) | (q.packed >> 4)  # tinygemm: element 2i high
    packed = torch.ops.aten._convert_weight_to_int4pack(swapped.to(cuda), 8)
    zeros = -q.zero_points.float() * q.scales
    pairs = torch.stack([q.scales.t(), zeros.t()], dim=-1).to(cuda, torch.bfloat16).contiguous()
    bias = gpu_layer.bias.bfloat16()
    candidates[TINYGEMM] = lambda: torch.ops.aten._weight_int4pack_mm(xb, packed, 128, pairs) + bias
    return Workload(
        name=f"CUDA INT4 weight-only {size}->{size}, batch 1",
        candidates=candidates,
        check=_relative_error_check(expected, 0.15),
        bytes_moved=size * size * (0.5 + 4 / 128),  # INT4 codes + bf16 (scale, zero) per group
        reference=BF16,
        device=cuda,
        library=TINYGEMM,
        notes="group 128; GB/s counts the INT4 weight bytes (bf16 reads 4x as many)",
    )


def _cuda_minilm_workload(impls: dict[str, ModuleType]) -> Workload:
    """MiniLM on the GPU, batch 32: fp32 and fp16 against the INT8 and FP8 models."""
    cuda = torch.device("cuda")
    model, tokenizer = _minilm()
    batch = {k: v.to(cuda) for k, v in minilm.tokenize(
        tokenizer, minilm.evaluation_sentences()[:MINILM_BATCH]).items()}  # fmt: skip
    fp32 = copy.deepcopy(model).to(cuda)
    fp16 = copy.deepcopy(model).to(cuda).half()
    expected = minilm.embed(fp32, batch)
    int8 = _gpu_int8_minilm()
    fp8 = _fp8_minilm().to(cuda)

    def check(name: str, value: object) -> None:
        assert isinstance(value, Tensor), f"{name} returned {type(value).__name__}"
        mean, low = minilm.cosine_stats(expected, value.float())
        assert mean >= 0.98, f"embedding cosine to fp32: mean {mean:.3f}, min {low:.3f}"

    candidates: dict[str, Callable[[], Any]] = {
        "fp32 (torch)": lambda: minilm.embed(fp32, batch),
        FP16: lambda: minilm.embed(fp16, batch),
        INT8_SOLUTION: lambda: minilm.embed(int8, batch),
        FP8_SOLUTION: lambda: minilm.embed(fp8, batch),
    }
    tokens = int(batch["attention_mask"].sum())
    return Workload(
        name=f"CUDA MiniLM, {MINILM_BATCH} sentences ({tokens} tokens)",
        candidates=candidates,
        check=check,
        reference=FP16,
        device=cuda,
        notes="fp32 activations between layers for INT8/FP8 (the model is float32 outside its "
        "Linears); at 409 tokens every GEMM is small: launch overhead, not arithmetic",
    )


@functools.cache
def _gpu_int8_minilm() -> nn.Module:
    """The solution's INT8 MiniLM (quantized on the CPU, then moved) for the GPU rows."""
    model, _ = _minilm()
    quantized, _ = reference_impl.quantize_model(model, _calibration(), _config())
    return quantized.to(torch.device("cuda"))


@functools.cache
def _fp8_minilm() -> nn.Module:
    """MiniLM with every Linear replaced by the solution's Float8Linear (no calibration)."""
    model, _ = _minilm()
    out = copy.deepcopy(model)
    for name, module in list(out.named_modules()):
        if isinstance(module, nn.Linear):
            parent, _, child = name.rpartition(".")
            setattr(out.get_submodule(parent) if parent else out, child,
                    reference_impl.Float8Linear.from_float(module))  # fmt: skip
    return out.eval()


def gpu_workloads(impls: dict[str, ModuleType], quick: bool = False) -> list[Workload]:
    """The CUDA workloads (empty without a GPU)."""
    if not torch.cuda.is_available():
        return []
    sizes = [(4096, 4096)] if quick else [(4096, 4096), (8192, 8192)]
    out = [_cuda_linear_workload(impls, tokens=t, size=n) for t, n in sizes]
    out += [_cuda_int4_workload(impls, n) for n in ((4096,) if quick else (4096, 8192))]
    out.append(_cuda_minilm_workload(impls))
    return out


def workloads(quick: bool = False) -> list[Workload]:
    impls = implementations(PACKAGE)
    out = [_linear_workload(impls), _minilm_workload(impls), _int4_workload(impls, 1536, 384)]
    if not quick:
        out.append(_int4_workload(impls, 4096, 4096))
    return out + gpu_workloads(impls, quick)


def gpu_accuracy(quick: bool = False) -> list[MiniLMFigures]:
    """MiniLM's INT8 (solution) and FP8 embeddings on the GPU against fp32 on the GPU."""
    cuda = torch.device("cuda")
    model, tokenizer = _minilm()
    sentences = _sentences(quick)
    reference = minilm.embed_sentences(copy.deepcopy(model).to(cuda), tokenizer, sentences)
    rows = []
    models = {
        "fp16": copy.deepcopy(model).to(cuda).half(),
        "solution INT8 (per-token dynamic, CUDA)": _gpu_int8_minilm(),
        "solution FP8 E4M3 (per-token dynamic)": _fp8_minilm().to(cuda),
    }
    for name, quantized in models.items():
        embedded = minilm.embed_sentences(quantized, tokenizer, sentences).float()
        mean, low = minilm.cosine_stats(reference.float(), embedded)
        agreement = minilm.top1_agreement(reference.float(), embedded)
        rows.append(MiniLMFigures(name, mean, low, agreement, None))
    return rows


# ---------------------------------------------------------------------------------------------
# Accuracy, size and the plot


@dataclass(frozen=True)
class MiniLMFigures:
    """One quantized MiniLM against fp32 on the evaluation sentences."""

    method: str
    cosine_mean: float
    cosine_min: float
    top1_agreement: float
    size_ratio: float | None  # quantized-layer bytes / float bytes (None: not reported)


def _minilm_figures(
    name: str, model: nn.Module, size_ratio: float | None, quick: bool
) -> MiniLMFigures:
    _, tokenizer = _minilm()
    reference = _reference_embeddings(quick)
    embedded = minilm.embed_sentences(model, tokenizer, _sentences(quick))
    mean, low = minilm.cosine_stats(reference, embedded)
    return MiniLMFigures(name, mean, low, minilm.top1_agreement(reference, embedded), size_ratio)


def _weight_fake_quant(model: nn.Module, bits: int) -> nn.Module:
    """A copy with every Linear weight rounded to ``bits`` per output channel (activations
    float): the accuracy cost of the weight bits alone."""
    out = copy.deepcopy(model)
    with torch.no_grad():
        for module in out.modules():
            if isinstance(module, nn.Linear):
                w = module.weight
                scale, zero = reference_impl.compute_qparams(
                    w.amin(1), w.amax(1), bits=bits, symmetric=True
                )
                codes = reference_impl.quantize(w, scale, zero, bits=bits, axis=0)
                w.copy_(reference_impl.dequantize(codes, scale, zero, axis=0))
    return out


def _int4_model(model: nn.Module, group_size: int | None) -> nn.Module:
    """Every Linear as INT4 weight-only, asymmetric, in groups of ``group_size`` inputs (None:
    one group per output row, i.e. per channel)."""
    out = copy.deepcopy(model)
    for name, module in list(out.named_modules()):
        group = (
            module.in_features
            if isinstance(module, nn.Linear) and group_size is None
            else group_size
        )
        if isinstance(module, nn.Linear) and group and module.in_features % group == 0:
            parent, _, child = name.rpartition(".")
            setattr(out.get_submodule(parent) if parent else out, child,
                    reference_impl.quantize_int4_weight_only(module, group))  # fmt: skip
    return out


@functools.cache
def _accuracy_figures(quick: bool) -> dict[str, Any]:
    """Every accuracy figure of the report and the plot (computed once)."""
    model, _ = _minilm()
    rows: list[MiniLMFigures] = []
    impls = implementations(PACKAGE)
    for name in (
        "torch.ao dynamic per-tensor",
        "torch.ao dynamic per-channel",
        "baseline",
        "solution",
    ):
        try:
            quantized, report = _quantized_minilm(name)
        except NotImplementedError:
            continue
        ratio = None if report is None else report.quantized_size_ratio
        rows.append(_minilm_figures(name, quantized, ratio, quick))
    variants = {
        "solution, no smoothing": QuantConfig(smooth_alpha=None),
        "solution, static min-max": _config(activations=ActivationMode.STATIC),
        "solution, static p99.99": _config(activations=ActivationMode.STATIC, observer=ObserverKind.PERCENTILE),
        "solution, static MSE": _config(activations=ActivationMode.STATIC, observer=ObserverKind.MSE),
    }  # fmt: skip
    for label, config in variants.items():
        quantized, report = impls["solution"].quantize_model(model, _calibration(), config)
        rows.append(_minilm_figures(label, quantized, report.quantized_size_ratio, quick))
    bits_sweep = {
        bits: _minilm_figures(
            f"W{bits} per channel, float acts", _weight_fake_quant(model, bits), None, quick
        )
        for bits in (8, 6, 4)
    }
    int4 = _minilm_figures("INT4 weight-only, group 128", _int4_model(model, 128), None, quick)
    int4_row = _minilm_figures(
        "INT4 weight-only, per channel (asymmetric)", _int4_model(model, None), None, quick
    )

    data = digits.load_digits_split()
    mlp = digits.train_digits_mlp(data)
    calib = [data.x_train[:512], data.x_train[512:1024]]

    def acc(m: nn.Module) -> float:
        return digits.accuracy(m, data.x_test, data.y_test)

    digit_rows = {
        "fp32": acc(mlp),
        "INT8 dynamic": acc(reference_impl.quantize_model(mlp, calib)[0]),
    }
    for kind in ObserverKind:
        config = QuantConfig(activations=ActivationMode.STATIC, observer=kind)
        digit_rows[f"INT8 static {kind.value}"] = acc(
            reference_impl.quantize_model(mlp, calib, config)[0]
        )
    digit_rows["INT4 weight-only, group 32"] = acc(_int4_model(mlp, 32))
    digit_bits = {bits: acc(_weight_fake_quant(mlp, bits)) for bits in (8, 6, 4, 3, 2)}
    return {
        "minilm": rows,
        "minilm_bits": bits_sweep,
        "minilm_int4": int4,
        "minilm_int4_per_channel": int4_row,
        "batch_dependence": _batch_dependence(),
        "digits": digit_rows,
        "digits_bits": digit_bits,
        "sentences": len(_sentences(quick)),
    }


def _batch_dependence() -> tuple[float, float]:
    """(mean, min) cosine between each of the first 32 sentences embedded alone and within
    its batch of 32 by the solution's INT8 model: per-tensor dynamic activation ranges make a
    sentence's embedding depend on its batch-mates (1.0 would mean no dependence)."""
    _, tokenizer = _minilm()
    quantized = _quantized_minilm("solution")[0]
    sentences = minilm.evaluation_sentences()[:MINILM_BATCH]
    together = minilm.embed(quantized, minilm.tokenize(tokenizer, sentences))
    alone = torch.cat([minilm.embed(quantized, minilm.tokenize(tokenizer, [s])) for s in sentences])
    return minilm.cosine_stats(together, alone)


def _speedups(rows: list[Row]) -> dict[str, float]:
    """Speed-up over fp32 of each candidate on the MiniLM workload."""
    minilm_rows = [r for r in rows if r.workload.startswith("MiniLM") and r.timing is not None]
    fp32 = next((r.timing.median for r in minilm_rows if r.candidate == FP32 and r.timing), None)
    if fp32 is None:
        return {}
    return {r.candidate: fp32 / r.timing.median for r in minilm_rows if r.timing is not None}


def _targets(figures: dict[str, Any], speed: dict[str, float]) -> dict[str, bool]:
    """The challenge's targets (see the README), each with the measured value in its text."""
    solution = next((f for f in figures["minilm"] if f.method == "solution"), None)
    digits_fp32 = figures["digits"]["fp32"]
    digits_int8 = figures["digits"]["INT8 static minmax"]
    out: dict[str, bool] = {}
    if solution is not None:
        out[f"MiniLM cosine mean {solution.cosine_mean:.4f} >= 0.99"] = solution.cosine_mean >= 0.99
        out[f"MiniLM cosine min {solution.cosine_min:.4f} >= 0.98"] = solution.cosine_min >= 0.98
        ratio = solution.size_ratio or 1.0
        out[f"quantized-layer size {ratio:.3f}x <= 0.3x"] = ratio <= 0.3
        if "solution" in speed:
            out[f"speed-up over fp32 at batch 32 {speed['solution']:.2f}x >= 1.25x"] = (
                speed["solution"] >= 1.25
            )
    drop = 100 * (digits_fp32 - digits_int8)
    out[f"digits INT8 static accuracy drop {drop:.2f} points <= 1"] = drop <= 1.0
    return out


def report(rows: list[Row], quick: bool) -> dict[str, Any]:
    """Print the accuracy and size tables; return their figures for ``--json``."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=120)  # piped into a file: keep the rows on one line each
    figures = _accuracy_figures(quick)
    speed = _speedups(rows)
    title = (
        f"all-MiniLM-L6-v2, every Linear INT8 unless noted, vs fp32 on {figures['sentences']} "
        f"sentences (SmoothQuant alpha {_best_alpha()})"
    )
    table = Table(title=title, title_justify="left")
    for column in ("method", "cosine mean", "cosine min", "top-1 same", "size vs fp32", "speed-up"):
        table.add_column(column, justify="left" if column == "method" else "right")
    int4_rows = [figures["minilm_int4_per_channel"], figures["minilm_int4"]]
    for fig in [*figures["minilm"], *figures["minilm_bits"].values(), *int4_rows]:
        table.add_row(
            fig.method,
            f"{fig.cosine_mean:.4f}",
            f"{fig.cosine_min:.4f}",
            f"{fig.top1_agreement:.1%}",
            "" if fig.size_ratio is None else f"{fig.size_ratio:.3f}x",
            f"{speed[fig.method]:.2f}x" if fig.method in speed else "",
        )
    console.print(table)
    console.print(
        "[dim]size: bytes of the quantized Linear layers / their fp32 bytes; speed-up: the MiniLM "
        "batch-32 workload above, fp32 median / median; top-1 same: nearest other sentence unchanged[/]"
    )
    mean_cos, min_cos = figures["batch_dependence"]
    console.print(
        f"batch dependence (solution, CPU per-tensor dynamic): cosine between a sentence "
        f"embedded alone and within its batch of {MINILM_BATCH}: mean {mean_cos:.4f}, "
        f"min {min_cos:.4f}"
    )
    digits_table = Table(title="digits MLP (64-64-64-10) test accuracy", title_justify="left")
    digits_table.add_column("scheme")
    digits_table.add_column("accuracy", justify="right")
    for name, value in figures["digits"].items():
        digits_table.add_row(name, f"{value:.2%}")
    for bits, value in figures["digits_bits"].items():
        digits_table.add_row(f"weights {bits}-bit per channel, float activations", f"{value:.2%}")
    console.print(digits_table)
    targets = _targets(figures, speed)
    for line, met in targets.items():
        console.print(f"{'[green]met[/]' if met else '[red]NOT met[/]'}  {line}")
    return {
        "targets": targets,
        "minilm": [vars(f) for f in figures["minilm"]],
        "minilm_weight_bits": {b: vars(f) for b, f in figures["minilm_bits"].items()},
        "minilm_int4": vars(figures["minilm_int4"]),
        "minilm_int4_per_channel": vars(figures["minilm_int4_per_channel"]),
        "batch_dependence_cosine_mean_min": figures["batch_dependence"],
        "minilm_speedup_vs_fp32": speed,
        "smoothquant_alpha": _best_alpha(),
        "digits_accuracy": figures["digits"],
        "digits_weight_bits": figures["digits_bits"],
    }


def plot(rows: list[Row], path: Path, quick: bool) -> None:
    """Accuracy against weight bits (MiniLM cosine, digits accuracy) and against observer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = _accuracy_figures(quick)
    fig, (bits_ax, digits_ax, obs_ax) = plt.subplots(1, 3, figsize=(15, 4.2))
    bits = sorted(figures["minilm_bits"], reverse=True)
    bits_ax.plot(bits, [figures["minilm_bits"][b].cosine_mean for b in bits], "o-", label="mean")
    bits_ax.plot(bits, [figures["minilm_bits"][b].cosine_min for b in bits], "s--", label="min")
    int4 = figures["minilm_int4"]
    bits_ax.plot([4], [int4.cosine_mean], "r*", markersize=12, label="INT4 group 128 (mean)")
    bits_ax.set(title="MiniLM: cosine to fp32 vs weight bits", xlabel="weight bits (per channel)",
                ylabel="cosine similarity")  # fmt: skip
    bits_ax.set_xticks(bits)
    bits_ax.invert_xaxis()
    bits_ax.legend()
    dbits = sorted(figures["digits_bits"], reverse=True)
    digits_ax.plot(dbits, [100 * figures["digits_bits"][b] for b in dbits], "o-")
    digits_ax.axhline(100 * figures["digits"]["fp32"], color="gray", linestyle=":", label="fp32")
    digits_ax.set(title="digits MLP: accuracy vs weight bits", xlabel="weight bits (per channel)",
                  ylabel="test accuracy (%)")  # fmt: skip
    digits_ax.set_xticks(dbits)
    digits_ax.invert_xaxis()
    digits_ax.legend()
    static = [f for f in figures["minilm"] if f.method.startswith("solution")]
    labels = [
        f.method.replace("solution, ", "") if "," in f.method else f"dynamic, alpha {_best_alpha()}"
        for f in static
    ]
    obs_ax.bar(range(len(static)), [f.cosine_mean for f in static])
    obs_ax.set_xticks(range(len(static)), labels, rotation=30, ha="right", fontsize=7)
    low = min(f.cosine_mean for f in static)
    obs_ax.set_ylim(min(0.98, low - 0.005), 1.0)
    obs_ax.set(title="MiniLM INT8: cosine vs observer / smoothing", ylabel="mean cosine to fp32")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
