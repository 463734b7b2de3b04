"""Baseline: the direct transcription of the formulas, obviously correct and not fast.

- ``LoRALinear`` adds the dense update ``x (s B A)^T``: it materialises the (out, in) matrix
  ``s B A`` on every call (O(in * out * r) work and a weight-sized temporary).
- ``quantize_nf4`` builds the (numel, 16) matrix of distances to every code and takes the
  argmin; ``dequantize_nf4`` unpacks the nibbles, interleaves them and looks each up.
- ``QLoRALinear`` dequantises to float32 and casts, holding a float32 copy of its weight.

Injection (with the class above), merging, the parameter report and the training loop are the solution's (there is
nothing simpler to write), imported from it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional

from challenge_16_lora import solution
from challenge_16_lora.config import FinetuneMethod, TrainConfig
from challenge_16_lora.nf4_format import DOUBLE_QUANT_BLOCK, DOUBLE_QUANT_QMAX, NF4Weight
from challenge_16_lora.solution import (
    evaluate_accuracy,
    nf4_codebook,
    train_classifier,
    trainable_parameters,
)

__all__ = [
    "LoRALinear",
    "QLoRALinear",
    "dequantize_nf4",
    "evaluate_accuracy",
    "inject_lora",
    "merge_and_unload",
    "nf4_codebook",
    "prepare_for_finetuning",
    "quantize_nf4",
    "train_classifier",
    "trainable_parameters",
]


class LoRALinear(solution.LoRALinear):
    """The solution's adapter with the dense update in ``forward``."""

    def forward(self, x: Tensor) -> Tensor:
        y: Tensor = self.base(x)  # (..., out)
        if self.merged:
            return y
        return y + functional.linear(self.dropout(x), self.delta_weight())  # (..., out)


def inject_lora(
    model: nn.Module,
    target_modules: str | Sequence[str],
    r: int,
    alpha: float,
    dropout: float = 0.0,
    *,
    modules_to_save: Sequence[str] = (),
) -> nn.Module:
    return solution._inject(model, target_modules, r, alpha, dropout, modules_to_save, LoRALinear)


def merge_and_unload(model: nn.Module) -> nn.Module:
    return solution.merge_and_unload(model)


def prepare_for_finetuning(
    model: nn.Module, method: FinetuneMethod, config: TrainConfig
) -> nn.Module:
    return solution.prepare_for_finetuning(model, method, config)


def quantize_nf4(weight: Tensor, block_size: int = 64, *, double_quant: bool = True) -> NF4Weight:
    if not isinstance(weight, Tensor) or not weight.is_floating_point():
        raise TypeError(
            f"weight must be a floating-point tensor, got {getattr(weight, 'dtype', type(weight))}"
        )
    solution._check_block_size(block_size)
    if weight.numel() == 0 or weight.numel() % block_size:
        raise ValueError(
            f"weight has {weight.numel()} elements: block_size {block_size} must divide it"
        )
    if not bool(torch.isfinite(weight).all()):
        raise ValueError("weight holds NaN or inf")
    blocks = weight.detach().reshape(-1, block_size).to(torch.float32)  # (n_blocks, block)
    absmax = blocks.abs().amax(1)  # (n_blocks,)
    scaled = torch.zeros_like(blocks)
    nonzero = absmax > 0
    scaled[nonzero] = blocks[nonzero] / absmax[nonzero, None]
    code = nf4_codebook().to(weight.device)  # (16,)
    distance = (scaled.reshape(-1, 1) - code).abs()  # (numel, 16)
    idx = distance.argmin(1).to(torch.uint8)  # (numel,): the first of equal distances
    packed = idx[0::2] * 16 + idx[1::2]  # high nibble first
    if not double_quant:
        return NF4Weight(packed, absmax, None, 0.0, weight.shape, block_size, weight.dtype)
    offset = float(absmax.mean())
    codes = torch.empty(absmax.numel(), dtype=torch.int8, device=absmax.device)
    scales = []
    for g, start in enumerate(range(0, absmax.numel(), DOUBLE_QUANT_BLOCK)):
        group = absmax[start : start + DOUBLE_QUANT_BLOCK] - offset
        scales.append(group.abs().max() / DOUBLE_QUANT_QMAX)
        step = scales[g] if scales[g] > 0 else torch.ones(())
        codes[start : start + DOUBLE_QUANT_BLOCK] = torch.round(group / step).to(torch.int8)
    scale = torch.stack(scales).to(torch.float32)
    return NF4Weight(packed, codes, scale, offset, weight.shape, block_size, weight.dtype)


def dequantize_nf4(q: NF4Weight, dtype: torch.dtype | None = None) -> Tensor:
    if not isinstance(q, NF4Weight):
        raise TypeError(f"q must be an NF4Weight, got {type(q).__name__}")
    high = (q.packed >> 4).long()  # (numel / 2,)
    low = (q.packed & 15).long()
    idx = torch.stack([high, low], 1).flatten()  # (numel,) in element order
    values = nf4_codebook().to(q.packed.device)[idx].view(-1, q.block_size)  # (n_blocks, block)
    if q.absmax_scale is None:
        absmax = q.absmax.float()
    else:
        group = torch.arange(q.absmax.numel(), device=q.absmax.device) // DOUBLE_QUANT_BLOCK
        absmax = q.absmax.float() * q.absmax_scale[group] + q.absmax_offset
    out = (values * absmax[:, None]).view(q.shape)
    return out.to(q.dtype if dtype is None else dtype)


class QLoRALinear(solution.QLoRALinear):
    """The solution's layer, dequantising through float32."""

    def forward(self, x: Tensor) -> Tensor:
        weight = dequantize_nf4(self.quantized_weight(), torch.float32).to(x.dtype)  # (out, in)
        bias = None if self.bias is None else self.bias.to(x.dtype)
        y = functional.linear(x, weight, bias)  # (..., out)
        delta = (self.lora_B @ self.lora_A) * self.scaling  # (out, in)
        return y + functional.linear(self.dropout(x), delta.to(x.dtype))
