"""Argument checks shared by every implementation (given): each error names the argument."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def positive_int(name: str, value: object) -> int:
    """``value`` if it is an int >= 1; else ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def float_dtype(dtype: object) -> torch.dtype:
    """``dtype`` if it is a floating torch dtype."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    return dtype


def qkv(q: object, k: object, v: object) -> tuple[Tensor, Tensor, Tensor]:
    """Check q (B, H, T, D), k (B, H, S, D), v (B, H, S, Dv): floating tensors that agree."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {t.dtype}")
        if t.dim() != 4:
            raise ValueError(f"{name} must be 4-d (B, H, T or S, D), got shape {tuple(t.shape)}")
    assert isinstance(q, Tensor)
    assert isinstance(k, Tensor)
    assert isinstance(v, Tensor)
    if k.shape[:2] != q.shape[:2] or v.shape[:2] != q.shape[:2]:
        raise ValueError(
            f"q, k and v must share batch and heads: q {tuple(q.shape)}, k {tuple(k.shape)}, "
            f"v {tuple(v.shape)}"
        )
    if k.shape[3] != q.shape[3]:
        raise ValueError(f"k's head_dim {k.shape[3]} != q's {q.shape[3]}")
    if v.shape[2] != k.shape[2]:
        raise ValueError(f"v holds {v.shape[2]} values, k holds {k.shape[2]} keys")
    return q, k, v


def attn_mask(mask: object, target: tuple[int, int, int, int]) -> Tensor | None:
    """Check a bool or additive float mask broadcastable to ``target`` = (B, H, T, S)."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"mask must be a torch.Tensor or None, got {type(mask).__name__}")
    if mask.dtype != torch.bool and not mask.is_floating_point():
        raise TypeError(f"mask must be bool (True = attend) or float (additive), got {mask.dtype}")
    shape = tuple(mask.shape)
    fits = len(shape) <= 4 and all(
        m in (1, t) for m, t in zip(shape[::-1], target[::-1], strict=False)
    )
    if not fits:
        raise ValueError(f"mask of shape {shape} does not broadcast to (B, H, T, S) = {target}")
    return mask


def scale(value: object, head_dim: int) -> float:
    """The softmax scale: ``value``, or 1 / sqrt(head_dim) when it is None."""
    if value is None:
        return 1.0 / math.sqrt(head_dim)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"scale must be a number or None, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"scale must be finite and > 0, got {value}")
    return float(value)


def token_ids(input_ids: object, vocab_size: int) -> Tensor:
    """Check (B, T) integer token ids in 0 .. vocab_size - 1 (the range only on the CPU)."""
    if not isinstance(input_ids, Tensor):
        raise TypeError(f"input_ids must be a torch.Tensor, got {type(input_ids).__name__}")
    if input_ids.dtype not in (torch.long, torch.int32):
        raise TypeError(f"input_ids must be int64 token ids, got {input_ids.dtype}")
    if input_ids.dim() != 2 or input_ids.shape[1] == 0:
        raise ValueError(f"input_ids must be (B, T) with T >= 1, got {tuple(input_ids.shape)}")
    on_cpu = input_ids.device.type == "cpu"  # checking on a GPU would wait for it
    if on_cpu and (int(input_ids.min()) < 0 or int(input_ids.max()) >= vocab_size):
        raise ValueError(f"input_ids must lie in 0..{vocab_size - 1}")
    return input_ids


def padding_mask(attention_mask: object, batch: int) -> Tensor:
    """Check a (B, S) attention mask of 1 (real token) and 0 (padding)."""
    if not isinstance(attention_mask, Tensor):
        raise TypeError(
            f"attention_mask must be a torch.Tensor, got {type(attention_mask).__name__}"
        )
    if attention_mask.dim() != 2 or attention_mask.shape[0] != batch:
        raise ValueError(
            f"attention_mask must be (B={batch}, S), got {tuple(attention_mask.shape)}"
        )
    return attention_mask


def sampling(
    max_new_tokens: object, temperature: object, top_k: object, top_p: object, seed: object
) -> None:
    """Check ``generate``'s length and sampling arguments."""
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int):
        raise TypeError(f"max_new_tokens must be an int, got {type(max_new_tokens).__name__}")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(f"temperature must be a number, got {type(temperature).__name__}")
    if not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be finite and >= 0 (0 = greedy), got {temperature}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be None or an int >= 1, got {top_k!r}")
    if top_p is not None and (
        isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1
    ):
        raise ValueError(f"top_p must be None or in (0, 1], got {top_p!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be None or an int, got {type(seed).__name__}")
