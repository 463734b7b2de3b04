"""Model plumbing the quantizer needs but the candidate is not asked to write (not a TODO):
running a calibration batch whatever its form, flattening a model's outputs, and finding which
LayerNorm feeds which Linear layers so that SmoothQuant's 1/s can be folded into it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

# Normalisation layers whose per-channel affine output (gamma * x_hat + beta) can absorb 1/s.
FOLDABLE_NORMS: tuple[type[nn.Module], ...] = (nn.LayerNorm, nn.RMSNorm)


def norm_affine(norm: nn.Module) -> tuple[Tensor, Tensor | None]:
    """(gamma, beta) of a LayerNorm or RMSNorm: the per-channel scale and shift of its output
    (beta is None for RMSNorm or ``bias=False``). These are what absorb SmoothQuant's 1/s."""
    weight, bias = getattr(norm, "weight", None), getattr(norm, "bias", None)
    if not isinstance(weight, Tensor):
        raise TypeError(f"{type(norm).__name__} has no affine weight to fold into")
    return weight, bias if isinstance(bias, Tensor) else None


def run_model(model: nn.Module, batch: Any) -> Any:
    """Call ``model`` on one calibration batch: a tensor (``model(x)``), a mapping such as a
    tokenizer's output (``model(**batch)``) or a tuple/list of positional inputs."""
    if isinstance(batch, Tensor):
        return model(batch)
    if isinstance(batch, Mapping):
        return model(**batch)
    if isinstance(batch, (tuple, list)):
        return model(*batch)
    raise TypeError(
        f"a calibration batch must be a Tensor, a mapping or a tuple, got {type(batch).__name__}"
    )


def output_tensors(output: Any) -> list[Tensor]:
    """Every floating-point tensor in a model output (tensor, tuple, list, dict, ModelOutput)."""
    if isinstance(output, Tensor):
        return [output] if output.is_floating_point() else []
    if isinstance(output, Mapping):
        return [t for value in output.values() for t in output_tensors(value)]
    if isinstance(output, (tuple, list)):
        return [t for value in output for t in output_tensors(value)]
    return []


def relative_error(actual: Any, expected: Any) -> float:
    """``||a - e|| / ||e||`` over all floating-point output tensors of two model outputs."""
    got, want = output_tensors(actual), output_tensors(expected)
    if len(got) != len(want) or not want:
        raise ValueError("the two outputs hold different tensors (or none)")
    num = sum(float((g.float() - w.float()).pow(2).sum()) for g, w in zip(got, want, strict=True))
    den = sum(float(w.float().pow(2).sum()) for w in want)
    return math.sqrt(num / den) if den > 0 else math.sqrt(num)


def first_rows(batch: Any, n: int) -> Any:
    """The first ``n`` rows (dim 0) of every tensor in a batch: a cheap batch for checks."""
    if isinstance(batch, Tensor):
        return batch[:n]
    if isinstance(batch, Mapping):
        return {key: first_rows(value, n) for key, value in batch.items()}
    if isinstance(batch, list):
        return [first_rows(value, n) for value in batch]
    if isinstance(batch, tuple):
        return tuple(first_rows(value, n) for value in batch)
    return batch


def _direct_consumers(
    model: nn.Module, batch: Any, linears: Mapping[str, nn.Linear]
) -> dict[str, list[str]]:
    """Norm layer name -> the ``linears`` whose input is that norm's output tensor itself."""
    norms = {n: m for n, m in model.named_modules() if isinstance(m, FOLDABLE_NORMS)}
    produced: list[tuple[str, Tensor]] = []  # kept alive for the pass, so identity is meaningful
    feeds: dict[str, list[str]] = {}

    def norm_hook(name: str) -> Any:
        def hook(module: nn.Module, args: tuple[Any, ...], out: Any) -> None:
            if isinstance(out, Tensor):
                produced.append((name, out))

        return hook

    def linear_hook(name: str) -> Any:
        def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
            for norm_name, out in produced:
                if args and args[0] is out:
                    feeds.setdefault(norm_name, [])
                    if name not in feeds[norm_name]:
                        feeds[norm_name].append(name)

        return hook

    handles = [m.register_forward_hook(norm_hook(n)) for n, m in norms.items()]
    handles += [m.register_forward_pre_hook(linear_hook(n)) for n, m in linears.items()]
    try:
        with torch.no_grad():
            run_model(model, batch)
    finally:
        for handle in handles:
            handle.remove()
    return feeds


def _fold_preserves_output(
    model: nn.Module,
    batch: Any,
    groups: Mapping[str, list[str]],
    linears: Mapping[str, nn.Linear],
    reference: list[Tensor],
) -> bool:
    """Scale each norm's output channels by a random r and the consuming weights' input columns
    by 1/r; the model output is unchanged iff nothing else reads the norm's output."""
    generator = torch.Generator().manual_seed(0)
    saved: list[tuple[Tensor, Tensor]] = []
    try:
        with torch.no_grad():
            for norm_name, linear_names in groups.items():
                gamma, beta = norm_affine(model.get_submodule(norm_name))
                r = torch.empty(gamma.shape[-1]).uniform_(0.5, 2.0, generator=generator)
                for param in (gamma, beta):
                    if param is not None:
                        saved.append((param, param.detach().clone()))
                        param.mul_(r.to(param))
                for name in linear_names:
                    weight = linears[name].weight
                    saved.append((weight, weight.detach().clone()))
                    weight.div_(r.to(weight))
            got = output_tensors(run_model(model, batch))
    finally:
        with torch.no_grad():
            for param, original in saved:
                param.copy_(original)
    # Folding is exact in real arithmetic; float32 rounding moves outputs by ~1e-6 relative.
    return all(
        bool((g - w).abs().max() <= 1e-4 * w.abs().max() + 1e-6)
        for g, w in zip(got, reference, strict=True)
    )


def layernorm_feeds(
    model: nn.Module, batch: Any, linears: Mapping[str, nn.Linear]
) -> dict[str, tuple[str, ...]]:
    """Which norm layers (LayerNorm, RMSNorm) can absorb SmoothQuant's 1/s for which Linears.

    A norm qualifies when its output tensor is the input of some of ``linears`` (seen on one
    batch) and of nothing else: checked by folding a random per-channel scale into it and its
    consumers and confirming the model output does not move. In a pre-LN transformer the norm
    feeds only Q/K/V (or the first MLP layer) and qualifies; in a post-LN model such as BERT the
    norm's output is also the residual stream, so folding would change the model and it does not.

    Args:
        model: the float model, in eval mode (it is modified during the check and restored).
        batch: one calibration batch (see `run_model`).
        linears: candidate layers by name (``model.named_modules()`` names).

    Returns:
        norm name -> names of the Linears it feeds, for the norms that can absorb the fold.
    """
    batch = first_rows(batch, 2)  # two samples tell a changed output as well as many do
    candidates = {
        norm: names
        for norm, names in _direct_consumers(model, batch, linears).items()
        if getattr(model.get_submodule(norm), "weight", None) is not None
        and norm_affine(model.get_submodule(norm))[0].dim() == 1
    }
    if not candidates:
        return {}
    with torch.no_grad():
        reference = [t.clone() for t in output_tensors(run_model(model, batch))]
    if _fold_preserves_output(model, batch, candidates, linears, reference):
        return {norm: tuple(names) for norm, names in candidates.items()}
    return {
        norm: tuple(names)
        for norm, names in candidates.items()
        if _fold_preserves_output(model, batch, {norm: names}, linears, reference)
    }
