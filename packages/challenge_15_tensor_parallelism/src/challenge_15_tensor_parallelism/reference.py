"""Single-device references made of ``nn.Linear`` layers, and their sharding through PyTorch's
own tensor-parallel API (DTensor's ``parallelize_module``), the library oracle.

- ``CausalSelfAttention``: multi-head or grouped-query (GQA) causal self-attention.
- ``Block``: a GPT-2 block (pre-LayerNorm, attention, tanh-GELU MLP) built from a Hugging Face
  ``GPT2Block`` with the same weights; its attention takes separate q, k and v projections so
  that ``ColwiseParallel`` can shard each by heads (HF's fused ``c_attn`` cannot be sharded by a
  plain column split: rank 0 would get all of Q).
- ``parallelize_block``: the DTensor plan for a ``Block``, tensor-parallel with or without
  sequence parallelism.

The attention computes the number of heads from the projection it receives
(``view(B, T, -1, head_dim)``), so the same code runs whole on one device and sharded by DTensor.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional

__all__ = ["Block", "CausalSelfAttention", "parallelize_block"]


class CausalSelfAttention(nn.Module):
    """Causal self-attention with ``n_kv_heads`` key/value heads shared by groups of query heads.

    Args:
        hidden: model width; ``hidden % n_heads == 0``.
        n_heads: query heads.
        n_kv_heads: key/value heads; ``n_heads % n_kv_heads == 0`` (``None``: ``n_heads``).
        bias: whether the four projections have a bias.
    """

    def __init__(
        self, hidden: int, n_heads: int, n_kv_heads: int | None = None, *, bias: bool = True
    ) -> None:
        super().__init__()
        n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
        if hidden % n_heads or n_heads % n_kv_heads:
            raise ValueError(
                f"hidden={hidden}, n_heads={n_heads}, n_kv_heads={n_kv_heads}: need "
                "hidden % n_heads == 0 and n_heads % n_kv_heads == 0"
            )
        self.hidden, self.n_heads, self.n_kv_heads = hidden, n_heads, n_kv_heads
        self.head_dim = hidden // n_heads
        self.q_proj = nn.Linear(hidden, n_heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(hidden, n_kv_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(hidden, n_kv_heads * self.head_dim, bias=bias)
        self.o_proj = nn.Linear(n_heads * self.head_dim, hidden, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        B, T, _ = x.shape
        D = self.head_dim
        q = self.q_proj(x).view(B, T, -1, D).transpose(1, 2)  # (B, Hq, T, D), Hq local under TP
        k = self.k_proj(x).view(B, T, -1, D).transpose(1, 2)  # (B, Hkv, T, D)
        v = self.v_proj(x).view(B, T, -1, D).transpose(1, 2)  # (B, Hkv, T, D)
        group = q.shape[1] // k.shape[1]
        k = k.repeat_interleave(group, dim=1)  # (B, Hq, T, D)
        v = v.repeat_interleave(group, dim=1)  # (B, Hq, T, D)
        o = functional.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, Hq, T, D)
        out: Tensor = self.o_proj(o.transpose(1, 2).reshape(B, T, -1))  # (B, T, hidden)
        return out


class MLP(nn.Module):
    """GPT-2's MLP: ``proj(gelu_tanh(fc(x)))``."""

    def __init__(self, hidden: int, ffn_hidden: int) -> None:
        super().__init__()
        self.fc = nn.Linear(hidden, ffn_hidden)
        self.proj = nn.Linear(ffn_hidden, hidden)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.proj(functional.gelu(self.fc(x), approximate="tanh"))
        return out


class Block(nn.Module):
    """A GPT-2 block of ``nn.Linear`` layers: ``x + attn(ln_1(x))``, then ``h + mlp(ln_2(h))``."""

    def __init__(self, hidden: int, n_heads: int, ffn_hidden: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden, eps=eps)
        self.attn = CausalSelfAttention(hidden, n_heads)
        self.ln_2 = nn.LayerNorm(hidden, eps=eps)
        self.mlp = MLP(hidden, ffn_hidden)

    def forward(self, x: Tensor) -> Tensor:  # (B, T, hidden) -> (B, T, hidden)
        h: Tensor = x + self.attn(self.ln_1(x))
        out: Tensor = h + self.mlp(self.ln_2(h))
        return out

    @classmethod
    def from_hf(cls, block: nn.Module) -> Block:
        """The same block as a Hugging Face ``GPT2Block`` (HF's ``Conv1D`` weight is (in, out):
        an ``nn.Linear`` holds its transpose), on the same device and dtype."""
        attn: Any = block.attn
        mlp: Any = block.mlp
        ln_1: Any = block.ln_1
        ln_2: Any = block.ln_2
        hidden, n_heads = int(attn.embed_dim), int(attn.num_heads)
        weight = next(block.parameters())
        ours = cls(hidden, n_heads, int(mlp.c_fc.nf), eps=float(ln_1.eps))
        ours = ours.to(device=weight.device, dtype=weight.dtype)
        with torch.no_grad():
            ours.ln_1.load_state_dict(ln_1.state_dict())
            ours.ln_2.load_state_dict(ln_2.state_dict())
            w_q, w_k, w_v = attn.c_attn.weight.t().split(hidden, dim=0)  # each (hidden, hidden)
            b_q, b_k, b_v = attn.c_attn.bias.split(hidden)
            for proj, w, b in ((ours.attn.q_proj, w_q, b_q), (ours.attn.k_proj, w_k, b_k),
                               (ours.attn.v_proj, w_v, b_v)):  # fmt: skip
                proj.weight.copy_(w)
                proj.bias.copy_(b)
            ours.attn.o_proj.weight.copy_(attn.c_proj.weight.t())
            ours.attn.o_proj.bias.copy_(attn.c_proj.bias)
            ours.mlp.fc.weight.copy_(mlp.c_fc.weight.t())
            ours.mlp.fc.bias.copy_(mlp.c_fc.bias)
            ours.mlp.proj.weight.copy_(mlp.c_proj.weight.t())
            ours.mlp.proj.bias.copy_(mlp.c_proj.bias)
        return ours


def parallelize_block(block: Block, mesh: Any, *, sequence_parallel: bool = False) -> Block:
    """Shard ``block`` in place over the 1-D ``mesh`` with DTensor's tensor-parallel styles.

    Tensor parallel: q, k, v and fc column-wise, o_proj and proj row-wise; the block's input
    and output are whole (replicated) on every rank. With ``sequence_parallel`` the input and
    output are this rank's sequence shard, ``(B, T / world, hidden)``: the LayerNorms run on the
    shard (``SequenceParallel``) and the row-wise layers end in a reduce-scatter.
    """
    from torch.distributed.tensor import Replicate, Shard
    from torch.distributed.tensor.parallel import (
        ColwiseParallel,
        PrepareModuleInput,
        RowwiseParallel,
        SequenceParallel,
        parallelize_module,
    )

    plan: dict[str, Any] = {
        "attn.q_proj": ColwiseParallel(),
        "attn.k_proj": ColwiseParallel(),
        "attn.v_proj": ColwiseParallel(),
        "mlp.fc": ColwiseParallel(),
    }
    if sequence_parallel:
        gather = PrepareModuleInput(
            input_layouts=(Shard(1),), desired_input_layouts=(Replicate(),), use_local_output=True
        )
        plan |= {
            "ln_1": SequenceParallel(),
            "attn": gather,
            "attn.o_proj": RowwiseParallel(output_layouts=Shard(1)),
            "ln_2": SequenceParallel(),
            "mlp": gather,
            "mlp.proj": RowwiseParallel(output_layouts=Shard(1)),
        }
    else:
        plan |= {"attn.o_proj": RowwiseParallel(), "mlp.proj": RowwiseParallel()}
    parallelize_module(block, mesh, plan)
    return block
