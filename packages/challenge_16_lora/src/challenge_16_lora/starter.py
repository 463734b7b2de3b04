"""Challenge 16: LoRA and QLoRA. Fill in every TODO; the docstrings are the specification.

Conventions used throughout:

- A LoRA adapter on ``nn.Linear(in, out)`` has ``lora_A`` of shape (r, in) and ``lora_B`` of
  shape (out, r), and adds ``scaling * x A^T B^T`` with ``scaling = alpha / r`` (the paper's,
  and peft's default). ``A`` starts Kaiming-uniform as ``nn.Linear`` initialises its weight
  (``nn.init.kaiming_uniform_(A, a=math.sqrt(5))``), ``B`` at zero: the model is unchanged
  until training moves ``B``.
- NF4 storage is ``nf4_format.NF4Weight`` (read its docstring for the byte layout); the code
  book is bitsandbytes' and QLoRA's.
- Types you use but do not write: ``config.FinetuneMethod``, ``config.TrainConfig``,
  ``intents.Batch``, ``nf4_format.NF4Weight``; models and data come from ``models.py`` and
  ``intents.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from challenge_16_lora.config import FinetuneMethod, TrainConfig
from challenge_16_lora.intents import Batch
from challenge_16_lora.nf4_format import NF4Weight

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


# ----------------------------------------------------------------------------- task 1


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update: ``y = base(x) + s x A^T B^T``.

    Args:
        base: the layer to adapt; kept as ``self.base`` (same object), its parameters frozen
            (``requires_grad = False``).
        r: the rank, an int >= 1.
        alpha: > 0; the update is scaled by ``self.scaling = alpha / r``.
        dropout: probability in [0, 1) of ``nn.Dropout`` applied to the adapter's input only
            (the base path sees ``x`` unchanged); 0 means no dropout module at all.

    Attributes set: ``base``, ``r``, ``alpha`` (float), ``scaling``, ``lora_A``
    (``nn.Parameter`` (r, in), Kaiming-uniform with ``a=sqrt(5)``), ``lora_B``
    (``nn.Parameter`` (out, r), zeros), both of the base weight's dtype and device, ``dropout``,
    and ``merged = False``.

    Raises:
        TypeError: ``base`` is not an ``nn.Linear``, or ``r`` is not an int.
        ValueError: ``r < 1``, ``alpha <= 0``, ``dropout`` outside [0, 1).
    """

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        raise NotImplementedError(
            "TODO(16.1): freeze base, create lora_A (Kaiming) and lora_B (zeros), scaling = alpha / r - see README task 1"
        )

    def delta_weight(self) -> Tensor:
        """``scaling * B @ A``: the (out, in) update that ``merge`` adds to the base weight."""
        raise NotImplementedError("TODO(16.1): return scaling * B @ A - see README task 1")

    def forward(self, x: Tensor) -> Tensor:
        """(..., in) -> (..., out): ``base(x) + scaling * dropout(x) A^T B^T``, or ``base(x)``
        alone while merged. Compute the update through the rank-r intermediate."""
        raise NotImplementedError(
            "TODO(16.1): base(x) plus the scaled low-rank path - see README task 1"
        )

    def merge(self) -> None:
        """Add ``delta_weight()`` into ``base.weight`` in place (no autograd) and set
        ``merged``; the forward then costs what the base layer costs.

        Raises:
            RuntimeError: already merged.
        """
        raise NotImplementedError(
            "TODO(16.1): fold the scaled update into base.weight - see README task 1"
        )

    def unmerge(self) -> None:
        """Subtract ``delta_weight()`` from ``base.weight`` again (exact to float rounding).

        Raises:
            RuntimeError: not merged.
        """
        raise NotImplementedError(
            "TODO(16.1): take the scaled update out of base.weight - see README task 1"
        )


# ----------------------------------------------------------------------------- task 2


def inject_lora(
    model: nn.Module,
    target_modules: str | Sequence[str],
    r: int,
    alpha: float,
    dropout: float = 0.0,
    *,
    modules_to_save: Sequence[str] = (),
) -> nn.Module:
    """Freeze every parameter of ``model`` and replace the matching ``nn.Linear`` modules by
    ``LoRALinear(module, r, alpha, dropout)``, in place; return ``model``.

    Matching follows peft: a single string is a regular expression that must match the whole
    qualified module name (``re.fullmatch``); a sequence of strings matches a name equal to one
    of them or ending in ``"." + it`` (``"query"`` matches ``bert.encoder.layer.0.attention
    .self.query``). Modules that are already ``LoRALinear`` are left alone. Every parameter of a
    module matched (by the same list rule) by ``modules_to_save`` stays trainable: a freshly
    initialised classification head must train alongside the adapters.

    Raises:
        TypeError: ``target_modules`` is neither a string nor a non-empty sequence of strings,
            or it matches a module that is not an ``nn.Linear``.
        ValueError: it matches no module, is an invalid regex, ``modules_to_save`` matches
            nothing, or ``r``/``alpha``/``dropout`` are out of range (as ``LoRALinear``).
    """
    raise NotImplementedError(
        "TODO(16.2): freeze, find modules by name, swap in LoRALinear - see README task 2"
    )


def trainable_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total): element counts of the parameters with ``requires_grad`` and of all
    parameters, as peft's ``PeftModel.get_nb_trainable_parameters`` reports them."""
    raise NotImplementedError("TODO(16.2): count parameter elements - see README task 2")


def merge_and_unload(model: nn.Module) -> nn.Module:
    """Merge every ``LoRALinear`` of ``model`` (if not already merged) and put its base
    ``nn.Linear`` back in its place, in place; return ``model``: a plain model that computes
    what the adapted one did (peft's ``merge_and_unload``)."""
    raise NotImplementedError(
        "TODO(16.2): merge each adapter and restore the plain Linear - see README task 2"
    )


# ----------------------------------------------------------------------------- task 3


def prepare_for_finetuning(
    model: nn.Module, method: FinetuneMethod, config: TrainConfig
) -> nn.Module:
    """Set which parameters of a sequence classifier train, in place; return the model.

    - ``FULL``: every parameter.
    - ``HEAD_ONLY``: only the parameters of the module named ``config.head``.
    - ``LORA``: ``inject_lora`` on ``config.target_modules`` with ``config.r``,
      ``config.alpha``, ``config.dropout``, and the head kept trainable; seed the adapters'
      initialisation with ``torch.manual_seed(config.seed)``.

    Raises:
        TypeError: ``method`` is not a ``FinetuneMethod``.
        ValueError: ``config.head`` is not a module of ``model``.
    """
    raise NotImplementedError(
        "TODO(16.3): full, head-only or LoRA trainable sets - see README task 3"
    )


def train_classifier(
    model: nn.Module, batches: Sequence[Batch], config: TrainConfig
) -> list[float]:
    """Fine-tune ``model`` (a transformers sequence classifier whose output has ``.loss`` when
    the batch holds ``labels``) on ``batches`` and return the loss of every step.

    AdamW (``config.lr``, ``config.weight_decay``) over the trainable parameters only (no
    optimizer state for frozen ones); ``config.epochs`` passes, each over every batch once in
    an order drawn from ``random.Random(config.seed)``; ``torch.manual_seed(config.seed)``
    before the first step (dropout); gradients clipped to ``config.max_grad_norm``; batches
    moved to the model's device. Train mode while training, eval mode on return.

    Raises:
        ValueError: ``batches`` is empty, ``config.epochs < 1``, ``config.lr <= 0``, or the
            model has no trainable parameter.
    """
    raise NotImplementedError(
        "TODO(16.3): the AdamW loop over trainable parameters - see README task 3"
    )


def evaluate_accuracy(model: nn.Module, batches: Sequence[Batch]) -> float:
    """Share of examples whose argmax logit equals the label, in eval mode (no dropout) and
    without autograd; the model's train/eval mode is restored afterwards.

    Raises:
        ValueError: ``batches`` is empty.
    """
    raise NotImplementedError("TODO(16.3): argmax accuracy in eval mode - see README task 3")


# ----------------------------------------------------------------------------- task 4


def nf4_codebook() -> Tensor:
    """The 16 NF4 code values, float32, ascending, in [-1, 1], with an exact 0 (index 7).

    Quantiles of N(0, 1), normalised by the largest: with ``offset = (1 - 1/30 + 1 - 1/32) / 2``,
    8 non-negative values ``ppf(linspace(offset, 0.5, 9)[:-1])``, 7 negative values
    ``-ppf(linspace(offset, 0.5, 8)[:-1])``, and 0 (``torch.special.ndtri`` is the normal ppf;
    compute in float64). bitsandbytes hard-codes the result.
    """
    raise NotImplementedError(
        "TODO(16.4): 8 positive and 7 negative normal quantiles plus an exact zero - see README task 4"
    )


def quantize_nf4(weight: Tensor, block_size: int = 64, *, double_quant: bool = True) -> NF4Weight:
    """Quantise ``weight`` to NF4 with one absmax scale per ``block_size`` consecutive elements.

    Each block is divided by its ``max |w|`` (an all-zero block by 1) and every element takes
    the index of the nearest code value (a tie goes to the lower index); indices pack two per
    byte, element ``2i`` in the high nibble. With ``double_quant`` the float32 block absmaxes
    are quantised too: subtract their mean (``absmax_offset``), split into groups of
    ``nf4_format.DOUBLE_QUANT_BLOCK``, and store ``round((absmax - offset) / s)`` as int8 with
    ``s = max |absmax - offset| / 127`` per group (a zero group uses s = 0 and codes 0).

    Args:
        weight: a floating-point tensor of any shape, ``numel`` divisible by ``block_size``.
        block_size: elements per block, an even int >= 2 (64 in QLoRA).
        double_quant: quantise the block scales as well (QLoRA's second idea).

    Returns:
        An ``NF4Weight`` with ``shape`` and ``dtype`` of ``weight`` (see ``nf4_format``).

    Raises:
        TypeError: ``weight`` is not a floating-point tensor; ``block_size`` is not an int.
        ValueError: ``block_size`` odd or < 2, not dividing ``weight.numel()`` (or an empty
            weight), or ``weight`` holding NaN/inf.
    """
    raise NotImplementedError(
        "TODO(16.4): block absmax, nearest NF4 code, pack nibbles, quantise the scales - see README task 4"
    )


def dequantize_nf4(q: NF4Weight, dtype: torch.dtype | None = None) -> Tensor:
    """The tensor ``q`` stands for: ``code[index] * block absmax``, shaped ``q.shape``, in
    ``dtype`` (default ``q.dtype``), on ``q.packed``'s device. With double quantisation the
    absmax is ``int8 code * group scale + offset``.

    Raises:
        TypeError: ``q`` is not an ``NF4Weight``.
    """
    raise NotImplementedError(
        "TODO(16.4): unpack nibbles, look up codes, scale by block absmax - see README task 4"
    )


class QLoRALinear(nn.Module):
    """A ``LoRALinear`` whose frozen base weight is stored in NF4 with double quantisation.

    Args:
        base: the ``nn.Linear`` to adapt; its weight is quantised with ``quantize_nf4(weight,
            block_size, double_quant=True)`` and not kept; its bias is kept as a frozen
            ``nn.Parameter`` (``self.bias``, or ``None``).
        r, alpha, dropout: as ``LoRALinear`` (same ``lora_A``, ``lora_B``, ``scaling``,
            ``dropout`` attributes and initialisation, same errors).
        block_size: NF4 block size.

    Store the ``NF4Weight``'s tensors as buffers so ``.to(device)`` moves them. ``forward``
    dequantises the weight straight into ``x.dtype`` and adds the LoRA path as ``LoRALinear``.
    """

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
        raise NotImplementedError(
            "TODO(16.4): quantise base.weight to NF4 buffers, add LoRA adapters - see README task 4"
        )

    def quantized_weight(self) -> NF4Weight:
        """The NF4 base weight, as ``quantize_nf4`` returned it (on this module's device)."""
        raise NotImplementedError(
            "TODO(16.4): rebuild the NF4Weight from the buffers - see README task 4"
        )

    def forward(self, x: Tensor) -> Tensor:
        """(..., in) -> (..., out): ``x W_nf4^T + bias + scaling * dropout(x) A^T B^T``."""
        raise NotImplementedError(
            "TODO(16.4): dequantise into x.dtype, linear, plus the LoRA path - see README task 4"
        )

    def base_bytes_per_parameter(self) -> float:
        """Bytes of the stored base weight (codes and scales) per weight element (about
        0.516 at block size 64: 4 bits + 8 bits / 64 + the second level)."""
        raise NotImplementedError("TODO(16.4): NF4Weight.nbytes per element - see README task 4")
