"""Reference solution: LoRA as peft builds it, NF4 as bitsandbytes stores it.

What is special here (the starter's docstrings are the specification):

- ``LoRALinear`` runs the low-rank path ``(x A^T) B^T``: O(tokens * r * (in + out)) extra work
  instead of materialising ``B A`` (O(in * out * r)) on every call; once merged it is a plain
  Linear.
- ``quantize_nf4`` finds each code with one ``bucketize`` against the 15 midpoints between
  neighbouring code values (O(log 16) per element, no (n, 16) distance matrix).
- ``dequantize_nf4`` decodes both nibbles of a byte with one lookup in a 256 x 2 table, and
  produces the compute dtype directly (bf16 on a GPU), so a ``QLoRALinear`` forward never
  holds a float32 copy of its weight.
- ``train_classifier`` hands AdamW the trainable parameters only (no optimizer state for the
  frozen ones) and uses the fused AdamW kernel on CUDA.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional

from challenge_16_lora.config import FinetuneMethod, TrainConfig
from challenge_16_lora.intents import Batch
from challenge_16_lora.nf4_format import DOUBLE_QUANT_BLOCK, DOUBLE_QUANT_QMAX, NF4Weight

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

# QLoRA's offset: the mean of the outermost quantiles used for 15 and 16 levels, so that the
# extreme codes are finite and +-1 after normalisation.
_NF4_OFFSET = 0.5 * ((1 - 1 / (2 * 15)) + (1 - 1 / (2 * 16)))


# ----------------------------------------------------------------------------- task 1


def _check_lora_args(r: int, alpha: float, dropout: float) -> None:
    if isinstance(r, bool) or not isinstance(r, int):
        raise TypeError(f"r must be an int, got {type(r).__name__}")
    if r < 1:
        raise ValueError(f"r must be >= 1, got {r}")
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not alpha > 0:
        raise ValueError(f"alpha must be a positive number, got {alpha!r}")
    if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")


def _new_adapters(
    in_features: int, out_features: int, r: int, like: Tensor
) -> tuple[Tensor, Tensor]:
    """A (r, in) Kaiming-uniform as nn.Linear initialises its weight; B (out, r) zeros."""
    a = torch.empty(r, in_features, dtype=like.dtype, device=like.device)
    nn.init.kaiming_uniform_(a, a=math.sqrt(5))
    b = torch.zeros(out_features, r, dtype=like.dtype, device=like.device)
    return a, b


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update: ``y = base(x) + s x A^T B^T``."""

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"base must be an nn.Linear, got {type(base).__name__}")
        _check_lora_args(r, alpha, dropout)
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.r = r
        self.alpha = float(alpha)
        self.scaling = self.alpha / r
        a, b = _new_adapters(base.in_features, base.out_features, r, base.weight)
        self.lora_A = nn.Parameter(a)  # (r, in)
        self.lora_B = nn.Parameter(b)  # (out, r)
        self.dropout: nn.Module = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.merged = False

    def delta_weight(self) -> Tensor:
        """``scaling * B @ A``: (out, in), what ``merge`` adds to the base weight."""
        return (self.lora_B @ self.lora_A) * self.scaling

    def forward(self, x: Tensor) -> Tensor:
        y: Tensor = self.base(x)  # (..., out)
        if self.merged:
            return y
        h = functional.linear(self.dropout(x), self.lora_A)  # (..., r)
        return y + functional.linear(h, self.lora_B) * self.scaling  # (..., out)

    @torch.no_grad()
    def merge(self) -> None:
        if self.merged:
            raise RuntimeError("merge: the adapter is already merged")
        self.base.weight += self.delta_weight().to(self.base.weight.dtype)
        self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        if not self.merged:
            raise RuntimeError("unmerge: the adapter is not merged")
        self.base.weight -= self.delta_weight().to(self.base.weight.dtype)
        self.merged = False


# ----------------------------------------------------------------------------- task 2


def _matches(name: str, target_modules: str | Sequence[str]) -> bool:
    """peft's rule: a string is a regex matched against the whole name; a list of strings
    matches a name equal to one of them or ending in ``.<it>``."""
    if isinstance(target_modules, str):
        return re.fullmatch(target_modules, name) is not None
    return any(name == t or name.endswith(f".{t}") for t in target_modules)


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def inject_lora(
    model: nn.Module,
    target_modules: str | Sequence[str],
    r: int,
    alpha: float,
    dropout: float = 0.0,
    *,
    modules_to_save: Sequence[str] = (),
) -> nn.Module:
    return _inject(model, target_modules, r, alpha, dropout, modules_to_save, LoRALinear)


def _inject(
    model: nn.Module,
    target_modules: str | Sequence[str],
    r: int,
    alpha: float,
    dropout: float,
    modules_to_save: Sequence[str],
    layer: type[LoRALinear],
) -> nn.Module:
    """``inject_lora`` with the adapter class as an argument (the baseline passes its own)."""
    if isinstance(target_modules, str):
        try:
            re.compile(target_modules)
        except re.error as exc:
            raise ValueError(f"target_modules is not a valid regex: {exc}") from None
    elif not target_modules or not all(isinstance(t, str) for t in target_modules):
        raise TypeError("target_modules must be a regex string or a non-empty sequence of names")
    _check_lora_args(r, alpha, dropout)
    for p in model.parameters():
        p.requires_grad_(False)
    names = [
        n
        for n, m in model.named_modules()
        if n and _matches(n, target_modules) and not isinstance(m, LoRALinear)
    ]
    if not names:
        raise ValueError(f"target_modules {target_modules!r} matches no module of the model")
    for name in names:
        module = model.get_submodule(name)
        if not isinstance(module, nn.Linear):
            raise TypeError(
                f"target_modules matches {name}, a {type(module).__name__}, not an nn.Linear"
            )
        _set_submodule(model, name, layer(module, r, alpha, dropout))
    if modules_to_save:
        saved = [m for n, m in model.named_modules() if n and _matches(n, list(modules_to_save))]
        if not saved:
            raise ValueError(f"modules_to_save {list(modules_to_save)!r} matches no module")
        for module in saved:
            for p in module.parameters():
                p.requires_grad_(True)
    return model


def trainable_parameters(model: nn.Module) -> tuple[int, int]:
    trainable = total = 0
    for p in model.parameters():
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return trainable, total


def merge_and_unload(model: nn.Module) -> nn.Module:
    names = [n for n, m in model.named_modules() if isinstance(m, LoRALinear)]
    for name in names:
        module = model.get_submodule(name)
        assert isinstance(module, LoRALinear)
        if not module.merged:
            module.merge()
        _set_submodule(model, name, module.base)
    return model


# ----------------------------------------------------------------------------- task 3


def prepare_for_finetuning(
    model: nn.Module, method: FinetuneMethod, config: TrainConfig
) -> nn.Module:
    if not isinstance(method, FinetuneMethod):
        raise TypeError(f"method must be a FinetuneMethod, got {method!r}")
    try:
        model.get_submodule(config.head)
    except AttributeError:
        raise ValueError(f"config.head {config.head!r} is not a module of the model") from None
    if method is FinetuneMethod.FULL:
        for p in model.parameters():
            p.requires_grad_(True)
        return model
    if method is FinetuneMethod.HEAD_ONLY:
        for p in model.parameters():
            p.requires_grad_(False)
        for p in model.get_submodule(config.head).parameters():
            p.requires_grad_(True)
        return model
    torch.manual_seed(config.seed)  # the adapters' Kaiming init
    return inject_lora(
        model,
        list(config.target_modules),
        config.r,
        config.alpha,
        config.dropout,
        modules_to_save=[config.head],
    )


def _model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def train_classifier(
    model: nn.Module, batches: Sequence[Batch], config: TrainConfig
) -> list[float]:
    if not batches:
        raise ValueError("batches is empty")
    if config.epochs < 1 or not config.lr > 0:
        raise ValueError(f"config needs epochs >= 1 and lr > 0, got {config.epochs}, {config.lr}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameter: call prepare_for_finetuning first")
    device = _model_device(model)
    fused = device.type == "cuda"
    optimizer = torch.optim.AdamW(
        params, lr=config.lr, weight_decay=config.weight_decay, fused=fused or None
    )
    order = random.Random(config.seed)
    torch.manual_seed(config.seed)  # dropout masks
    losses: list[float] = []
    model.train()
    try:
        for _ in range(config.epochs):
            for k in order.sample(range(len(batches)), len(batches)):
                batch = {n: t.to(device, non_blocking=True) for n, t in batches[k].items()}
                loss = model(**batch).loss
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
                optimizer.step()
                losses.append(loss.item())
    finally:
        model.eval()
    return losses


@torch.no_grad()
def evaluate_accuracy(model: nn.Module, batches: Sequence[Batch]) -> float:
    if not batches:
        raise ValueError("batches is empty")
    was_training = model.training
    model.eval()
    device = _model_device(model)
    correct = seen = 0
    try:
        for batch in batches:
            inputs = {n: t.to(device) for n, t in batch.items() if n != "labels"}
            logits = model(**inputs).logits  # (N, classes)
            correct += int((logits.argmax(-1).cpu() == batch["labels"]).sum())
            seen += batch["labels"].numel()
    finally:
        model.train(was_training)
    return correct / seen


# ----------------------------------------------------------------------------- task 4


def nf4_codebook() -> Tensor:
    # 8 positive quantiles of N(0, 1) (the largest pinned by the offset), 7 negative ones, and
    # an exact zero: asymmetric so that 0 is a code (padding, ReLU-zeroed weights, and the
    # block's own zeros stay exactly 0).
    positive = torch.special.ndtri(torch.linspace(_NF4_OFFSET, 0.5, 9, dtype=torch.float64)[:-1])
    negative = -torch.special.ndtri(torch.linspace(_NF4_OFFSET, 0.5, 8, dtype=torch.float64)[:-1])
    values = torch.cat([positive, torch.zeros(1, dtype=torch.float64), negative]).sort().values
    return (values / values.abs().max()).to(torch.float32)  # (16,) ascending, in [-1, 1]


def _check_block_size(block_size: int, what: str = "block_size") -> None:
    if isinstance(block_size, bool) or not isinstance(block_size, int):
        raise TypeError(f"{what} must be an int, got {type(block_size).__name__}")
    if block_size < 2 or block_size % 2:
        raise ValueError(f"{what} must be a positive even number, got {block_size}")


def _quantize_absmax(absmax: Tensor) -> tuple[Tensor, Tensor, float]:
    """Second level: int8 codes of (absmax - mean) per group of 256, one float32 scale each."""
    offset = float(absmax.mean())
    centred = absmax - offset  # (n_blocks,)
    n = centred.numel()
    groups = -(-n // DOUBLE_QUANT_BLOCK)
    padded = functional.pad(centred, (0, groups * DOUBLE_QUANT_BLOCK - n)).view(groups, -1)
    scale = padded.abs().amax(1) / DOUBLE_QUANT_QMAX  # (groups,)
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    codes = torch.round(padded / safe[:, None]).clamp(-DOUBLE_QUANT_QMAX, DOUBLE_QUANT_QMAX)
    return codes.flatten()[:n].to(torch.int8), scale.to(torch.float32), offset


def quantize_nf4(weight: Tensor, block_size: int = 64, *, double_quant: bool = True) -> NF4Weight:
    if not isinstance(weight, Tensor) or not weight.is_floating_point():
        raise TypeError(
            f"weight must be a floating-point tensor, got {getattr(weight, 'dtype', type(weight))}"
        )
    _check_block_size(block_size)
    if weight.numel() == 0 or weight.numel() % block_size:
        raise ValueError(
            f"weight has {weight.numel()} elements: block_size {block_size} must divide it"
        )
    if not bool(torch.isfinite(weight).all()):
        raise ValueError("weight holds NaN or inf")
    blocks = weight.detach().reshape(-1, block_size).to(torch.float32)  # (n_blocks, block)
    absmax = blocks.abs().amax(1)  # (n_blocks,)
    scaled = blocks / torch.where(absmax > 0, absmax, torch.ones_like(absmax))[:, None]
    code = nf4_codebook().to(weight.device)
    midpoints = (code[1:] + code[:-1]) / 2  # (15,)
    idx = torch.bucketize(scaled, midpoints).to(torch.uint8).flatten()  # (numel,) in 0..15
    packed = (idx[0::2] << 4) | idx[1::2]  # (numel / 2,)
    if not double_quant:
        return NF4Weight(packed, absmax, None, 0.0, weight.shape, block_size, weight.dtype)
    codes, scale, offset = _quantize_absmax(absmax)
    return NF4Weight(packed, codes, scale, offset, weight.shape, block_size, weight.dtype)


def _block_absmax(q: NF4Weight) -> Tensor:
    """The float32 (n_blocks,) absmax, undoing the second level if there is one."""
    if q.absmax_scale is None:
        return q.absmax.to(torch.float32)
    groups = q.absmax_scale.numel()
    codes = functional.pad(
        q.absmax.to(torch.float32), (0, groups * DOUBLE_QUANT_BLOCK - q.absmax.numel())
    )
    absmax = codes.view(groups, -1) * q.absmax_scale[:, None] + q.absmax_offset
    return absmax.flatten()[: q.absmax.numel()]


_PAIR_TABLES: dict[tuple[torch.device, torch.dtype], Tensor] = {}


def _pair_table(device: torch.device, dtype: torch.dtype) -> Tensor:
    """(256, 2): the two code values a packed byte stands for (high nibble first)."""
    key = (device, dtype)
    if key not in _PAIR_TABLES:
        code = nf4_codebook()
        byte = torch.arange(256)
        _PAIR_TABLES[key] = torch.stack([code[byte >> 4], code[byte & 15]], 1).to(device, dtype)
    return _PAIR_TABLES[key]


def dequantize_nf4(q: NF4Weight, dtype: torch.dtype | None = None) -> Tensor:
    if not isinstance(q, NF4Weight):
        raise TypeError(f"q must be an NF4Weight, got {type(q).__name__}")
    out_dtype = q.dtype if dtype is None else dtype
    values = _pair_table(q.packed.device, out_dtype)[q.packed.long()]  # (numel / 2, 2)
    blocks = values.view(-1, q.block_size)  # (n_blocks, block)
    absmax = _block_absmax(q).to(out_dtype)  # (n_blocks,)
    return (blocks * absmax[:, None]).view(q.shape)


class QLoRALinear(nn.Module):
    """A ``LoRALinear`` whose frozen base weight is stored in NF4 (``quantize_nf4``)."""

    weight_packed: Tensor
    weight_absmax: Tensor
    weight_absmax_scale: Tensor | None

    def __init__(
        self,
        base: nn.Linear,
        r: int,
        alpha: float,
        dropout: float = 0.0,
        *,
        block_size: int = 64,
    ) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"base must be an nn.Linear, got {type(base).__name__}")
        _check_lora_args(r, alpha, dropout)
        q = quantize_nf4(base.weight, block_size, double_quant=True)
        self.in_features, self.out_features = base.in_features, base.out_features
        self.block_size = block_size
        self.weight_dtype = base.weight.dtype
        self.absmax_offset = q.absmax_offset
        self.register_buffer("weight_packed", q.packed)
        self.register_buffer("weight_absmax", q.absmax)
        self.register_buffer("weight_absmax_scale", q.absmax_scale)
        bias = None if base.bias is None else base.bias.detach().clone()
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)
        self.r = r
        self.alpha = float(alpha)
        self.scaling = self.alpha / r
        a, b = _new_adapters(self.in_features, self.out_features, r, base.weight)
        self.lora_A = nn.Parameter(a)  # (r, in)
        self.lora_B = nn.Parameter(b)  # (out, r)
        self.dropout: nn.Module = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def quantized_weight(self) -> NF4Weight:
        """The NF4 base weight, as ``quantize_nf4`` returned it (on this module's device)."""
        return NF4Weight(
            self.weight_packed,
            self.weight_absmax,
            self.weight_absmax_scale,
            self.absmax_offset,
            torch.Size((self.out_features, self.in_features)),
            self.block_size,
            self.weight_dtype,
        )

    def forward(self, x: Tensor) -> Tensor:
        weight = dequantize_nf4(self.quantized_weight(), x.dtype)  # (out, in) in x's dtype
        bias = None if self.bias is None else self.bias.to(x.dtype)
        y = functional.linear(x, weight, bias)  # (..., out)
        h = functional.linear(self.dropout(x), self.lora_A.to(x.dtype))  # (..., r)
        return y + functional.linear(h, self.lora_B.to(x.dtype)) * self.scaling

    def base_bytes_per_parameter(self) -> float:
        """Bytes of the stored base weight (codes and scales) per weight element."""
        return self.quantized_weight().nbytes / (self.in_features * self.out_features)
