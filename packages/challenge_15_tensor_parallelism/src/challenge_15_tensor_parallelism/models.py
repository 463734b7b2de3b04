"""GPT-2 configurations and seeded single-device models (random weights, nothing downloaded)."""

from __future__ import annotations

import torch
from torch import nn
from transformers import GPT2Config, GPT2Model

__all__ = ["medium_config", "seeded_gpt2", "tiny_config"]


def tiny_config(n_layer: int = 2, n_head: int = 4) -> GPT2Config:
    """A GPT-2 small enough for CPU ranks: ``n_head`` heads of 8 (width 32 by default), MLP
    4 x width, vocabulary 64, up to 32 positions, no dropout."""
    return GPT2Config(
        n_embd=8 * n_head, n_head=n_head, n_layer=n_layer, vocab_size=64, n_positions=32,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0,
    )  # fmt: skip


def medium_config(n_layer: int = 24) -> GPT2Config:
    """GPT-2 medium's shape (width 1024, 16 heads of 64, MLP 4096, 24 layers), no dropout."""
    return GPT2Config(
        n_embd=1024, n_head=16, n_layer=n_layer, n_positions=1024,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
    )  # fmt: skip


def seeded_gpt2(
    config: GPT2Config,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> GPT2Model:
    """``GPT2Model(config)`` with weights drawn from ``seed`` (the same on every rank), in
    ``dtype`` on ``device`` (default: the CPU), eval mode."""
    torch.manual_seed(seed)
    model = GPT2Model(config)
    as_module: nn.Module = model  # transformers re-types .to; nn.Module's works in place
    as_module.to(device=device, dtype=dtype).eval()
    return model
